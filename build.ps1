<#
.SYNOPSIS
    Builds, tests or cleans ConnectionTools.

.DESCRIPTION
    Build   Publishes the module into out/ConnectionTools, then checks the result:
            every expected file is there, the manifest's ModuleVersion equals the
            <Version> in Directory.Build.props, and Test-ModuleManifest accepts it.
    Test    Build, then the xunit suites (dotnet test), then the Pester suite in a
            fresh pwsh process when pwsh and Pester 5 are available.
    Pester  Build, then the Pester suite only (.ci/run has already run dotnet test).
    Clean   Removes out/ and the bin/obj folders of every project under src and tests.

    Any failure ends the script with exit code 1.

.EXAMPLE
    ./build.ps1

.EXAMPLE
    ./build.ps1 -Task Test -Configuration Debug
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Pester', 'Clean')]
    [string]$Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string]$Configuration = 'Release'
)

# No '#Requires -Version 7.0' on purpose: the module supports Windows PowerShell 5.1, so its build
# script must parse and run there too. Keep the syntax 5.1-compatible (no ?:, ??, &&, $IsWindows).
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$RepoRoot = $PSScriptRoot
$ModuleFolder = Join-Path (Join-Path $RepoRoot 'out') 'ConnectionTools'
$TestResultsFolder = Join-Path (Join-Path $RepoRoot 'out') 'TestResults'

# What a working module folder holds. Module.targets lays it out; this list is the independent check,
# so a change there that drops a file fails here, naming the file, instead of on a user's machine.
$ExpectedModuleFiles = @(
    'ConnectionTools.psd1'
    'ConnectionTools.PowerShell.dll'
    'ConnectionTools.Loader.dll'
    'ConnectionTools.format.ps1xml'
    'en-US/about_ConnectionTools.help.txt'
    'examples/connections.yaml'
    # Get-Help's cmdlet help, built from docs/cmdlets by src/ConnectionTools.HelpBuilder.
    'en-US/ConnectionTools.PowerShell.dll-Help.xml'
    'dependencies/ConnectionTools.Core.dll'
    'dependencies/Microsoft.Data.Sqlite.dll'
    'dependencies/SQLitePCLRaw.core.dll'
    'dependencies/SQLitePCLRaw.batteries_v2.dll'
    'dependencies/SQLitePCLRaw.provider.e_sqlite3.dll'
    # Core references it for secrets at rest (DPAPI on Windows).
    'dependencies/System.Security.Cryptography.ProtectedData.dll'
    # Connections as code: the YAML parser.
    'dependencies/YamlDotNet.dll'
    # Entra ID sign-in for Dynamics 365 (MSAL.NET) and what it needs on netstandard2.0.
    'dependencies/Microsoft.Identity.Client.dll'
    'dependencies/Microsoft.IdentityModel.Abstractions.dll'
    'dependencies/System.Diagnostics.DiagnosticSource.dll'
    'dependencies/System.Formats.Asn1.dll'
    'dependencies/System.Security.Cryptography.Cng.dll'
    # System.Text.Json and its closure, for the peer protocol's messages.
    'dependencies/System.Text.Json.dll'
    'dependencies/System.Text.Encodings.Web.dll'
    'dependencies/System.IO.Pipelines.dll'
    'dependencies/Microsoft.Bcl.AsyncInterfaces.dll'
    'dependencies/System.Threading.Tasks.Extensions.dll'
    # Facades Windows PowerShell 5.1 needs; PowerShell 7 takes its own from the runtime.
    'dependencies/System.Memory.dll'
    'dependencies/System.Buffers.dll'
    'dependencies/System.Numerics.Vectors.dll'
    'dependencies/System.Runtime.CompilerServices.Unsafe.dll'
)

# SQLite's native library for every platform the module runs on; our own resolver loads it from here.
$NativeLibraries = [ordered]@{
    'win-x64'          = 'e_sqlite3.dll'
    'win-x86'          = 'e_sqlite3.dll'
    'win-arm64'        = 'e_sqlite3.dll'
    'linux-x64'        = 'libe_sqlite3.so'
    'linux-arm64'      = 'libe_sqlite3.so'
    'linux-arm'        = 'libe_sqlite3.so'
    'linux-musl-x64'   = 'libe_sqlite3.so'
    'linux-musl-arm64' = 'libe_sqlite3.so'
    'osx-x64'          = 'libe_sqlite3.dylib'
    'osx-arm64'        = 'libe_sqlite3.dylib'
}

function Write-Step {
    param([Parameter(Mandatory = $true)][string]$Message)
    Write-Host "==> $Message" -ForegroundColor Cyan
}

function Get-Dotnet {
    $command = Get-Command -Name 'dotnet' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $command) {
        throw 'dotnet is not on PATH. Install the .NET SDK 10 (https://dot.net) and run the build again.'
    }
    return $command.Path
}

