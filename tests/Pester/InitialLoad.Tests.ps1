#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Initialize-ConnectionSync, the first sync of a new partner, from the built module in a real pwsh: the existing cases of
    the bound Salesforce connection are read from the org and queued as outgoing sync events of that one private connection.

    The org is the Salesforce emulator of tests/ConnectionTools.EmulatorHost, in a process of its own behind a CONNECT proxy
    on loopback that serves contoso.my.salesforce.com (Start-TestProviderEmulators). The commands that reach it run in a
    child pwsh with the proxy's environment (Invoke-ProviderPwsh): the system connection sf-prod is made there with a
    device-code sign-in, which the emulator host approves. Everything else, and every check, runs in this session on the
    same store. The refusals come before any request, so they run here.

    THE TESTS RUN IN THE ORDER WRITTEN: the full load follows the load with -Since.

    Run it with ./build.ps1 -Task Test (in a fresh pwsh process), or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/InitialLoad.Tests.ps1 -Output Detailed
#>

Describe 'Initial load (Initialize-ConnectionSync)' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')

        $providers = Start-TestProviderEmulators
        $ready = $providers.Ready
        $store = Join-Path $TestDrive 'initial-load.db'
        $null = Connect-ConnectionNode -Create -StorePath $store
        Set-ConnectionNode -PublicUrl 'https://node.contoso.example/'

        $made = Invoke-ProviderPwsh -Providers $providers -StorePath $store -Command @"
