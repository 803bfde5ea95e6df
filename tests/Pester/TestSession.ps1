<#
    The set-up every Pester suite of the built module shares. Dot-source it in the Describe's BeforeAll:

        BeforeAll { . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool }

    In the caller's scope it defines $repoRoot, $pwshPath (a pwsh to start fresh processes with), $moduleFolder, $manifestPath, $module (the imported module),
    $importWarnings and $savedStoreVariable; with -SeedTool also $seedToolPath and the functions Add-SeededConnection
    and New-SeededStore (and Add-SeededSyncEvent); and always Close-TestSession, which the AfterAll calls, and the helpers that
    start processes on loopback: Get-FreeLoopbackPort, Start-TestNodeHost/Stop-TestNodeHost (a public node host serving a
    store), Start-TestProviderEmulators/Stop-TestProviderEmulators (the emulated Salesforce org and the other providers) and
    Invoke-ProviderPwsh (a child pwsh that reaches them).
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
    param([Parameter(Mandatory)] [ValidateSet('TestProcess', 'Node', 'EmulatorHost')] [string] $Name)
    $project = switch ($Name) {
        'Node' { Join-Path $repoRoot 'src/ConnectionTools.Node' }
        'EmulatorHost' { Join-Path $repoRoot 'tests/ConnectionTools.EmulatorHost' }
        default { Join-Path $repoRoot 'tests/ConnectionTools.TestProcess' }
    }
    $folder = Join-Path (Join-Path (Join-Path $repoRoot 'out') 'test-tools') $Name
    $buildLog = & dotnet build $project -c Release -o $folder -nologo 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw "Building $Name failed (dotnet build exit code $LASTEXITCODE):$([Environment]::NewLine)$($buildLog -join [Environment]::NewLine)"
    }
    Join-Path $folder "ConnectionTools.$Name.dll"
}

function Get-FreeLoopbackPort {
    # A free port on 127.0.0.1: the system chooses one, which is given back at once for the process the test starts.
    $listener = [System.Net.Sockets.TcpListener]::new([ipaddress]::Loopback, 0)
    $listener.Start()
    try { ([System.Net.IPEndPoint] $listener.LocalEndpoint).Port } finally { $listener.Stop() }
}

function Start-TestNodeHost {
    # Starts the node host (src/ConnectionTools.Node) as a process of its own, serving the store at $StorePath on
    # http://127.0.0.1:<port>/ with that as its public URL, and waits (30 s at most) until it accepts connections.
    # Returns Process, Port, Url and Log; Stop-TestNodeHost ends it.
    param([Parameter(Mandatory)] [string] $StorePath, [switch] $Create)
    $nodeDll = Get-TestTool -Name Node
    $port = Get-FreeLoopbackPort
    $log = Join-Path $TestDrive "node-host-$port.log"
    $arguments = @(('"' + $nodeDll + '"'), '--store', ('"' + $StorePath + '"'))
    if ($Create) { $arguments += '--create' }
    $arguments += @('--public-url', "http://127.0.0.1:$port/", '--urls', "http://127.0.0.1:$port")
    $process = Start-Process -FilePath 'dotnet' -ArgumentList $arguments -PassThru -NoNewWindow -RedirectStandardOutput $log -RedirectStandardError "$log.err"
    $nodeHost = [pscustomobject]@{ Process = $process; Port = $port; Url = "http://127.0.0.1:$port/"; Log = $log }
    $waited = [System.Diagnostics.Stopwatch]::StartNew()
    while ($true) {
        $client = [System.Net.Sockets.TcpClient]::new()
        try { if ($client.ConnectAsync([ipaddress]::Loopback, $port).Wait(1000) -and $client.Connected) { break } } catch { $null = $_ } finally { $client.Dispose() }
        if ($process.HasExited -or $waited.Elapsed.TotalSeconds -gt 30) {
            Stop-TestNodeHost $nodeHost
            throw "The node host did not listen on 127.0.0.1 port ${port}: $(Get-Content -Raw -LiteralPath "$log.err" -ErrorAction SilentlyContinue) $(Get-Content -Raw -LiteralPath $log -ErrorAction SilentlyContinue)"
        }
        Start-Sleep -Milliseconds 200
    }
    $nodeHost
}