function Invoke-Native {
    # Runs an executable, shows its output, and fails on a non-zero exit code.
    param(
        [Parameter(Mandatory = $true)][string]$Description,
        [Parameter(Mandatory = $true)][string]$FilePath,
        [string[]]$ArgumentList = @()
    )

    Write-Step $Description
    # Windows PowerShell 5.1 turns redirected stderr lines into error records, which 'Stop' would make
    # fatal on the first warning a tool prints. The exit code is the verdict, so relax it here only
    # (this assignment is local to the function).
    $ErrorActionPreference = 'Continue'
    & $FilePath @ArgumentList | Out-Host
    $exitCode = $LASTEXITCODE
    if ($exitCode -ne 0) {
        throw "$Description failed with exit code $exitCode."
    }
}

function ConvertTo-SingleQuotedString {
    # For values spliced into a script that a child process runs.
    param([Parameter(Mandatory = $true)][string]$Value)
    return "'" + $Value.Replace("'", "''") + "'"
}

function Get-FreshPowerShellArgument {
    # The arguments that run a script in a new pwsh process, so nothing it loads (the module's DLLs,
    # Pester) ends up in this session, where loaded assemblies would lock out/ on Windows and could hide
    # load-order bugs. -EncodedCommand sidesteps every quoting difference between 5.1 and pwsh.
    param([Parameter(Mandatory = $true)][string]$Script)
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($Script))
    return @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
}

function Test-ModuleLayout {
    Write-Step "Checking the module folder $ModuleFolder"
    $expected = New-Object System.Collections.Generic.List[string]
    foreach ($file in $ExpectedModuleFiles) {
        $expected.Add($file)
    }
    foreach ($rid in $NativeLibraries.Keys) {
        $expected.Add("dependencies/runtimes/$rid/native/$($NativeLibraries[$rid])")
    }

    $missing = @(foreach ($relative in $expected) {
            if (-not (Test-Path -LiteralPath (Join-Path $ModuleFolder $relative) -PathType Leaf)) {
                $relative
            }
        })
    if ($missing.Count -gt 0) {
        $list = ($missing | ForEach-Object { "  - $_" }) -join [Environment]::NewLine
        throw "The module folder '$ModuleFolder' is missing $($missing.Count) expected file(s):$([Environment]::NewLine)$list"
    }
    Write-Host "    all $($expected.Count) expected files are present"
}

function Test-ModuleVersion {
    Write-Step 'Checking the module version and manifest'
    # One version for every assembly and the manifest: Directory.Build.props is the source of truth.
    $propsPath = Join-Path $RepoRoot 'Directory.Build.props'
    [xml]$props = Get-Content -LiteralPath $propsPath -Raw
    $versionNode = $props.SelectSingleNode('/Project/PropertyGroup/Version')
    if ($null -eq $versionNode -or [string]::IsNullOrWhiteSpace($versionNode.InnerText)) {
        throw "No <Version> found in '$propsPath'."
    }
    $propsVersion = $versionNode.InnerText.Trim()

    $manifestPath = Join-Path $ModuleFolder 'ConnectionTools.psd1'
    # Test-ModuleManifest checks the manifest and the files it names, without importing the module.
    $manifest = Test-ModuleManifest -Path $manifestPath
    $manifestVersion = $manifest.Version.ToString()
    if ($manifestVersion -ne $propsVersion) {
        throw "ModuleVersion '$manifestVersion' in ConnectionTools.psd1 differs from <Version> '$propsVersion' in Directory.Build.props. Make them agree."
    }
    Write-Host "    version $propsVersion; manifest is valid"
}

function Invoke-Build {
    $dotnet = Get-Dotnet
    # The trailing separator matters: Module.targets appends sub-folders to ModuleOutputPath. A forward
    # slash also keeps a trailing backslash from escaping the closing quote when the path has spaces.
    Invoke-Native -Description "dotnet publish src/ConnectionTools.PowerShell -c $Configuration" -FilePath $dotnet -ArgumentList @(
        'publish'
        (Join-Path (Join-Path $RepoRoot 'src') 'ConnectionTools.PowerShell')
        '-c', $Configuration
        '-nologo'
        "-p:ModuleOutputPath=$ModuleFolder/"
    )
    Test-ModuleLayout
    Test-ModuleVersion
}

function Invoke-DotnetTest {
    $dotnet = Get-Dotnet
    Invoke-Native -Description "dotnet test -c $Configuration" -FilePath $dotnet -ArgumentList @(
        'test'
        (Join-Path $RepoRoot 'ConnectionTools.sln')
        '-c', $Configuration
    )
}

