#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Admins see the sync, from the built module in a real pwsh: the outgoing sync events a retrieval run made for a bound
    private connection are listed with their trace ids, the failed one with its error and rule line, Get-Connection counts
    them; a retry after fixing the rule queues the event again; a discard removes it and records it in the history. The
    events are made by the TestProcess tool (seed-sync): it binds the connection, queues cases as a retrieval job would,
    and runs the outgoing rules. Nothing here reaches the network.

    Run it with ./build.ps1 -Task Test (in a fresh pwsh process), or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/SyncEvents.Tests.ps1 -Output Detailed
#>

Describe 'Sync events' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool
        $storePath = New-SeededStore -Name 'sync-events' -Connection @(@{ Name = 'sf-prod'; Type = 'SalesforceProduction'; Status = 'Active' })
        Set-ConnectionNode -PublicUrl 'https://node.contoso.example/'
        $null = New-PrivateConnection -Name 'partner' -LocalInstanceName 'contoso'
        Set-Connection -Name partner -Mode Script -Confirm:$false
        # Line 2 throws for the case whose subject is 'bad'.
        Set-ConnectionSyncRule -Name partner -Direction Outgoing -Script "replica.summary = entity.summary`nif (entity.summary === 'bad') { throw new Error('no bad cases') }"

        $seeded = & dotnet $seedToolPath seed-sync $storePath partner sf-prod '5001:good,5002:bad,5003:fine' 2>&1
        if ($LASTEXITCODE -ne 0) { throw "seed-sync failed: $($seeded -join ' ')" }
    }

    AfterAll {
        Close-TestSession
    }

    It 'lists the events with their trace ids, and the 80-column table never shows the case' {
        $events = @(Get-ConnectionSyncEvent -Name 'part*')
        $events.Count | Should -Be 3
        $events[0].PSObject.TypeNames[0] | Should -Be 'ConnectionTools.Sync.SyncEvent'
        @($events.CaseId) | Should -Be @('5001', '5002', '5003')
        @($events | Where-Object TraceId -match '^[0-9a-f]{16}$').Count | Should -Be 3
        $events[0].Entity | Should -Match '"Subject"'

        $table = $events | Out-String -Width 80
        foreach ($e in $events) { $table | Should -Match $e.TraceId }
        $table | Should -Not -Match 'Subject|summary'
        ($table -split "`r?`n" | Where-Object { $_.TrimEnd().Length -gt 80 }) | Should -BeNullOrEmpty

        @(Get-ConnectionSyncEvent -Status Failed).CaseId | Should -Be '5002'
        @(Get-ConnectionSyncEvent -CaseId 5001 -Direction Outgoing).Count | Should -Be 1
        Get-ConnectionSyncEvent -Direction Incoming | Should -BeNullOrEmpty
        Get-ConnectionSyncEvent -TraceId $events[2].TraceId | Select-Object -ExpandProperty CaseId | Should -Be '5003'
    }

    It 'lists the sync error with its id, message and rule line' {
        $errors = @(Get-ConnectionSyncError)
        $errors.Count | Should -Be 1
        $errors[0].ErrorId | Should -Be 'ConnectionTools.SyncRule.Failed'
        $errors[0].Line | Should -Be 2
        $errors[0].Message | Should -BeLike '*no bad cases*'
        $errors[0].TraceId | Should -Be (Get-ConnectionSyncEvent -CaseId 5002).TraceId
        # Grouped by connection; the error id on a line of its own, whole, above the message.
        $shown = $errors | Out-String -Width 80
        $shown | Should -Match 'Connection: partner'
        $shown | Should -Match "$($errors[0].TraceId) +5002 +ConnectionTools\.SyncRule\.Failed\s*\r?\n"
        $shown | Should -Match 'line 2'
        ($shown -split "`r?`n" | Where-Object { $_.TrimEnd().Length -gt 80 }) | Should -BeNullOrEmpty
    }

    It 'Get-Connection shows the events waiting out and the errors of the private connection' {
        $partner = Get-Connection -Name partner
        $partner.SyncEventsOut | Should -Be 2
        $partner.SyncEventsIn | Should -Be 0
        $partner.SyncErrors | Should -Be 1
        $partner.LastSyncRoundAt | Should -BeNullOrEmpty
        (Get-Connection -Name sf-prod).SyncEventsOut | Should -BeNullOrEmpty
        $list = $partner | Format-List | Out-String -Width 80
        $list | Should -Match 'SyncEventsOut\s*:\s*2'
        $list | Should -Match 'SyncErrors\s*:\s*1'
    }

    It 'retries: still failing keeps the event Failed with an error; after fixing the rule it is queued again' {
        $failed = Get-ConnectionSyncEvent -Status Failed
        $failed | Repair-ConnectionSyncEvent -ErrorVariable retryErrors -ErrorAction SilentlyContinue
        $retryErrors[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.SyncRule.Failed,*'
        (Get-ConnectionSyncEvent -CaseId 5002).Status | Should -Be 'Failed'

        Set-ConnectionSyncRule -Name partner -Direction Outgoing -Script "replica.summary = 'fixed: ' + entity.summary"
        $retried = Get-ConnectionSyncError -Name partner | Retry-ConnectionSyncEvent -PassThru
        $retried.Status | Should -Be 'Queued'
        $retried.TraceId | Should -Be $failed.TraceId
        ($retried.Replica | ConvertFrom-Json).summary | Should -Be 'fixed: bad'
        Get-ConnectionSyncError | Should -BeNullOrEmpty
        (Get-Connection -Name partner).SyncErrors | Should -Be 0
    }

    It 'discards with -Confirm:$false, recording the trace id in the history; -WhatIf keeps the event' {
        $event = Get-ConnectionSyncEvent -CaseId 5003
        Remove-ConnectionSyncEvent -EventId $event.EventId -WhatIf
        Get-ConnectionSyncEvent -CaseId 5003 | Should -Not -BeNullOrEmpty

        $event | Remove-ConnectionSyncEvent -Confirm:$false
        Get-ConnectionSyncEvent -CaseId 5003 | Should -BeNullOrEmpty
        $entry = Get-ConnectionHistory -Name partner -Last 1
        $entry.Action | Should -Be 'DiscardSyncEvent'
        $entry.Summary | Should -BeLike "*case 5003 #1*$($event.TraceId)*"

        { Remove-ConnectionSyncEvent -EventId $event.EventId -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.SyncEvent.NotFound,*'
    }
}