function Stop-TestNodeHost {
    # Ends a node host that Start-TestNodeHost started (that one process only), and waits for it: Windows cannot delete
    # TestDrive while it holds the store open.
    param($NodeHost)
    if ($null -ne $NodeHost -and $null -ne $NodeHost.Process -and -not $NodeHost.Process.HasExited) {
        Stop-Process -Id $NodeHost.Process.Id -Force -ErrorAction SilentlyContinue
        $null = $NodeHost.Process.WaitForExit(10000)
    }
}

function Start-TestProviderEmulators {
    # tests/ConnectionTools.EmulatorHost in a process of its own ("serve"): the emulated Salesforce org contoso.my.salesforce.com
    # (with $Ready.SalesforceCases cases) and the other providers of the README, behind a CONNECT proxy on loopback that serves
    # the real host names with a certificate from a test CA. Returns Process, Ready (its ready.json) and Environment: the
    # variables a child pwsh needs to reach the providers through the proxy (Invoke-ProviderPwsh). Stop-TestProviderEmulators ends it.
    $folder = Join-Path $TestDrive "emulators-$([guid]::NewGuid().ToString('n'))"
    $hostDll = Get-TestTool -Name EmulatorHost
    $start = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($argument in $hostDll, 'serve', $folder) { $start.ArgumentList.Add($argument) }
    $start.UseShellExecute = $false
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $process = [System.Diagnostics.Process]::Start($start)
    $standardError = $process.StandardError.ReadToEndAsync()
    $line = $process.StandardOutput.ReadLineAsync()
    if (-not $line.Wait(120000) -or $null -eq $line.Result -or -not $line.Result.StartsWith('ready ')) {
        if (-not $process.HasExited) { $process.Kill($true) }
        throw "The emulator host did not start: $($line.Result) $(if ($standardError.Wait(5000)) { $standardError.Result })"
    }
    $ready = Get-Content -LiteralPath $line.Result.Substring(6) -Raw | ConvertFrom-Json
    # Both spellings: .NET reads the lower-case ones first. Loopback (a node host) never goes through the proxy.
    $environment = [hashtable]::new([StringComparer]::Ordinal)
    foreach ($name in 'https_proxy', 'http_proxy') { $environment[$name] = $ready.Proxy; $environment[$name.ToUpperInvariant()] = $ready.Proxy }
    $environment['no_proxy'] = 'localhost,127.0.0.1'
    $environment['NO_PROXY'] = 'localhost,127.0.0.1'
    foreach ($name in 'all_proxy', 'ALL_PROXY', 'SSL_CERT_DIR') { $environment[$name] = $null }
    $environment['SSL_CERT_FILE'] = $ready.CaFile
    [pscustomobject]@{ Process = $process; Ready = $ready; Environment = $environment; ProxyLog = Join-Path $folder 'proxy.log' }
}

function Stop-TestProviderEmulators {
    # Closes the emulator host's standard input (it then stops), or ends that one process after 15 s.
    param($Providers)
    if ($null -eq $Providers -or $null -eq $Providers.Process) { return }
    try { $Providers.Process.StandardInput.Close(); $null = $Providers.Process.WaitForExit(15000) } catch { $null = $_ }
    if (-not $Providers.Process.HasExited) {
        $Providers.Process.Kill($true)
        $null = $Providers.Process.WaitForExit(10000)
    }
}

