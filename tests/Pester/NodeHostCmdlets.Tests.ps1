#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Start-ConnectionNodeHost and Stop-ConnectionNodeHost against the built module: the node host in its node/ folder runs as a
    real process on loopback, in the background and in the foreground, and bad input is refused before the store is touched.
#>

Describe 'Running the node host from PowerShell' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')

        function Test-StoreIntact {
            param([Parameter(Mandatory)] [string] $StorePath)
            $null = Connect-ConnectionNode -StorePath $StorePath
            (Get-ConnectionNode -Check).Integrity
        }

        function Get-StartFailure {
            # Start-ConnectionNodeHost in a runspace of its own that never chose a store, so that it serves CONNECTIONTOOLS_STORE
            # (a path where no file exists) without this session opening it first. Returns the error it stopped with.
            param([Parameter(Mandatory)] [string] $StorePath, [Parameter(Mandatory)] [hashtable] $Arguments)
            $saved = $env:CONNECTIONTOOLS_STORE
            $env:CONNECTIONTOOLS_STORE = $StorePath
            $shell = [powershell]::Create()
            try {
                $null = $shell.AddScript("Import-Module '$($manifestPath.Replace("'", "''"))'").AddStatement()
                $null = $shell.AddScript('param($a) Start-ConnectionNodeHost @a -ErrorAction Stop').AddArgument($Arguments)
                try { $null = $shell.Invoke() } catch { return $_.Exception.InnerException.ErrorRecord }
                if ($shell.Streams.Error.Count -gt 0) { return $shell.Streams.Error[0] }
                throw 'Start-ConnectionNodeHost did not fail.'
            }
            finally {
                $shell.Dispose()
                $env:CONNECTIONTOOLS_STORE = $saved
            }
        }
    }

    AfterAll {
        Close-TestSession
    }

    It 'starts a public host in the background, which is ready on /readyz, and stops it cleanly with the store intact' {
        # A space and a quote in the path: the host's command line must carry it whole.
        $store = Join-Path $TestDrive "back ground's.db"
        $null = Connect-ConnectionNode -StorePath $store -Create
        $port = Get-FreeLoopbackPort
        $nodeHost = Start-ConnectionNodeHost -Port $port -PublicUrl "http://127.0.0.1:$port/" -Background
        try {
            $nodeHost.Mode | Should -Be 'Public'
            $nodeHost.Running | Should -BeTrue
            $nodeHost.StorePath | Should -Be $store
            (Invoke-RestMethod "http://127.0.0.1:$port/healthz").status | Should -Be 'alive'
            (Invoke-RestMethod "http://127.0.0.1:$port/readyz").status | Should -Be 'ready'
            (Get-ConnectionNode).PublicUrl | Should -Be "http://127.0.0.1:$port/"
        }
        finally {
            $stopped = @($nodeHost | Stop-ConnectionNodeHost -PassThru)
        }
        $stopped.Count | Should -Be 1
        $nodeHost.Running | Should -BeFalse
        Get-Content -LiteralPath $nodeHost.LogPath -Raw | Should -Match 'Application is shutting down'
        Test-StoreIntact -StorePath $store | Should -Be 'ok'
    }

    It 'starts a private host in the background, which listens on nothing, and stops it' {
        $store = Join-Path $TestDrive 'private.db'
        $null = Connect-ConnectionNode -StorePath $store -Create
        $nodeHost = Start-ConnectionNodeHost -Private -IntervalSeconds 0.5 -Background -LogPath (Join-Path $TestDrive 'private host.log')
        try {
            $nodeHost.Mode | Should -Be 'Private'
            $nodeHost.Url | Should -BeNullOrEmpty
            $nodeHost.Running | Should -BeTrue
            Get-Content -LiteralPath $nodeHost.LogPath -Raw | Should -Match 'Private node .*: exchanging every 0.5 s; not listening'
        }
        finally {
            $nodeHost | Stop-ConnectionNodeHost
        }
        $nodeHost.Running | Should -BeFalse
        Test-StoreIntact -StorePath $store | Should -Be 'ok'
    }

    It 'runs the host in the foreground with its log lines as output, and a stop (what Ctrl+C does) ends it with the store intact' {
        $store = Join-Path $TestDrive 'foreground.db'
        $null = Connect-ConnectionNode -StorePath $store -Create
        $port = Get-FreeLoopbackPort
        $shell = [powershell]::Create()
        try {
            $null = $shell.AddScript("Import-Module '$($manifestPath.Replace("'", "''"))'; `$null = Connect-ConnectionNode -StorePath '$($store.Replace("'", "''"))'; Start-ConnectionNodeHost -Port $port -PublicUrl 'http://127.0.0.1:$port/'")
            $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $running = $shell.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)
            $waited = [System.Diagnostics.Stopwatch]::StartNew()
            $ready = $false
            while (-not $ready -and -not $running.IsCompleted -and $waited.Elapsed.TotalSeconds -lt 60) {
                try { $ready = (Invoke-RestMethod "http://127.0.0.1:$port/readyz" -TimeoutSec 2).status -eq 'ready' } catch { Start-Sleep -Milliseconds 200 }
            }
            # No enumeration of $output or $shell.Streams before the pipeline ends: a PSDataCollection's enumerator waits for it to.
            $ready | Should -BeTrue -Because 'the foreground host should answer on /readyz'
            $shell.Stop()
            $lines = @($output.ReadAll() | ForEach-Object { "$_" })
        }
        finally {
            $shell.Dispose()
        }
        $lines | Should -Contain '      Application started. Press Ctrl+C to shut down.'
        { Invoke-RestMethod "http://127.0.0.1:$port/healthz" -TimeoutSec 2 } | Should -Throw
        Test-StoreIntact -StorePath $store | Should -Be 'ok'
    }

    It 'refuses a port another program listens on, before the store file is created' {
        $folder = Join-Path $TestDrive 'busy'
        $null = New-Item -ItemType Directory -Path $folder
        $listener = [System.Net.Sockets.TcpListener]::new([ipaddress]::Loopback, 0)
        $listener.Start()
        try {
            $port = ([System.Net.IPEndPoint] $listener.LocalEndpoint).Port
            $failure = Get-StartFailure -StorePath (Join-Path $folder 'store.db') -Arguments @{ Port = $port; Background = $true }
            $failure.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.NodeHost.PortInUse,*'
            "$failure" | Should -BeLike "*another program already listens on port $port*"
            (Get-StartFailure -StorePath (Join-Path $folder 'store.db') -Arguments @{ Port = $port }).FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.NodeHost.PortInUse,*'
        }
        finally {
            $listener.Stop()
        }
        @(Get-ChildItem -LiteralPath $folder -Force).Count | Should -Be 0
    }

    It 'refuses bad options before the store file is created: <Case>' -TestCases @(
        @{ Case = 'a listen address that is not an IP address'; Arguments = @{ ListenAddress = 'not-an-address' }; ErrorId = 'ConnectionTools.NodeHost.InvalidOption' }
        @{ Case = 'a public URL over http that is not loopback'; Arguments = @{ PublicUrl = 'http://node.example.com/' }; ErrorId = 'ConnectionTools.Node.InsecureUrl' }
        @{ Case = '-LogPath without -Background'; Arguments = @{ LogPath = 'host.log' }; ErrorId = 'ConnectionTools.NodeHost.InvalidOption' }
    ) {
        $folder = Join-Path $TestDrive "bad-$([guid]::NewGuid().ToString('n'))"
        $null = New-Item -ItemType Directory -Path $folder
        $failure = Get-StartFailure -StorePath (Join-Path $folder 'store.db') -Arguments ($Arguments + @{ Port = (Get-FreeLoopbackPort) })
        $failure.FullyQualifiedErrorId | Should -BeLike "$ErrorId,*"
        @(Get-ChildItem -LiteralPath $folder -Force).Count | Should -Be 0
    }

    It 'names the .NET 10 download when dotnet has no ASP.NET Core 10 runtime' {
        $null = Connect-ConnectionNode -StorePath (Join-Path $TestDrive 'runtime.db') -Create
        $savedRoot = $env:DOTNET_ROOT
        $env:DOTNET_ROOT = Join-Path $TestDrive 'dotnet-without-aspnetcore'
        $null = New-Item -ItemType Directory -Path (Join-Path $env:DOTNET_ROOT 'shared/Microsoft.NETCore.App/10.0.0') -Force
        try {
            $failure = { Start-ConnectionNodeHost -Port (Get-FreeLoopbackPort) -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.NodeHost.RuntimeMissing,*' -PassThru
            "$failure $($failure.ErrorDetails.RecommendedAction)" | Should -Match ([regex]::Escape('https://dotnet.microsoft.com/download/dotnet/10.0'))
        }
        finally {
            $env:DOTNET_ROOT = $savedRoot
        }
    }

    It 'stops only node hosts: another process id is an error and the process keeps running' {
        $other = Start-Process -FilePath $pwshPath -ArgumentList '-NoProfile', '-Command', 'Start-Sleep -Seconds 60' -PassThru
        try {
            Stop-ConnectionNodeHost -Id $other.Id -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.NodeHost.NotFound,*'
            $other.HasExited | Should -BeFalse
        }
        finally {
            if (-not $other.HasExited) { $other.Kill(); $null = $other.WaitForExit(10000) }
        }
    }
}