New-Connection -Name sf-prod -Type SalesforceProduction -InstanceUrl https://contoso.my.salesforce.com -ClientId '$($ready.SalesforceConsumerKey)' -UseDeviceCode -AcceptDataProcessingAgreement -ErrorAction Stop | Out-Null
'RESULT:' + (Get-Connection -Name sf-prod | Select-Object @{ n = 'Status'; e = { "`$(`$_.Status)" } }, OrganizationId | ConvertTo-Json -Compress)
"@
        if ($made.Result.Status -ne 'Active') { throw "New-Connection sf-prod against the emulated org failed: $($made.Output)" }

        $null = New-PrivateConnection -Name partner -LocalInstanceName contoso -System sf-prod -ErrorAction Stop
        $null = New-PrivateConnection -Name other-partner -LocalInstanceName contoso -System sf-prod -ErrorAction Stop
        $null = New-PrivateConnection -Name unbound -LocalInstanceName contoso -ErrorAction Stop

        function Get-Outgoing {
            param([Parameter(Mandatory)] [string] $Name)
            @(Get-ConnectionSyncEvent -Name $Name -Direction Outgoing)
        }

        function Get-Modified {
            # When the org last changed the case the event carries (its SystemModstamp), as the outgoing rule got it.
            param([Parameter(Mandatory)] $Event)
            $value = ($Event.Entity | ConvertFrom-Json -DateKind String).fields.SystemModstamp
            if ($value -notmatch '^(.+)([+-]\d\d):?(\d\d)$') { throw "The event of case $($Event.CaseId) has no SystemModstamp: $($Event.Entity)" }
            [DateTimeOffset]::Parse("$($Matches[1])$($Matches[2]):$($Matches[3])", [cultureinfo]::InvariantCulture)
        }

        # Every fourth emulated case shares its predecessor's time; 30 hours ago falls between the org's first and last change.
        $since = [DateTimeOffset]::UtcNow.AddHours(-30)
        $flow = @{ SinceCases = $null }
    }

    AfterAll {
        Stop-TestProviderEmulators $providers
        Close-TestSession
    }

    It '-WhatIf says what it would queue, reads nothing from the org and queues nothing' {
        $proxyBefore = (Get-Content -LiteralPath $providers.ProxyLog -Raw -ErrorAction SilentlyContinue) + ''
        $run = Invoke-ProviderPwsh -Providers $providers -StorePath $store -Command @'
Initialize-ConnectionSync -Name partner -WhatIf
Initialize-ConnectionSync -Name partner -Since ([DateTime]'2026-01-02T03:04:05Z') -WhatIf
'RESULT:' + (@(Get-ConnectionSyncEvent -Name partner).Count | ConvertTo-Json -Compress)
'@
        $run.Result | Should -Be 0 -Because $run.Output
        $run.Output | Should -Match "What if: .*Queue every case of 'sf-prod' for its first sync.* on target .Connection 'partner'"
        $run.Output | Should -Match "What if: .*Queue the cases changed since 2026-01-02 03:04:05Z of 'sf-prod'.* on target .Connection 'partner'"
        (Get-Content -LiteralPath $providers.ProxyLog -Raw -ErrorAction SilentlyContinue) + '' | Should -Be $proxyBefore
        Get-Outgoing -Name partner | Should -BeNullOrEmpty
    }

    It '-Since queues only the cases changed since then, for that connection only; -PassThru writes it' {
        $run = Invoke-ProviderPwsh -Providers $providers -StorePath $store -Command @"
`$written = @(Initialize-ConnectionSync -Name partner -Since ([DateTimeOffset]::Parse('$($since.ToString('o'))').UtcDateTime) -PassThru -Verbose -ErrorAction Stop)
'RESULT:' + (ConvertTo-Json -Compress -InputObject @(`$written | ForEach-Object { `$_.Name }))
"@
        @($run.Result) | Should -Be @('partner') -Because $run.Output
        $run.Output | Should -Match "Queued \d+ case\(s\) of 'sf-prod' for 'partner'\."

        $events = Get-Outgoing -Name partner
        $events.Count | Should -BeGreaterThan 0
        $events.Count | Should -BeLessThan $ready.SalesforceCases
        $run.Output | Should -Match "Queued $($events.Count) case\(s\) of 'sf-prod' for 'partner'\."
        foreach ($e in $events) {
            (Get-Modified $e) | Should -BeGreaterOrEqual $since -Because "case $($e.CaseId) was queued for -Since $since"
            $e.Status | Should -Be 'Queued'
            $e.TraceId | Should -Match '^[0-9a-f]{16}$'
            # Through the connection's (generated) outgoing rule: the replica carries the subject as its summary.
            ($e.Replica | ConvertFrom-Json).summary | Should -Be ($e.Entity | ConvertFrom-Json).fields.Subject
        }
        (Get-Connection -Name partner).SyncEventsOut | Should -Be $events.Count
        Get-Outgoing -Name other-partner | Should -BeNullOrEmpty
        (Get-Connection -Name other-partner).SyncEventsOut | Should -Be 0
        $flow.SinceCases = @($events | ForEach-Object { $_.CaseId } | Sort-Object)
    }

    It 'without -Since it queues every case once (a waiting one is replaced, not doubled), and leaves the retrieval job alone' {
        $run = Invoke-ProviderPwsh -Providers $providers -StorePath $store -Command @'
Initialize-ConnectionSync -Name partner -ErrorAction Stop
'RESULT:' + (ConvertTo-Json -Compress -InputObject @($Error | ForEach-Object { "$_" }))
'@
        @($run.Result) | Should -BeNullOrEmpty -Because $run.Output

        $events = Get-Outgoing -Name partner
        $events.Count | Should -Be $ready.SalesforceCases
        @($events.CaseId | Sort-Object -Unique).Count | Should -Be $ready.SalesforceCases
        @($events | Where-Object Sequence -ne 1) | Should -BeNullOrEmpty
        # The -Since load was exactly the cases changed since then.
        @($events | Where-Object { (Get-Modified $_) -ge $since } | ForEach-Object { $_.CaseId } | Sort-Object) | Should -Be $flow.SinceCases
        Get-Outgoing -Name other-partner | Should -BeNullOrEmpty
        (Get-ConnectionJob -Schedule -Connection sf-prod).Watermark | Should -BeNullOrEmpty
    }

    Context 'Bad input: refused before any request, each connection on its own' {
        It 'an unbound private connection fails with Sync.NotBound, saying how to bind it' {
            Initialize-ConnectionSync -Name unbound -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Sync.NotBound,*'
            $failures[0].Exception.Message | Should -BeLike "*'unbound' is not bound*"
            $failures[0].ErrorDetails.RecommendedAction | Should -BeLike "*Set-Connection -Name 'unbound' -System*"
            Get-Outgoing -Name unbound | Should -BeNullOrEmpty
        }

        It 'a connection that is not private (the system connection itself) fails with Sync.NotBound' {
            Initialize-ConnectionSync -Name sf-prod -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Sync.NotBound,*'
            $failures[0].Exception.Message | Should -BeLike "*'sf-prod' (SalesforceProduction, Active) is not a private connection*"
        }

        It 'a name that matches nothing fails with Connection.NotFound; every name gets its own error' {
            Initialize-ConnectionSync -Name nope, unbound -ErrorVariable failures -ErrorAction SilentlyContinue
            @($failures | ForEach-Object { ($_.FullyQualifiedErrorId -split ',')[0] }) | Should -Be @('ConnectionTools.Connection.NotFound', 'ConnectionTools.Sync.NotBound')
            { Initialize-ConnectionSync -Name unbound -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Sync.NotBound,*'
        }

    }

    Context 'Test-ConnectionSync: the check before the first sync' {
        It 'a connection bound to the org that has the External ID field is Ready, one result per connection, from a real pwsh' {
            $run = Invoke-ProviderPwsh -Providers $providers -StorePath $store -Command @'
$results = @(Get-Connection -Name partner, other-partner | Test-ConnectionSync -Verbose -ErrorAction Stop)
$table = $results | Format-Table | Out-String -Width 80
'RESULT:' + (ConvertTo-Json -Compress -InputObject @{ Results = @($results | ForEach-Object { @{ Name = $_.Name; Ready = $_.Ready; System = $_.System; Field = $_.Field; SystemType = "$($_.SystemType)" } }); Table = $table; Errors = @($Error | ForEach-Object { "$_" }) })
'@
            $run.Result | Should -Not -BeNullOrEmpty -Because $run.Output
            @($run.Result.Errors) | Should -BeNullOrEmpty -Because $run.Output
            # Get-Connection writes them in name order.
            @($run.Result.Results | ForEach-Object { "$($_.Name)|$($_.Ready)|$($_.System)|$($_.SystemType)|$($_.Field)" }) |
                Should -Be @('other-partner|True|sf-prod|SalesforceProduction|ConnectionTools_Partner_Id__c', 'partner|True|sf-prod|SalesforceProduction|ConnectionTools_Partner_Id__c')
            $run.Output | Should -Match 'Reading the Case describe of .sf-prod.'
            $run.Result.Table | Should -Match 'Name\s+Ready\s+System\s+Message'
        }

        It 'an unbound connection writes a result that is not Ready and a Sync.NotBound error; -ErrorAction Stop stops on it' {
            $results = @(Test-ConnectionSync -Name unbound -ErrorVariable failures -ErrorAction SilentlyContinue)
            $results.Count | Should -Be 1
            $results[0].Ready | Should -BeFalse
            $results[0].ErrorId | Should -Be 'ConnectionTools.Sync.NotBound'
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Sync.NotBound,*'
            { Test-ConnectionSync -Name unbound -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Sync.NotBound,*'
        }
    }

    Context 'A -Since in the future' {
        It 'is refused with Sync.SinceInFuture before anything is asked of the org, and nothing is queued' {
            $proxyBefore = (Get-Content -LiteralPath $providers.ProxyLog -Raw -ErrorAction SilentlyContinue) + ''
            Initialize-ConnectionSync -Name other-partner -Since (Get-Date).AddDays(1) -ErrorVariable failures -ErrorAction SilentlyContinue
            @($failures | ForEach-Object { ($_.FullyQualifiedErrorId -split ',')[0] }) | Should -Be @('ConnectionTools.Sync.SinceInFuture')
            "$($failures[0])" | Should -Match "is in the future"
            $failures[0].ErrorDetails.RecommendedAction | Should -Match 'AddDays\(-30\)'
            (Get-Content -LiteralPath $providers.ProxyLog -Raw -ErrorAction SilentlyContinue) + '' | Should -Be $proxyBefore
            Get-Outgoing -Name other-partner | Should -BeNullOrEmpty
        }
    }
}
