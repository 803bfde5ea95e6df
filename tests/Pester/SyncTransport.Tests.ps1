#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Case sync between two nodes, from the built module in a real pwsh: the public admin's store is served by a node host
    running as its own process (src/ConnectionTools.Node) on 127.0.0.1, the private admin's store only makes requests, and
    Sync-Connection, run on the private side, moves sync events both ways. One PowerShell session plays both admins and
    moves between their stores with Connect-ConnectionNode -StorePath.

    Each side's connection 'crm-eu' is bound to a system connection of its own (seeded), and its outgoing events are made the
    way the product makes them, by the TestProcess tool (seed-sync: queued cases run through the outgoing rule). Event A->B
    is private -> public; B->A public -> private.

    THE TESTS BELOW FORM ONE FLOW AND RUN IN THE ORDER WRITTEN: each starts from where the one before left the queues. Read
    the first failure first. Values that later tests need are kept in $flow.

    Run it with ./build.ps1 -Task Test (in a fresh pwsh process), or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/SyncTransport.Tests.ps1 -Output Detailed
#>

Describe 'Sync transport' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool

        $publicStore = Join-Path $TestDrive 'public.db'
        $privateStore = Join-Path $TestDrive 'private.db'
        Add-SeededConnection -StorePath $publicStore -Name sf-public -Type SalesforceProduction -Status Active
        Add-SeededConnection -StorePath $privateStore -Name sf-private -Type SalesforceProduction -Status Active
        $nodeHost = Start-TestNodeHost -StorePath $publicStore

        function Use-PublicAdmin { $null = Connect-ConnectionNode -StorePath $publicStore }
        function Use-PrivateAdmin { $null = Connect-ConnectionNode -StorePath $privateStore }

        function Get-Event {
            # The sync events of crm-eu in one direction on one side, as the admin there lists them.
            param([Parameter(Mandatory)] [ValidateSet('Public', 'Private')] [string] $Side, [Parameter(Mandatory)] [string] $Direction)
            if ($Side -eq 'Public') { Use-PublicAdmin } else { Use-PrivateAdmin }
            @(Get-ConnectionSyncEvent -Name crm-eu -Direction $Direction)
        }

        function Invoke-Round {
            # Sync-Connection on the private side; returns its verbose line about what moved.
            Use-PrivateAdmin
            $verbose = @(Sync-Connection -Name crm-eu -Verbose -ErrorAction Stop 4>&1 | ForEach-Object { "$_" })
            @($verbose | Where-Object { $_ -match "'crm-eu': sent \d+ and received \d+" }) -join "`n"
        }

        # The public admin invites and binds; the private admin accepts and binds.
        Use-PublicAdmin
        $code = (New-PrivateConnection -Name crm-eu -LocalInstanceName contoso -System sf-public -ErrorAction Stop).InvitationCode
        Use-PrivateAdmin
        $accepted = Approve-ConnectionInvitation -InvitationCode $code -LocalInstanceName fabrikam -System sf-private -Confirm:$false -ErrorAction Stop
        if ($accepted.Status -ne 'Active') { throw "The accepted connection is $($accepted.Status), not Active." }

        $flow = @{ PrivateOut = $null; PublicOut = $null; FirstRoundAt = $null }
    }

    AfterAll {
        Stop-TestNodeHost $nodeHost
        Close-TestSession
    }

    It 'events queue on each side, and Get-Connection counts them before any round' {
        (Add-SeededSyncEvent -StorePath $privateStore -Connection crm-eu -System sf-private -Cases '5001:priv-one,5002:priv-two,5003:priv-three') | Should -Be 3
        # The public store is held open by the running node host meanwhile.
        (Add-SeededSyncEvent -StorePath $publicStore -Connection crm-eu -System sf-public -Cases '7001:pub-one,7002:pub-two') | Should -Be 2

        $flow.PrivateOut = Get-Event -Side Private -Direction Outgoing
        @($flow.PrivateOut.CaseId) | Should -Be @('5001', '5002', '5003')
        $flow.PublicOut = Get-Event -Side Public -Direction Outgoing
        @($flow.PublicOut.CaseId) | Should -Be @('7001', '7002')

        Use-PrivateAdmin
        $private = Get-Connection -Name crm-eu
        $private.SyncEventsOut | Should -Be 3
        $private.SyncEventsIn | Should -Be 0
        $private.LastSyncRoundAt | Should -BeNullOrEmpty
        Use-PublicAdmin
        (Get-Connection -Name crm-eu).SyncEventsOut | Should -Be 2
    }

    It 'Sync-Connection -WhatIf moves nothing' {
        Use-PrivateAdmin
        Sync-Connection -Name crm-eu -WhatIf
        (Get-Event -Side Public -Direction Incoming).Count | Should -Be 0
        (Get-Event -Side Private -Direction Incoming).Count | Should -Be 0
        Use-PrivateAdmin
        (Get-Connection -Name crm-eu).LastSyncRoundAt | Should -BeNullOrEmpty
    }

    It 'one Sync-Connection moves A->B and B->A, and both sides show the same trace id for the same event' {
        $before = [DateTimeOffset]::UtcNow.AddSeconds(-1)
        Invoke-Round | Should -Match "'crm-eu': sent 3 and received 2 sync event\(s\)"

        # A->B: the public side holds the private side's events, with their event ids, trace ids and sequence numbers.
        $atPublic = Get-Event -Side Public -Direction Incoming
        @($atPublic.CaseId) | Should -Be @('5001', '5002', '5003')
        @($atPublic.TraceId) | Should -Be @($flow.PrivateOut.TraceId)
        @($atPublic.EventId) | Should -Be @($flow.PrivateOut.EventId)
        @($atPublic.Sequence) | Should -Be @(1, 1, 1)
        # B->A, the same.
        $atPrivate = Get-Event -Side Private -Direction Incoming
        @($atPrivate.CaseId) | Should -Be @('7001', '7002')
        @($atPrivate.TraceId) | Should -Be @($flow.PublicOut.TraceId)
        # The replica the sender's outgoing rule made crossed unchanged.
        $atPrivate[0].Replica | Should -Be $flow.PublicOut[0].Replica
        $atPrivate[0].Replica | Should -Match 'pub-one'
        # -TraceId finds the same event on both sides.
        Use-PublicAdmin
        (Get-ConnectionSyncEvent -TraceId $flow.PrivateOut[1].TraceId).CaseId | Should -Be '5002'
        Use-PrivateAdmin
        $found = Get-ConnectionSyncEvent -TraceId $flow.PublicOut[0].TraceId
        $found.CaseId | Should -Be '7001'
        $found.Direction | Should -Be 'Incoming'
    }

    It 'Get-Connection shows the counts and the last round on both sides' {
        Use-PrivateAdmin
        $private = Get-Connection -Name crm-eu
        # Sent and stored by the public side: forgotten here.
        $private.SyncEventsOut | Should -Be 0
        $private.SyncEventsIn | Should -Be 2
        $private.SyncErrors | Should -Be 0
        $private.LastSyncRoundAt | Should -Not -BeNullOrEmpty
        $private.LastSyncRoundAt | Should -BeGreaterThan ([DateTimeOffset]::UtcNow.AddMinutes(-2))
        $flow.FirstRoundAt = $private.LastSyncRoundAt

        Use-PublicAdmin
        $public = Get-Connection -Name crm-eu
        $public.SyncEventsIn | Should -Be 3
        # Sent, not yet acknowledged: still counted out until the next round's acknowledgement.
        $public.SyncEventsOut | Should -Be 2
        $public.LastSyncRoundAt | Should -Not -BeNullOrEmpty
        $list = $public | Format-List | Out-String -Width 80
        $list | Should -Match 'SyncEventsIn\s*:\s*3'
    }

    It 'the next round acknowledges: the public side forgets what the private side holds, and nothing is stored twice' {
        Invoke-Round | Should -Match "'crm-eu': sent 0 and received 0 sync event\(s\)"
        (Get-Event -Side Public -Direction Outgoing).Count | Should -Be 0
        Use-PublicAdmin
        (Get-Connection -Name crm-eu).SyncEventsOut | Should -Be 0
        (Get-Event -Side Public -Direction Incoming).Count | Should -Be 3
        (Get-Event -Side Private -Direction Incoming).Count | Should -Be 2
        Use-PrivateAdmin
        (Get-Connection -Name crm-eu).LastSyncRoundAt | Should -BeGreaterOrEqual $flow.FirstRoundAt
    }

    It 'paused on the public side (Suspend-Connection there): nothing crosses either way, and the events keep queuing' {
        Use-PublicAdmin
        Suspend-Connection -Name crm-eu -ErrorAction Stop
        $null = Add-SeededSyncEvent -StorePath $privateStore -Connection crm-eu -System sf-private -Cases '5001:priv-one-v2,5004:priv-four'
        $null = Add-SeededSyncEvent -StorePath $publicStore -Connection crm-eu -System sf-public -Cases '7003:pub-three'

        Invoke-Round | Should -Match "'crm-eu': sent 0 and received 0 sync event\(s\)"
        Use-PrivateAdmin
        $private = Get-Connection -Name crm-eu
        $private.PeerStatus | Should -Be 'Paused'
        $private.SyncEventsOut | Should -Be 2
        (Get-Event -Side Public -Direction Incoming).Count | Should -Be 3
        (Get-Event -Side Private -Direction Incoming).Count | Should -Be 2
        @((Get-Event -Side Private -Direction Outgoing).Status | Select-Object -Unique) | Should -Be 'Queued'

        # A later change of a case whose event waits replaces that event's replica: still one event for the case.
        $null = Add-SeededSyncEvent -StorePath $privateStore -Connection crm-eu -System sf-private -Cases '5001:priv-one-v3'
        $waiting = Get-Event -Side Private -Direction Outgoing
        $waiting.Count | Should -Be 2
        ($waiting | Where-Object CaseId -eq '5001').Sequence | Should -Be 2
        ($waiting | Where-Object CaseId -eq '5001').Replica | Should -Match 'priv-one-v3'
    }

    It 'Resume-Connection on the public side: the next round delivers, in order per case' {
        Use-PublicAdmin
        Resume-Connection -Name crm-eu -ErrorAction Stop
        Invoke-Round | Should -Match "'crm-eu': sent 2 and received 1 sync event\(s\)"

        $atPublic = Get-Event -Side Public -Direction Incoming
        @($atPublic.CaseId) | Should -Be @('5001', '5002', '5003', '5001', '5004')
        @($atPublic | Where-Object CaseId -eq '5001' | ForEach-Object Sequence) | Should -Be @(1, 2)
        ($atPublic | Where-Object { $_.CaseId -eq '5001' -and $_.Sequence -eq 2 }).Replica | Should -Match 'priv-one-v3'
        @((Get-Event -Side Private -Direction Incoming).CaseId) | Should -Be @('7001', '7002', '7003')
        Use-PrivateAdmin
        (Get-Connection -Name crm-eu).PeerStatus | Should -Be 'Active'
    }

    It 'paused on the private side (Suspend-Connection there): nothing crosses; Resume-Connection delivers' {
        Use-PrivateAdmin
        Suspend-Connection -Name crm-eu -ErrorAction Stop
        $null = Add-SeededSyncEvent -StorePath $privateStore -Connection crm-eu -System sf-private -Cases '5005:priv-five'
        $null = Add-SeededSyncEvent -StorePath $publicStore -Connection crm-eu -System sf-public -Cases '7004:pub-four'

        Invoke-Round | Should -Match "'crm-eu': sent 0 and received 0 sync event\(s\)"
        @((Get-Event -Side Public -Direction Incoming).CaseId) | Should -Not -Contain '5005'
        @((Get-Event -Side Private -Direction Incoming).CaseId) | Should -Not -Contain '7004'
        Use-PublicAdmin
        (Get-Connection -Name crm-eu).PeerStatus | Should -Be 'Paused' -Because 'the round told the public side'

        Use-PrivateAdmin
        Resume-Connection -Name crm-eu -ErrorAction Stop
        Invoke-Round | Should -Match "'crm-eu': sent 1 and received 1 sync event\(s\)"
        @((Get-Event -Side Public -Direction Incoming).CaseId)[-1] | Should -Be '5005'
        @((Get-Event -Side Private -Direction Incoming).CaseId)[-1] | Should -Be '7004'
        Use-PublicAdmin
        (Get-Connection -Name crm-eu).PeerStatus | Should -Be 'Active'
    }

    Context 'Bad input' {
        It 'Sync-Connection -Name of a connection that does not exist fails with Connection.NotFound' {
            Use-PrivateAdmin
            Sync-Connection -Name nope -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Connection.NotFound,*'
            $failures[0].Exception.Message | Should -BeLike "*'nope'*"
        }

        It 'Sync-Connection on the public side fails with Peer.NotPrivateSide and moves nothing' {
            $null = Add-SeededSyncEvent -StorePath $publicStore -Connection crm-eu -System sf-public -Cases '7005:pub-five'
            Use-PublicAdmin
            $roundBefore = (Get-Connection -Name crm-eu).LastSyncRoundAt
            Sync-Connection -Name crm-eu -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Peer.NotPrivateSide,*'
            $failures[0].Exception.Message | Should -BeLike "*'crm-eu'*private side*"
            $failures[0].ErrorDetails.RecommendedAction | Should -BeLike '*accepted the invitation*'
            $public = Get-Connection -Name crm-eu
            $public.LastSyncRoundAt | Should -Be $roundBefore
            # The new event was not taken for sending (7004 waits as Sent for the private side's acknowledgement).
            (Get-Event -Side Public -Direction Outgoing | Where-Object CaseId -eq '7005').Status | Should -Be 'Queued'
        }

        It 'Sync-Connection on a system connection fails with Peer.NotPrivateSide, and the other names are still synced' {
            Use-PrivateAdmin
            Sync-Connection -Name sf-private, crm-eu -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Peer.NotPrivateSide,*'
            $failures[0].Exception.Message | Should -BeLike "*'sf-private'*"
            # crm-eu was still synced: the public side's last event arrived.
            @((Get-Event -Side Private -Direction Incoming).CaseId)[-1] | Should -Be '7005'
        }

        It 'with -ErrorAction Stop the error is terminating, with the same id' {
            Use-PrivateAdmin
            { Sync-Connection -Name sf-private -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Peer.NotPrivateSide,*'
        }
    }
}
