#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    A private connection set up the way two admins set it up, with two stores and one node host on
    loopback: the public admin's store, served by a real node host process (src/ConnectionTools.Node),
    and the private admin's store, which only makes requests. One PowerShell session plays both admins
    and moves between their stores with Connect-ConnectionNode -Create -StorePath.

    THE TESTS BELOW FORM ONE FLOW AND RUN IN THE ORDER WRITTEN: each one starts from where the one before
    it left the connection 'crm-eu' (created, accepted, suspended, resumed, upgraded, removed). A failure
    early in the flow therefore makes later tests fail too; read the first failure first. Values that
    later tests need (the invitation code, the connection id) are kept in the $flow hashtable, because
    a variable set in one It is not visible in the next.

    Run it with ./build.ps1 -Task Test (in a fresh pwsh process), or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester -Output Detailed
#>

Describe 'Private connections' {
    BeforeAll {
        # A safety net first, so that AfterAll can always put it back: nothing in this file may open the
        # user's real store, not even by accident before a test has connected. Restored in AfterAll.
        $savedStoreVariable = $env:CONNECTIONTOOLS_STORE
        $env:CONNECTIONTOOLS_STORE = Join-Path $TestDrive 'environment-store.db'

        $repoRoot = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../..'))
        $moduleFolder = Join-Path (Join-Path $repoRoot 'out') 'ConnectionTools'
        $manifestPath = Join-Path $moduleFolder 'ConnectionTools.psd1'
        if (-not (Test-Path -LiteralPath $manifestPath -PathType Leaf)) {
            throw "The module is not built: '$manifestPath' does not exist. Run ./build.ps1 in the repository root first."
        }

        # The two admins' stores, and two more that only the tests of bad input use.
        $publicFolder = Join-Path $TestDrive 'public'
        $null = New-Item -ItemType Directory -Path $publicFolder -Force
        $publicStore = Join-Path $publicFolder 'store.db'
        $privateStore = Join-Path (Join-Path $TestDrive 'private') 'store.db'
        $noUrlStore = Join-Path (Join-Path $TestDrive 'no-url') 'store.db'
        $thirdStore = Join-Path (Join-Path $TestDrive 'third') 'store.db'

        # What the tests hand on to the tests after them (see the comment at the top).
        $flow = @{ Code = $null; Id = $null; PublicNodeId = $null; PrivateNodeId = $null }

        function Use-PublicAdmin {
            $null = Connect-ConnectionNode -Create -StorePath $publicStore
        }

        function Use-PrivateAdmin {
            $null = Connect-ConnectionNode -Create -StorePath $privateStore
        }

        function ConvertTo-ProcessArgument {
            # Start-Process joins -ArgumentList with spaces and quotes nothing, so a path with a space
            # (a user folder on Windows, say) must carry its own double quotes.
            param([Parameter(Mandatory)] [string] $Value)
            '"' + $Value + '"'
        }

        function Test-LoopbackPort {
            # True when something accepts TCP connections on 127.0.0.1:$Port within a second.
            param([Parameter(Mandatory)] [int] $Port)
            $client = [System.Net.Sockets.TcpClient]::new()
            try {
                $connect = $client.ConnectAsync([ipaddress]::Loopback, $Port)
                return ($connect.Wait(1000) -and $client.Connected)
            }
            catch {
                # Refused: nothing listens there yet.
                return $false
            }
            finally {
                $client.Dispose()
            }
        }

        function Get-NodeHostLog {
            # What the node host wrote, for the message of a failure to start it.
            foreach ($log in @($nodeStandardError, $nodeStandardOutput)) {
                if (Test-Path -LiteralPath $log -PathType Leaf) {
                    $text = Get-Content -LiteralPath $log -Raw -ErrorAction SilentlyContinue
                    "--- $(Split-Path -Leaf $log):$([Environment]::NewLine)$text"
                }
            }
        }

        function Stop-NodeHost {
            if ($null -ne $nodeProcess -and -not $nodeProcess.HasExited) {
                Stop-Process -Id $nodeProcess.Id -Force -ErrorAction SilentlyContinue
                # Windows cannot delete TestDrive while the host still holds the store open.
                $null = $nodeProcess.WaitForExit(10000)
            }
        }

        # A free loopback port: let the system choose one, then give it back for the node host.
        $listener = [System.Net.Sockets.TcpListener]::new([ipaddress]::Loopback, 0)
        $listener.Start()
        $port = ([System.Net.IPEndPoint]$listener.LocalEndpoint).Port
        $listener.Stop()
        $publicUrl = "http://127.0.0.1:$port/"

        # The node host, built once for this file.
        $nodeFolder = Join-Path $TestDrive 'node'
        $nodeProject = Join-Path (Join-Path $repoRoot 'src') 'ConnectionTools.Node'
        $buildLog = & dotnet build $nodeProject -c Release -o $nodeFolder -nologo 2>&1
        if ($LASTEXITCODE -ne 0) {
            throw "Building the node host failed (dotnet build exit code $LASTEXITCODE):$([Environment]::NewLine)$($buildLog -join [Environment]::NewLine)"
        }

        # The public admin's node host: it serves the public store and sets its public URL at startup.
        # Start-Process cannot send both streams to one file, hence two logs.
        $nodeStandardOutput = Join-Path $TestDrive 'node-host.stdout.log'
        $nodeStandardError = Join-Path $TestDrive 'node-host.stderr.log'
        $startNodeHost = @{
            FilePath               = 'dotnet'
            ArgumentList           = @(
                ConvertTo-ProcessArgument (Join-Path $nodeFolder 'ConnectionTools.Node.dll')
                '--store', (ConvertTo-ProcessArgument $publicStore), '--create'
                '--public-url', $publicUrl
                '--urls', "http://127.0.0.1:$port"
            )
            WorkingDirectory       = $nodeFolder
            RedirectStandardOutput = $nodeStandardOutput
            RedirectStandardError  = $nodeStandardError
            NoNewWindow            = $true
            PassThru               = $true
        }
        $nodeProcess = Start-Process @startNodeHost

        # Wait, bounded, until it accepts connections. It sets the public URL before it starts listening.
        try {
            $waited = [System.Diagnostics.Stopwatch]::StartNew()
            while (-not (Test-LoopbackPort -Port $port)) {
                if ($nodeProcess.HasExited) {
                    throw "The node host exited before it listened on 127.0.0.1 port $port.$([Environment]::NewLine)$((Get-NodeHostLog) -join [Environment]::NewLine)"
                }
                if ($waited.Elapsed.TotalSeconds -gt 30) {
                    throw "The node host did not listen on 127.0.0.1 port $port within 30 seconds.$([Environment]::NewLine)$((Get-NodeHostLog) -join [Environment]::NewLine)"
                }
                Start-Sleep -Milliseconds 200
            }
        }
        catch {
            Stop-NodeHost
            throw
        }

        Get-Module -Name ConnectionTools | Remove-Module -Force
        Import-Module -Name $manifestPath -Force -ErrorAction Stop
    }

    AfterAll {
        # Inline rather than Stop-NodeHost: that function does not exist if BeforeAll failed before defining it.
        if ($null -ne $nodeProcess -and -not $nodeProcess.HasExited) {
            Stop-Process -Id $nodeProcess.Id -Force -ErrorAction SilentlyContinue
            $null = $nodeProcess.WaitForExit(10000)
        }
        $env:CONNECTIONTOOLS_STORE = $savedStoreVariable
        # The session keeps its last store open through SQLite's connection pool, and Windows cannot delete
        # an open file: release the pooled handles so Pester can remove TestDrive.
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

    # ---- The public admin: the node host already serves this store, with --public-url. ----

    It 'public admin: Get-ConnectionNode shows the public URL the node host was started with' {
        Use-PublicAdmin
        $node = Get-ConnectionNode
        $node.PublicUrl | Should -Be $publicUrl
        $flow.PublicNodeId = $node.NodeId
    }

    It 'public admin: New-PrivateConnection creates a Pending connection in Basic mode and writes its invitation code' {
        Use-PublicAdmin
        $invitation = @(New-PrivateConnection -Name 'crm-eu' -LocalInstanceName 'contoso-public')
        $invitation.Count | Should -Be 1
        $invitation[0].Name | Should -Be 'crm-eu'
        $invitation[0].Status | Should -Be 'Pending'
        $invitation[0].Mode | Should -Be 'Basic'
        $invitation[0].InvitationCode | Should -MatchExactly '^CT1-'
        $invitation[0].InvitationCode.Length | Should -BeLessThan 600
        $invitation[0].PublicUrl | Should -Be $publicUrl
        (Get-Connection -Name 'crm-eu').Status | Should -Be 'Pending'

        $flow.Code = $invitation[0].InvitationCode
        $flow.Id = $invitation[0].Id
    }

    It 'public admin: Get-InvitationCode shows the same code again' {
        Use-PublicAdmin
        $shown = @(Get-InvitationCode -Name 'crm-eu')
        $shown.Count | Should -Be 1
        $shown[0].InvitationCode | Should -BeExactly $flow.Code
    }

    It 'New-PrivateConnection on a node without a public URL fails with NoPublicUrl and creates nothing' {
        $null = Connect-ConnectionNode -Create -StorePath $noUrlStore
        (Get-ConnectionNode).PublicUrl | Should -BeNullOrEmpty
        # New-PrivateConnection reports a refused row as a non-terminating error (the other rows are still created).
        { New-PrivateConnection -Name 'crm-eu' -LocalInstanceName 'contoso-public' -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConnectionTools.Node.NoPublicUrl,*'
        @(Get-Connection -IncludeRemoved).Count | Should -Be 0
    }

    It 'public admin: a new private connection has two generated sync rules that are not editable' {
        Use-PublicAdmin
        $rules = @(Get-ConnectionSyncRule -Name 'crm-eu')
        $rules.Count | Should -Be 2
        (@($rules | ForEach-Object { $_.Direction.ToString() }) | Sort-Object) -join ',' | Should -Be 'Incoming,Outgoing'
        foreach ($rule in $rules) {
            $rule.Editable | Should -BeFalse
            $rule.Entity | Should -Be 'Case'
            $rule.Script | Should -Not -BeNullOrEmpty
        }
    }

    It 'public admin: Set-ConnectionSyncRule is refused in Basic mode' {
        Use-PublicAdmin
        { Set-ConnectionSyncRule -Name 'crm-eu' -Direction Outgoing -Script 'x' -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConnectionTools.SyncRule.ReadOnlyInBasicMode,*'
        (Get-ConnectionSyncRule -Name 'crm-eu' | Where-Object { $_.Direction -eq 'Outgoing' }).Script | Should -Not -Be 'x'
    }

    # ---- The private admin accepts; both sides become Active. ----

    It 'private admin: Accept-ConnectionInvitation takes the code from the pipeline and makes the connection Active' {
        (Get-Alias -Name 'Accept-ConnectionInvitation').Definition | Should -Be 'Approve-ConnectionInvitation'

        Use-PrivateAdmin
        $flow.PrivateNodeId = (Get-ConnectionNode).NodeId
        $accepted = @($flow.Code | Accept-ConnectionInvitation -LocalInstanceName 'fabrikam-private')
        $accepted.Count | Should -Be 1
        $accepted[0].Name | Should -Be 'crm-eu'
        $accepted[0].Id | Should -Be $flow.Id
        $accepted[0].Type | Should -Be 'Private'
        $accepted[0].Status | Should -Be 'Active'
        $accepted[0].Side | Should -Be 'Private'
        $accepted[0].RemoteInstanceName | Should -Be 'contoso-public'
        $accepted[0].PeerNodeId | Should -Be $flow.PublicNodeId
        (Get-Connection -Name 'crm-eu').Status | Should -Be 'Active'
    }

    It 'public admin: the connection is Active, with the private side''s instance name' {
        Use-PublicAdmin
        $onPublic = Get-Connection -Name 'crm-eu'
        $onPublic.Status | Should -Be 'Active'
        $onPublic.Side | Should -Be 'Public'
        $onPublic.RemoteInstanceName | Should -Be 'fabrikam-private'
        $onPublic.PeerNodeId | Should -Be $flow.PrivateNodeId
        $onPublic.PeerStatus | Should -Be 'Active'
    }

    # ---- Status changes travel with the private side's exchanges. ----

    It 'public admin suspends it; the private side sees PeerStatus Paused after Sync-Connection' {
        Use-PublicAdmin
        Suspend-Connection -Name 'crm-eu' -ErrorAction Stop
        (Get-Connection -Name 'crm-eu').Status | Should -Be 'Paused'

        Use-PrivateAdmin
        Sync-Connection -ErrorAction Stop
        $onPrivate = Get-Connection -Name 'crm-eu'
        $onPrivate.PeerStatus | Should -Be 'Paused'
        $onPrivate.Status | Should -Be 'Active'
    }

    It 'public admin resumes it; the private side sees PeerStatus Active after Sync-Connection' {
        Use-PublicAdmin
        Resume-Connection -Name 'crm-eu' -ErrorAction Stop
        (Get-Connection -Name 'crm-eu').Status | Should -Be 'Active'

        Use-PrivateAdmin
        Sync-Connection -ErrorAction Stop
        (Get-Connection -Name 'crm-eu').PeerStatus | Should -Be 'Active'
    }

    # ---- Codes that must not work. ----

    It 'a truncated code fails with Truncated and creates nothing' {
        Use-PrivateAdmin
        $before = @(Get-Connection -IncludeRemoved).Count
        $truncated = $flow.Code.Substring(0, $flow.Code.Length - 5)
        # A bad code among piped ones is a non-terminating error: -ErrorAction Stop makes it one Should -Throw sees.
        { $truncated | Accept-ConnectionInvitation -LocalInstanceName 'fabrikam-private' -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConnectionTools.Invitation.Truncated,*'
        @(Get-Connection -IncludeRemoved).Count | Should -Be $before
    }

    It 'the accepted code fails with AlreadyUsed on a third node, which gets nothing, and the public side is unchanged' {
        $null = Connect-ConnectionNode -Create -StorePath $thirdStore
        { $flow.Code | Accept-ConnectionInvitation -LocalInstanceName 'intruder' -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConnectionTools.Invitation.AlreadyUsed,*'
        @(Get-Connection -IncludeRemoved).Count | Should -Be 0

        Use-PublicAdmin
        $onPublic = Get-Connection -Name 'crm-eu'
        $onPublic.RemoteInstanceName | Should -Be 'fabrikam-private'
        $onPublic.PeerNodeId | Should -Be $flow.PrivateNodeId
    }

    It 'public admin: Get-InvitationCode fails with NotPending once the invitation is accepted' {
        Use-PublicAdmin
        { Get-InvitationCode -Name 'crm-eu' -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConnectionTools.Invitation.NotPending,*'
    }

    # ---- Modes. ----

    It 'public admin: Set-Connection -Mode Visual is refused for a private connection, which stays Basic' {
        Use-PublicAdmin
        { Set-Connection -Name 'crm-eu' -Mode Visual -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConnectionTools.Connection.ModeNotOffered,*'
        (Get-Connection -Name 'crm-eu').Mode | Should -Be 'Basic'
    }

    It 'public admin: after Set-Connection -Mode Script the sync rules are editable' {
        Use-PublicAdmin
        (Set-Connection -Name 'crm-eu' -Mode Script -Confirm:$false -PassThru -ErrorAction Stop).Mode | Should -Be 'Script'

        $outgoingScript = "replica.summary = entity.summary`n"
        Set-ConnectionSyncRule -Name 'crm-eu' -Direction Outgoing -Script $outgoingScript -ErrorAction Stop

        $rules = @(Get-ConnectionSyncRule -Name 'crm-eu')
        $rules.Count | Should -Be 2
        foreach ($rule in $rules) {
            $rule.Editable | Should -BeTrue
        }
        ($rules | Where-Object { $_.Direction -eq 'Outgoing' }).Script | Should -BeExactly $outgoingScript
    }

    # ---- Removal on the public side. ----

    It 'public admin removes it; the private side sees PeerStatus Removed after Sync-Connection, with a warning naming Remove-Connection' {
        Use-PublicAdmin
        Remove-Connection -Name 'crm-eu' -Confirm:$false -ErrorAction Stop
        (Get-Connection -Name 'crm-eu' -IncludeRemoved).Status | Should -Be 'Removed'

        Use-PrivateAdmin
        Sync-Connection -ErrorAction Stop -WarningVariable syncWarnings
        $onPrivate = Get-Connection -Name 'crm-eu'
        $onPrivate.PeerStatus | Should -Be 'Removed'
        $onPrivate.Status | Should -Be 'Active'
        (@($syncWarnings | ForEach-Object { $_.Message }) -join [Environment]::NewLine) | Should -BeLike '*Remove-Connection*'
    }
}
