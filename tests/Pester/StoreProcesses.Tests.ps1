#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    One store, many processes, the way admins run the product: the node host as its own process, each admin in a pwsh
    process of their own, and files checked from a process that never opened them. These are the failures that
    in-process tests cannot see: on Linux and macOS, a process that opens and closes the database file outside SQLite
    drops SQLite's locks, and another process then deletes the WAL in use.

    Run it with ./build.ps1 -Task Test, or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/StoreProcesses.Tests.ps1 -Output Detailed
#>

Describe 'One store, many processes' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool

        function Invoke-FreshPwsh {
            # Runs a script in a new pwsh process with the built module imported and returns what it wrote to the
            # output stream, deserialized. Errors of the child come back as objects carrying their ids, never thrown here.
            param([Parameter(Mandatory)] [string] $Script, [hashtable] $Environment = @{})
            $prelude = "`$ErrorActionPreference = 'Stop'; Import-Module -Name '$($manifestPath.Replace("'", "''"))'`n"
            $saved = @{}
            foreach ($name in $Environment.Keys) {
                $saved[$name] = [Environment]::GetEnvironmentVariable($name)
                [Environment]::SetEnvironmentVariable($name, $Environment[$name])
            }
            try {
                $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($prelude + $Script))
                $output = & $pwshPath -NoProfile -NonInteractive -OutputFormat Text -EncodedCommand $encoded 2>&1
                [pscustomobject]@{ ExitCode = $LASTEXITCODE; Text = ($output | Out-String).Trim() }
            }
            finally {
                foreach ($name in $saved.Keys) {
                    [Environment]::SetEnvironmentVariable($name, $saved[$name])
                }
            }
        }

        function Get-FileSha256 {
            # This process never opens these stores with the module, so reading them here cannot drop anyone's locks.
            param([Parameter(Mandatory)] [string] $Path)
            (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash
        }

        function Invoke-Sql {
            param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Sql)
            $output = & dotnet $seedToolPath sql $Path $Sql 2>&1
            if ($LASTEXITCODE -ne 0) { throw "sql on '$Path' failed: $($output -join ' ')" }
            ($output -join '').Trim()
        }

        function Get-DeletedStoreFile {
            # Files of the store a process still has open after they were deleted: the sign of a WAL taken away under it.
            param([Parameter(Mandatory)] [int] $ProcessId, [Parameter(Mandatory)] [string] $StorePath)
            if (-not $IsLinux) { return @() }
            @(Get-ChildItem -LiteralPath "/proc/$ProcessId/fd" -ErrorAction SilentlyContinue |
                ForEach-Object { $_.LinkTarget } |
                Where-Object { $_ -like "$StorePath*" -and $_ -like '*(deleted)' })
        }

        # The node host, built once for this file, started on demand on a free loopback port.
        $nodeFolder = Split-Path -Parent (Get-TestTool -Name Node)

        function Start-NodeHost {
            param([Parameter(Mandatory)] [string] $StorePath, [Parameter(Mandatory)] [int] $Port, [Parameter(Mandatory)] [string] $Name)
            $out = Join-Path $TestDrive "$Name.stdout.log"
            $err = Join-Path $TestDrive "$Name.stderr.log"
            $process = Start-Process -FilePath 'dotnet' -PassThru -NoNewWindow -RedirectStandardOutput $out -RedirectStandardError $err -ArgumentList @(
                "`"$(Join-Path $nodeFolder 'ConnectionTools.Node.dll')`"", '--store', "`"$StorePath`"", '--create',
                '--public-url', "http://127.0.0.1:$Port/", '--urls', "http://127.0.0.1:$Port", '--job-poll', '1')
            $waited = [Diagnostics.Stopwatch]::StartNew()
            while ($true) {
                $client = [Net.Sockets.TcpClient]::new()
                try { if ($client.ConnectAsync([ipaddress]::Loopback, $Port).Wait(500) -and $client.Connected) { break } } catch { }
                finally { $client.Dispose() }
                if ($process.HasExited -or $waited.Elapsed.TotalSeconds -gt 30) {
                    throw "The node host did not start: $(Get-Content -Raw -LiteralPath $err -ErrorAction SilentlyContinue) $(Get-Content -Raw -LiteralPath $out -ErrorAction SilentlyContinue)"
                }
                Start-Sleep -Milliseconds 200
            }
            $process
        }

        function Stop-NodeHostGracefully {
            # SIGTERM, as systemd and Ctrl+C stop it: the host closes its store and SQLite checkpoints.
            param([Parameter(Mandatory)] [System.Diagnostics.Process] $Process)
            if ($IsWindows) { Stop-Process -Id $Process.Id -Force } else { & kill -TERM $Process.Id }
            if (-not $Process.WaitForExit(20000)) { Stop-Process -Id $Process.Id -Force; throw 'The node host did not stop on SIGTERM within 20 s.' }
        }

        function Get-FreePort {
            $listener = [Net.Sockets.TcpListener]::new([ipaddress]::Loopback, 0)
            $listener.Start()
            try { ([Net.IPEndPoint]$listener.LocalEndpoint).Port } finally { $listener.Stop() }
        }
    }

    AfterAll {
        foreach ($process in @($script:hostProcess)) {
            if ($null -ne $process -and -not $process.HasExited) { Stop-Process -Id $process.Id -Force -ErrorAction SilentlyContinue }
        }
        Close-TestSession
    }

    Context 'The README''s private connection: a node host and two admins, each a process of their own' {
        BeforeAll {
            $publicStore = Join-Path $TestDrive 'public/store.db'
            $privateStore = Join-Path $TestDrive 'private/store.db'
            $port = Get-FreePort
            $script:hostProcess = Start-NodeHost -StorePath $publicStore -Port $port -Name 'public-host'
            # This session is the public admin: it has the store open, with pooled connections, before and after the accept.
            $null = Connect-ConnectionNode -Create -StorePath $publicStore
            $invitation = New-PrivateConnection -Name 'crm-eu' -LocalInstanceName 'contoso-public'
        }

        It 'the private admin accepts in its own process, and the public admin''s session sees Active' {
            $accept = Invoke-FreshPwsh -Script @"
Connect-ConnectionNode -Create -StorePath '$privateStore' | Out-Null
'$($invitation.InvitationCode)' | Accept-ConnectionInvitation -LocalInstanceName fabrikam-private | ForEach-Object { "accepted `$(`$_.Status)" }
"@
            $accept.Text | Should -Match 'accepted Active'
            $accept.ExitCode | Should -Be 0

            (Get-Connection -Name 'crm-eu').Status | Should -Be 'Active'
            (Get-Connection -Name 'crm-eu').RemoteInstanceName | Should -Be 'fabrikam-private'
        }

        It 'a fresh process on the public store sees it Active too' {
            $fresh = Invoke-FreshPwsh -Script "Connect-ConnectionNode -Create -StorePath '$publicStore' | Out-Null; (Get-Connection -Name crm-eu).Status"
            $fresh.Text | Should -Be 'Active'
        }

        It 'a change the public admin makes reaches the private side on its next exchange' {
            Suspend-Connection -Name 'crm-eu'
            $sync = Invoke-FreshPwsh -Script "Connect-ConnectionNode -Create -StorePath '$privateStore' | Out-Null; (Sync-Connection -Name crm-eu -PassThru).PeerStatus"
            $sync.Text | Should -Be 'Paused'
            Resume-Connection -Name 'crm-eu'
        }

        It 'no process holds a deleted WAL of the public store' -Skip:(-not $IsLinux) {
            Get-DeletedStoreFile -ProcessId $PID -StorePath $publicStore | Should -BeNullOrEmpty
            Get-DeletedStoreFile -ProcessId $script:hostProcess.Id -StorePath $publicStore | Should -BeNullOrEmpty
        }

        It 'the node host stops and starts again on an intact store that still says Active' {
            Stop-NodeHostGracefully -Process $script:hostProcess
            $script:hostProcess = Start-NodeHost -StorePath $publicStore -Port $port -Name 'public-host-again'

            $check = Invoke-FreshPwsh -Script "Connect-ConnectionNode -Create -StorePath '$publicStore' | Out-Null; `$n = Get-ConnectionNode -Check; `"`$(`$n.Integrity) `$((Get-Connection -Name crm-eu).Status)`""
            $check.Text | Should -Be 'ok Active'
            Invoke-Sql -Path $publicStore -Sql 'PRAGMA integrity_check;' | Should -Be 'ok'

            $sync = Invoke-FreshPwsh -Script "Connect-ConnectionNode -Create -StorePath '$privateStore' | Out-Null; (Sync-Connection -Name crm-eu -PassThru).PeerStatus"
            $sync.Text | Should -Be 'Active'
            Stop-NodeHostGracefully -Process $script:hostProcess
        }
    }

    Context 'A file that is not a good store is named for what it is and left byte for byte as it was' {
        BeforeAll {
            $bad = Join-Path $TestDrive 'bad'
            $null = New-Item -ItemType Directory -Path $bad -Force

            function New-FilledStore {
                param([Parameter(Mandatory)] [string] $Name)
                $path = Join-Path $bad $Name
                $output = & dotnet $seedToolPath fill $path 200 2>&1
                if ($LASTEXITCODE -ne 0) { throw "fill failed: $($output -join ' ')" }
                $null = Invoke-Sql -Path $path -Sql 'PRAGMA wal_checkpoint(TRUNCATE);'
                $path
            }

            function Set-DamagedPage {
                # Flips every byte of one 4096-byte page, as a bad sector or a stray write would.
                param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [long] $Offset)
                $bytes = [IO.File]::ReadAllBytes($Path)
                for ($i = $Offset; $i -lt $Offset + 4096; $i++) { $bytes[$i] = $bytes[$i] -bxor 0x5A }
                [IO.File]::WriteAllBytes($Path, $bytes)
            }

            function Get-OpenError {
                # What an admin sees: connect, then list. The error id of the first failure, or 'ok'.
                param([Parameter(Mandatory)] [string] $Path)
                (Invoke-FreshPwsh -Script @"
try { Connect-ConnectionNode -Create -StorePath '$Path' | Out-Null; Get-Connection | Out-Null; 'ok' }
catch { `$_.FullyQualifiedErrorId.Split(',')[0] + ' | ' + `$_.Exception.Message }
"@).Text
            }
        }

        It 'a truncated store is Corrupt' {
            $path = New-FilledStore -Name 'truncated.db'
            $stream = [IO.File]::Open($path, 'Open')
            try { $stream.SetLength([Math]::Floor($stream.Length / 2)) } finally { $stream.Dispose() }
            $hash = Get-FileSha256 -Path $path

            Get-OpenError -Path $path | Should -Match '^ConnectionTools\.Store\.Corrupt \| .*is damaged'
            Get-FileSha256 -Path $path | Should -Be $hash
        }

        It 'a store with a damaged page is Corrupt' {
            $path = New-FilledStore -Name 'flipped.db'
            # Page 2, the root of the first table of the schema.
            Set-DamagedPage -Path $path -Offset 4096
            $hash = Get-FileSha256 -Path $path

            Get-OpenError -Path $path | Should -Match '^ConnectionTools\.Store\.Corrupt \| .*is damaged'
            Get-FileSha256 -Path $path | Should -Be $hash
        }

        It 'the node host refuses to serve a damaged store, and leaves it as it was' {
            $path = New-FilledStore -Name 'host-damaged.db'
            # The last page: nothing reads it on open, so only the host's quick check finds it.
            Set-DamagedPage -Path $path -Offset ((Get-Item -LiteralPath $path).Length - 4096)
            $hash = Get-FileSha256 -Path $path

            $output = & dotnet (Join-Path $nodeFolder 'ConnectionTools.Node.dll') --store $path --urls "http://127.0.0.1:$(Get-FreePort)" 2>&1
            $LASTEXITCODE | Should -Be 1
            ($output -join "`n") | Should -Match 'ConnectionTools\.Store\.Corrupt: The store .* is damaged'
            Get-FileSha256 -Path $path | Should -Be $hash
        }

        It 'a text file is NotAStore' {
            $path = Join-Path $bad 'notes.txt'
            Set-Content -LiteralPath $path -Value ('my notes ' * 50)
            $hash = Get-FileSha256 -Path $path

            Get-OpenError -Path $path | Should -Match '^ConnectionTools\.Store\.NotAStore \| '
            Get-FileSha256 -Path $path | Should -Be $hash
        }

        It 'another application''s SQLite database is ForeignDatabase' {
            $path = Join-Path $bad 'other-app.db'
            $null = Invoke-Sql -Path $path -Sql "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (12.5);"
            $hash = Get-FileSha256 -Path $path

            Get-OpenError -Path $path | Should -Match '^ConnectionTools\.Store\.ForeignDatabase \| .*another application'
            Get-FileSha256 -Path $path | Should -Be $hash
            Test-Path -LiteralPath "$path-wal" | Should -BeFalse
        }

        It 'a store from a newer schema is SchemaTooNew' {
            $path = New-FilledStore -Name 'future.db'
            $null = Invoke-Sql -Path $path -Sql 'PRAGMA user_version = 99;'
            $hash = Get-FileSha256 -Path $path

            Get-OpenError -Path $path | Should -Match '^ConnectionTools\.Store\.SchemaTooNew \| .*schema version 99'
            Get-FileSha256 -Path $path | Should -Be $hash
        }

        It 'a zero-length file becomes a new, empty store' {
            $path = Join-Path $bad 'empty.db'
            $null = New-Item -ItemType File -Path $path
            Get-OpenError -Path $path | Should -Be 'ok'
            (Get-Item -LiteralPath $path).Length | Should -BeGreaterThan 0
        }
    }

    Context 'A failed Connect-ConnectionNode never falls back to another store' {
        It 'later commands name the path that failed, in this session and in a fresh one, until a connect succeeds' {
            $good = New-SeededStore -Name 'connect-good' -Connection @(@{ Name = 'kept'; Type = 'Private'; Status = 'Active' })
            $text = Join-Path $TestDrive 'connect-bad.txt'
            Set-Content -LiteralPath $text -Value ('not a store ' * 20)

            { Connect-ConnectionNode -Create -StorePath $text -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Store.NotAStore,*'
            $err = { Get-Connection -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Store.NotConnected,*' -PassThru
            $err.Exception.Message | Should -BeLike "*$text*"
            $err.TargetObject | Should -Be $text
            { Suspend-Connection -Name 'kept' -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Store.NotConnected,*'

            $null = Connect-ConnectionNode -Create -StorePath $good
            (Get-Connection).Name | Should -Be 'kept'

            # A fresh session whose first connect fails: the default and environment stores are never opened.
            $fallback = Join-Path $TestDrive 'never-created.db'
            $fresh = Invoke-FreshPwsh -Environment @{ CONNECTIONTOOLS_STORE = $fallback } -Script @"
try { Connect-ConnectionNode -Create -StorePath '$text' | Out-Null } catch { }
try { Get-Connection | Out-Null; 'listed' } catch { `$_.FullyQualifiedErrorId.Split(',')[0] }
"@
            $fresh.Text | Should -Be 'ConnectionTools.Store.NotConnected'
            Test-Path -LiteralPath $fallback | Should -BeFalse
        }
    }

    Context 'No command writes over a store' {
        It 'Export-ConnectionConfiguration refuses the store, its companions and any SQLite database, and writes nothing' {
            $store = New-SeededStore -Name 'export-guard' -Connection @(@{ Name = 'a'; Type = 'Private'; Status = 'Active' }, @{ Name = 'b'; Type = 'Private'; Status = 'Paused' })
            foreach ($target in @($store, "$store-wal", "$store-shm", "$store.key")) {
                { Export-ConnectionConfiguration -Path $target -ErrorAction Stop -WarningAction SilentlyContinue } | Should -Throw -ErrorId 'ConnectionTools.Configuration.ProtectedPath,*'
            }
            @(Get-Connection).Count | Should -Be 2
            Invoke-Sql -Path $store -Sql 'PRAGMA integrity_check;' | Should -Be 'ok'
        }
    }

    Context 'Parallel runspaces of one session share its store with other processes' {
        It 'a runspace that ForEach-Object -Parallel reuses starts afresh, not on the store an earlier script block chose' -Skip:($PSVersionTable.PSVersion.Major -lt 7) {
            $null = Connect-ConnectionNode -StorePath $env:CONNECTIONTOOLS_STORE -Create
            $chosen = New-SeededStore -Name 'reused-runspace' -Connection @(@{ Name = 'chosen'; Type = 'Private'; Status = 'Active' })
            $manifest = $manifestPath
            # One runspace at a time: the second script block runs in the runspace the first one used.
            $seen = 1..2 | ForEach-Object -ThrottleLimit 1 -Parallel {
                Import-Module -Name $using:manifest
                if ($_ -eq 1) { $null = Connect-ConnectionNode -StorePath $using:chosen }
                "$_ $((Get-ConnectionNode).StoreSource) $([runspace]::DefaultRunspace.InstanceId)"
            }
            $first, $second = @($seen)
            $first.Split(' ')[2] | Should -Be $second.Split(' ')[2] -Because 'the runspace is reused (what this test is about)'
            $first.Split(' ')[1] | Should -Be 'Session'
            $second.Split(' ')[1] | Should -Be 'Environment' -Because 'a reused runspace starts from CONNECTIONTOOLS_STORE, as a new one does'
        }

        It 'ForEach-Object -Parallel and this session change one store, and a fresh process sees every change' -Skip:($PSVersionTable.PSVersion.Major -lt 7) {
            $store = New-SeededStore -Name 'parallel' -Connection @(1..4 | ForEach-Object { @{ Name = "p$_"; Type = 'Private'; Status = 'Active' } })
            $manifest = $manifestPath
            $results = 1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
                Import-Module -Name $using:manifest
                $null = Connect-ConnectionNode -Create -StorePath $using:store
                foreach ($round in 1..5) {
                    Suspend-Connection -Name "p$_"
                    Resume-Connection -Name "p$_"
                }
                Suspend-Connection -Name "p$_" -PassThru | ForEach-Object { $_.Version }
            }
            @($results).Count | Should -Be 4

            # This session writes after the runspaces are gone; other processes must see it.
            Resume-Connection -Name 'p1'
            $fresh = Invoke-FreshPwsh -Script "Connect-ConnectionNode -Create -StorePath '$store' | Out-Null; (Get-Connection | Sort-Object Name | ForEach-Object { `"`$(`$_.Name)=`$(`$_.Status)`" }) -join ','"
            $fresh.Text | Should -Be 'p1=Active,p2=Paused,p3=Paused,p4=Paused'
            Get-DeletedStoreFile -ProcessId $PID -StorePath $store | Should -BeNullOrEmpty
        }
    }
}