function Invoke-PesterSuite {
    $pwsh = Get-Command -Name 'pwsh' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $pwsh) {
        Write-Warning 'NOTICE: pwsh (PowerShell 7) is not on PATH, so the Pester suite (tests/Pester) was skipped.'
        return
    }

    # Ask the pwsh that will run the tests, not this session: Windows PowerShell has its own module path.
    $probe = 'Get-Module -ListAvailable -Name Pester | Where-Object { $_.Version.Major -eq 5 } | ' +
        'Sort-Object -Property Version -Descending | Select-Object -First 1 | ForEach-Object { $_.Version.ToString() }'
    $probeOutput = @(& $pwsh.Path (Get-FreshPowerShellArgument -Script $probe))
    $pesterVersion = $probeOutput | Where-Object { "$_" -match '^\d+\.\d+' } | Select-Object -Last 1
    if ($null -eq $pesterVersion) {
        Write-Warning ('NOTICE: Pester 5 is not installed for pwsh, so the Pester suite (tests/Pester) was skipped. ' +
            'Install it with: pwsh -Command "Install-Module Pester -MinimumVersion 5.0 -Scope CurrentUser"')
        return
    }

    if (-not (Test-Path -LiteralPath $TestResultsFolder)) {
        $null = New-Item -ItemType Directory -Path $TestResultsFolder
    }
    $testsPath = Join-Path (Join-Path $RepoRoot 'tests') 'Pester'
    $resultsPath = Join-Path $TestResultsFolder 'pester.xml'

    # Single-quoted here-string: nothing in it is expanded here; the placeholders are replaced below.
    $runner = @'
$ErrorActionPreference = 'Stop'
Import-Module -Name Pester -RequiredVersion __PESTER_VERSION__
$configuration = New-PesterConfiguration
$configuration.Run.Path = __TESTS_PATH__
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'NUnitXml'
$configuration.TestResult.OutputPath = __RESULTS_PATH__
# The tests run in this session state and would inherit 'Stop', which turns every non-terminating error into a
# terminating one. Run them with PowerShell's default, as Invoke-Pester in an ordinary session does, so that a
# suite behaves the same here and when run by hand.
$ErrorActionPreference = 'Continue'
$result = Invoke-Pester -Configuration $configuration
$failures = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
if ($result.Result -ne 'Passed' -or $failures -gt 0) {
    Write-Host "Pester: $($result.FailedCount) failed test(s), $($result.FailedBlocksCount) failed block(s), $($result.FailedContainersCount) failed file(s)."
    # 1, not the count: exit codes wrap at 256 on Linux, and 256 failures must not read as success.
    exit 1
}
exit 0
'@
    $runner = $runner.Replace('__PESTER_VERSION__', (ConvertTo-SingleQuotedString $pesterVersion))
    $runner = $runner.Replace('__TESTS_PATH__', (ConvertTo-SingleQuotedString $testsPath))
    $runner = $runner.Replace('__RESULTS_PATH__', (ConvertTo-SingleQuotedString $resultsPath))

    Invoke-Native -Description "Pester $pesterVersion on tests/Pester (fresh pwsh process; results in out/TestResults/pester.xml)" `
        -FilePath $pwsh.Path -ArgumentList (Get-FreshPowerShellArgument -Script $runner)
}

function Invoke-Clean {
    $targets = New-Object System.Collections.Generic.List[string]
    $out = Join-Path $RepoRoot 'out'
    if (Test-Path -LiteralPath $out) {
        $targets.Add($out)
    }
    # Only bin/obj next to a project file, so a folder that happens to be called bin elsewhere survives.
    foreach ($root in @('src', 'tests')) {
        $folder = Join-Path $RepoRoot $root
        if (-not (Test-Path -LiteralPath $folder)) {
            continue
        }
        foreach ($project in @(Get-ChildItem -LiteralPath $folder -Filter '*.csproj' -Recurse -File)) {
            foreach ($name in @('bin', 'obj')) {
                $path = Join-Path $project.DirectoryName $name
                if (Test-Path -LiteralPath $path) {
                    $targets.Add($path)
                }
            }
        }
    }

    Write-Step 'Cleaning'
    foreach ($path in $targets) {
        Write-Host "    removing $path"
        Remove-Item -LiteralPath $path -Recurse -Force
    }
    if ($targets.Count -eq 0) {
        Write-Host '    nothing to clean'
    }
}

$stopwatch = [Diagnostics.Stopwatch]::StartNew()
Push-Location -LiteralPath $RepoRoot
try {
    switch ($Task) {
        'Build' {
            Invoke-Build
        }
        'Test' {
            Invoke-Build
            Invoke-DotnetTest
            Invoke-PesterSuite
        }
        'Pester' {
            Invoke-Build
            Invoke-PesterSuite
        }
        'Clean' {
            Invoke-Clean
        }
    }
    Write-Host ("build.ps1 -Task {0}: succeeded in {1:0.0} s" -f $Task, $stopwatch.Elapsed.TotalSeconds) -ForegroundColor Green
}
catch {
    $host.UI.WriteErrorLine("build.ps1 -Task $($Task): FAILED: $($_.Exception.Message)")
    exit 1
}
finally {
    Pop-Location
}
exit 0
