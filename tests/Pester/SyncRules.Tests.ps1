#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Sync rules are JavaScript, from the built module in a real pwsh: Set-ConnectionSyncRule parses a script before saving it
    (a script that does not parse is refused with its line and column, and the stored rule stays), -Test runs a rule on a
    sample case in the sandbox and shows what it makes, and the sandbox stops a rule that never ends. Nothing here reaches
    the network.

    Run it with ./build.ps1 -Task Test (in a fresh pwsh process), or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/SyncRules.Tests.ps1 -Output Detailed
#>

Describe 'Sync rules' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')
        $null = Connect-ConnectionNode -Create -StorePath (Join-Path $TestDrive 'rules.db')
        Set-ConnectionNode -PublicUrl 'https://node.contoso.example/'
        $null = New-PrivateConnection -Name 'partner' -LocalInstanceName 'contoso'
    }

    AfterAll {
        Close-TestSession
    }

    It 'refuses a script that does not parse, with its line and column, and keeps the stored rule' {
        Set-Connection -Name partner -Mode Script -Confirm:$false
        $before = (Get-ConnectionSyncRule -Name partner | Where-Object Direction -eq 'Outgoing').Script
        $err = { Set-ConnectionSyncRule -Name partner -Direction Outgoing -Script "replica.key = entity.key`nreplica.summary = ;" -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConnectionTools.SyncRule.InvalidScript,*' -PassThru
        $err.Exception.Message | Should -BeLike "*'partner'*line 2, column 19*"
        (Get-ConnectionSyncRule -Name partner | Where-Object Direction -eq 'Outgoing').Script | Should -Be $before
    }

    It '-Test shows the replica a rule makes of a sample case, and saves nothing' {
        $before = (Get-ConnectionSyncRule -Name partner | Where-Object Direction -eq 'Outgoing').Script
        $result = Set-ConnectionSyncRule -Name partner -Direction Outgoing -Script "replica.title = '[' + entity.priority + '] ' + entity.summary" -Test -Sample '{"summary":"Printer jams","priority":"Low"}'
        $result.PSObject.TypeNames[0] | Should -Be 'ConnectionTools.SyncRules.SyncRuleTestResult'
        ($result.Output | ConvertFrom-Json).title | Should -Be '[Low] Printer jams'
        $shown = $result | Out-String -Width 80
        $shown | Should -Match ([regex]::Escape('partner: what the Outgoing rule makes of the sample (the replica)'))
        $shown | Should -Match ([regex]::Escape('"title": "[Low] Printer jams"'))
        (Get-ConnectionSyncRule -Name partner | Where-Object Direction -eq 'Outgoing').Script | Should -Be $before
    }

    It '-Test stops a rule that never ends, naming the limit and the line' {
        $err = { Set-ConnectionSyncRule -Name partner -Direction Outgoing -Script "replica.key = entity.key`nwhile (true) { }" -Test -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConnectionTools.SyncRule.LimitExceeded,*' -PassThru
        $err.Exception.Message | Should -BeLike "*'partner' was stopped for case sample at line 2*statements*"
    }

    It '-Test runs the generated Basic incoming rule on a first sync' {
        $result = Set-ConnectionSyncRule -Name partner -Direction Incoming -Script (Get-ConnectionSyncRule -Name partner | Where-Object Direction -eq 'Incoming').Script -Test -Sample '{"summary":"From the partner","comments":[{"author":"Bo","body":"Seen"}]}'
        $case = $result.Output | ConvertFrom-Json
        $case.summary | Should -Be 'From the partner'
        @($case.comments.body) | Should -Be @('Replaced the drum; watching it.', 'Seen')
    }
}
