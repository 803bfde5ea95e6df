<#
    The set-up every Pester suite of the built module shares. Dot-source it in the Describe's BeforeAll:

        BeforeAll { . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool }

    In the caller's scope it defines $repoRoot, $pwshPath (a pwsh to start fresh processes with), $moduleFolder, $manifestPath, $module (the imported module),
    $importWarnings and $savedStoreVariable; with -SeedTool also $seedToolPath and the functions Add-SeededConnection
    and New-SeededStore; and always Close-TestSession, which the AfterAll calls.
#>
param(
    # Builds tests/ConnectionTools.TestProcess once, for suites that seed connections with it.
    [switch] $SeedTool
)

$repoRoot = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../..'))
$moduleFolder = Join-Path (Join-Path $repoRoot 'out') 'ConnectionTools'
$manifestPath = Join-Path $moduleFolder 'ConnectionTools.psd1'
if (-not (Test-Path -LiteralPath $manifestPath -PathType Leaf)) {
    throw "The module is not built: '$manifestPath' does not exist. Run ./build.ps1 in the repository root first."
}

# The pwsh that tests start as a fresh process. build.ps1 passes its path in CONNECTIONTOOLS_TEST_PWSH; run by hand, it is
# this session's own. Not (Get-Process -Id $PID).Path: that is dotnet when pwsh runs as a dotnet tool.
$pwshPath = $env:CONNECTIONTOOLS_TEST_PWSH
if ([string]::IsNullOrEmpty($pwshPath)) {
    $pwshPath = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
}

# A safety net: nothing in a suite may open the user's real store, not even by accident before a Context has
# connected (the file does not exist, so such a command fails with ConnectionTools.Store.NotFound). Suites that test the environment variable use it too. Close-TestSession restores it.
$savedStoreVariable = $env:CONNECTIONTOOLS_STORE
$env:CONNECTIONTOOLS_STORE = Join-Path $TestDrive 'environment-store.db'

function Get-TestTool {
    # Builds a program the suites run (the seeding/test process, the node host) into out/test-tools/<name> and returns the
    # path of its assembly. One folder for every suite: after the first, a build finds everything up to date and only checks.
    param([Parameter(Mandatory)] [ValidateSet('TestProcess', 'Node')] [string] $Name)
    $project = if ($Name -eq 'Node') { Join-Path $repoRoot 'src/ConnectionTools.Node' } else { Join-Path $repoRoot 'tests/ConnectionTools.TestProcess' }
    $folder = Join-Path (Join-Path (Join-Path $repoRoot 'out') 'test-tools') $Name
    $buildLog = & dotnet build $project -c Release -o $folder -nologo 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw "Building $Name failed (dotnet build exit code $LASTEXITCODE):$([Environment]::NewLine)$($buildLog -join [Environment]::NewLine)"
    }
    Join-Path $folder "ConnectionTools.$Name.dll"
}

if ($SeedTool) {
    # Not $seedTool: PowerShell variable names ignore case, and that one is the [switch] parameter.
    $seedToolPath = Get-TestTool -Name TestProcess

    function Add-SeededConnection {
        # Walks the real lifecycle to the status asked for ("seed <store> <name> <type> <status>").
        param(
            [Parameter(Mandatory)] [string] $StorePath,
            [Parameter(Mandatory)] [string] $Name,
            [string] $Type = 'Private',
            [string] $Status = 'Active'
        )
        $output = & dotnet $seedToolPath seed $StorePath $Name $Type $Status 2>&1
        if ($LASTEXITCODE -ne 0) {
            throw "Seeding '$Name' ($Type, $Status) into '$StorePath' failed: $($output -join ' ')"
        }
    }

    function New-SeededStore {
        # Seeds a new store under TestDrive, makes it this session's store, and returns its path.
        param(
            [Parameter(Mandatory)] [string] $Name,
            [hashtable[]] $Connection = @()
        )
        $path = Join-Path $TestDrive "$Name.db"
        foreach ($spec in $Connection) {
            Add-SeededConnection -StorePath $path -Name $spec.Name -Type $spec.Type -Status $spec.Status
        }
        $null = Connect-ConnectionNode -Create -StorePath $path
        $path
    }
}

Get-Module -Name ConnectionTools | Remove-Module -Force
$importWarnings = $null
$module = Import-Module -Name $manifestPath -PassThru -Force -WarningVariable importWarnings -ErrorAction Stop

function Close-TestSession {
    $env:CONNECTIONTOOLS_STORE = $savedStoreVariable
    # The session keeps its last store open through SQLite's connection pool, and Windows cannot delete an open
    # file: release the pooled handles so Pester can remove TestDrive.
    foreach ($assembly in [AppDomain]::CurrentDomain.GetAssemblies()) {
        if ($assembly.GetName().Name -eq 'Microsoft.Data.Sqlite') {
            $connectionType = $assembly.GetType('Microsoft.Data.Sqlite.SqliteConnection')
            if ($null -ne $connectionType) {
                $null = $connectionType.GetMethod('ClearAllPools').Invoke($null, $null)
            }
        }
    }
    Remove-Module -Name ConnectionTools -Force -ErrorAction SilentlyContinue
}