function Invoke-ProviderPwsh {
    # Runs $Command in a fresh pwsh with the module imported, the store at $StorePath and the providers' environment
    # (Start-TestProviderEmulators), and returns Output (what it printed, as text), Result (the last line that starts with
    # RESULT:, as JSON, parsed) and ExitCode. The process can reach the emulated providers; this session never does (.NET
    # reads the proxy variables once per process). Without -NonInteractive unless asked, so that a device-code sign-in may
    # prompt: the emulator host approves every code shown.
    param(
        [Parameter(Mandatory)] $Providers,
        [Parameter(Mandatory)] [string] $StorePath,
        [Parameter(Mandatory)] [string] $Command,
        [switch] $NonInteractive,
        [int] $TimeoutSeconds = 120
    )
    $script = "`$ErrorActionPreference = 'Continue'; `$ProgressPreference = 'SilentlyContinue'; `$PSStyle.OutputRendering = 'PlainText'; Import-Module '$($manifestPath.Replace("'", "''"))' -ErrorAction Stop; " +
        "`$null = Connect-ConnectionNode -StorePath '$($StorePath.Replace("'", "''"))' -ErrorAction Stop`n$Command"
    $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($script))
    $start = [System.Diagnostics.ProcessStartInfo]::new($pwshPath)
    $arguments = @('-NoProfile') + $(if ($NonInteractive) { @('-NonInteractive') } else { @() }) + @('-OutputFormat', 'Text', '-EncodedCommand', $encoded)
    foreach ($argument in $arguments) { $start.ArgumentList.Add($argument) }
    $start.UseShellExecute = $false
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $start.RedirectStandardInput = $true
    Set-StartEnvironment -Start $start -Environment $Providers.Environment
    Invoke-ChildProcess -Start $start -TimeoutSeconds $TimeoutSeconds
}

function Set-StartEnvironment {
    # Sets each variable of $Environment on a process about to start; a $null value removes that variable.
    param([Parameter(Mandatory)] [System.Diagnostics.ProcessStartInfo] $Start, [Parameter(Mandatory)] [System.Collections.IDictionary] $Environment)
    foreach ($key in $Environment.Keys) {
        if ($null -eq $Environment[$key]) { $null = $Start.Environment.Remove($key) } else { $Start.Environment[$key] = $Environment[$key] }
    }
}

function Invoke-ChildProcess {
    # Starts a child pwsh ($Start redirects all three streams), closes its input and waits for it, ending it after
    # $TimeoutSeconds. Returns Output (both streams, as text), Result (the last line that starts with RESULT:, as JSON,
    # parsed) and ExitCode.
    param([Parameter(Mandatory)] [System.Diagnostics.ProcessStartInfo] $Start, [int] $TimeoutSeconds = 120)
    $process = [System.Diagnostics.Process]::Start($Start)
    $process.StandardInput.Close()
    $standardOutput = $process.StandardOutput.ReadToEndAsync()
    $standardError = $process.StandardError.ReadToEndAsync()
    if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
        $process.Kill($true)
        throw "The child pwsh did not finish within $TimeoutSeconds s: $($standardOutput.Result) $($standardError.Result)"
    }
    $process.WaitForExit()
    $output = $standardOutput.Result + $standardError.Result
    $resultLine = @($output -split '\r?\n' | Where-Object { $_.StartsWith('RESULT:') }) | Select-Object -Last 1
    [pscustomobject]@{
        Output   = $output
        Result   = if ($resultLine) { $resultLine.Substring(7) | ConvertFrom-Json } else { $null }
        ExitCode = $process.ExitCode
    }
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

    function Add-SeededSyncEvent {
        # Outgoing sync events, made as the product makes them ("seed-sync"): binds the private connection to the system
        # connection (if it is not already), queues the cases ("id:subject,...") as the system's retrieval job would, and runs
        # the outgoing rules. Another process may hold the store open (a node host serving it). Returns how many events it made.
        param(
            [Parameter(Mandatory)] [string] $StorePath,
            [Parameter(Mandatory)] [string] $Connection,
            [Parameter(Mandatory)] [string] $System,
            [Parameter(Mandatory)] [string] $Cases
        )
        $output = & dotnet $seedToolPath seed-sync $StorePath $Connection $System $Cases 2>&1
        if ($LASTEXITCODE -ne 0) {
            throw "seed-sync of '$Cases' for '$Connection' into '$StorePath' failed: $($output -join ' ')"
        }
        [int]"$output".Trim()
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
