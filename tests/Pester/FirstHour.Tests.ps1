#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    The rough edges a new admin hit in the first hour, from the built module in out/ConnectionTools: wildcards in -Name
    of the cmdlets that act on connections (as Stop-Service -Name), the one-way Script upgrade asking first, the rule
    that Set-ConnectionSyncRule -PassThru writes, stores that do not exist, and the reason a connection has no job.

    Connections are seeded with tests/ConnectionTools.TestProcess ("seed <store> <name> <type> <status>"); private
    connections in Basic mode with their rules come from New-PrivateConnection. Nothing here reaches the network.

    Run it with ./build.ps1 -Task Test (in a fresh pwsh process), or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/FirstHour.Tests.ps1 -Output Detailed
#>

Describe 'The admin''s first hour' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool

        function Invoke-Child {
            # Runs a command in a fresh, non-interactive pwsh with the module imported and the store given; returns its
            # output and errors as text, one line each.
            param([Parameter(Mandatory)] [string] $StorePath, [Parameter(Mandatory)] [string] $Command)
            $script = "`$ErrorActionPreference = 'Continue'; Import-Module '$manifestPath'; `$env:CONNECTIONTOOLS_STORE = '$StorePath'; $Command"
            $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($script))
            $output = & $pwshPath -NoProfile -NonInteractive -OutputFormat Text -EncodedCommand $encoded 2>&1
            @($output | ForEach-Object { "$_" })
        }
    }

    AfterAll {
        Close-TestSession
    }

    Context 'Wildcards in -Name select the connections that match' {
        BeforeEach {
            $store = Join-Path $TestDrive "wildcards-$([guid]::NewGuid().ToString('n')).db"
            Add-SeededConnection -StorePath $store -Name prod-eu -Status Active
            Add-SeededConnection -StorePath $store -Name prod-us -Status Active
            Add-SeededConnection -StorePath $store -Name crm-main -Status Active
            Add-SeededConnection -StorePath $store -Name sf-fake -Type SalesforceProduction -Status Active
            $null = Connect-ConnectionNode -StorePath $store
        }

        It 'Suspend-Connection -Name ''prod*'' pauses every match and nothing else, without an error' {
            $paused = Suspend-Connection -Name 'prod*' -PassThru -ErrorVariable failures
            $failures | Should -BeNullOrEmpty
            ($paused.Name | Sort-Object) -join ', ' | Should -Be 'prod-eu, prod-us'
            (Get-Connection -Name crm-main).Status | Should -Be 'Active'

            $resumed = Resume-Connection -Name 'PROD-[eu]?' -PassThru -ErrorVariable failures
            $failures | Should -BeNullOrEmpty
            ($resumed.Name | Sort-Object) -join ', ' | Should -Be 'prod-eu, prod-us'
            (Get-Connection -Name 'prod*').Status | Should -Be 'Active', 'Active'
        }

        It 'asks ShouldProcess once per matching connection (-WhatIf names each) and changes nothing' {
            $lines = Invoke-Child -StorePath $store -Command "Suspend-Connection -Name 'prod*' -WhatIf"
            @($lines | Where-Object { $_ -like 'What if:*' }).Count | Should -Be 2
            ($lines -join "`n") | Should -BeLike "*'prod-eu'*"
            ($lines -join "`n") | Should -BeLike "*'prod-us'*"
            ($lines -join "`n") | Should -Not -BeLike '*NotFound*'
            (Get-Connection -Name 'prod*').Status | Should -Be 'Active', 'Active'
        }

        It 'a pattern that matches nothing is not an error; a plain name that matches nothing is' {
            Suspend-Connection -Name 'nothing*' -ErrorVariable failures
            $failures | Should -BeNullOrEmpty

            Suspend-Connection -Name 'nothing' -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Connection.NotFound,*'
        }

        It 'Remove-Connection -Name ''prod*'' removes every match' {
            Remove-Connection -Name 'prod*' -Confirm:$false -ErrorVariable failures
            $failures | Should -BeNullOrEmpty
            (Get-Connection).Name | Should -Not -Contain 'prod-eu'
            (Get-Connection).Name | Should -Not -Contain 'prod-us'
            (Get-Connection -Name crm-main).Status | Should -Be 'Active'
        }

        It 'Sync-Connection, Test- and Update-ConnectionAuthorization and Start-ConnectionJob take patterns' {
            foreach ($command in 'Sync-Connection', 'Test-ConnectionAuthorization', 'Update-ConnectionAuthorization', 'Start-ConnectionJob') {
                (Get-Command $command).Parameters['Name'].Attributes.Where({ $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }).Count |
                    Should -Be 1 -Because "$command -Name takes wildcards"
                & $command -Name 'nothing*' -ErrorVariable failures -ErrorAction SilentlyContinue
                $failures | Should -BeNullOrEmpty -Because "a pattern that matches nothing is no error for $command"
            }

            # Private connections have no grant and no job: a pattern passes over them, as no -Name does.
            Test-ConnectionAuthorization -Name 'crm*' -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $failures | Should -BeNullOrEmpty
            Start-ConnectionJob -Name 'crm*' -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $failures | Should -BeNullOrEmpty

            # A private connection matched by a pattern is the public side here, so the exchange names that, not NotFound.
            Sync-Connection -Name 'crm*' -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Peer.NotPrivateSide,*'
        }

        It 'Set-Connection -NewName refuses a pattern that matches more than one connection, and renames nothing' {
            Set-Connection -Name 'prod*' -NewName 'prod-all' -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Connection.AmbiguousName,*'
            $failures[0].Exception.Message | Should -BeLike '*prod-eu*prod-us*'
            (Get-Connection -Name 'prod*').Name | Sort-Object | Should -Be 'prod-eu', 'prod-us'

            $renamed = Set-Connection -Name 'crm*' -NewName 'crm-renamed' -PassThru -ErrorVariable failures
            $failures | Should -BeNullOrEmpty
            $renamed.Name | Should -Be 'crm-renamed'
        }
    }

    Context 'Script mode and sync rules' {
        BeforeEach {
            $store = Join-Path $TestDrive "script-$([guid]::NewGuid().ToString('n')).db"
            Add-SeededConnection -StorePath $store -Name seed-only -Status Active
            $null = Connect-ConnectionNode -StorePath $store
            Set-ConnectionNode -PublicUrl 'http://127.0.0.1:5999/'
            $null = New-PrivateConnection -Name partner -LocalInstanceName contoso-public
        }

        It 'Set-Connection -Mode Script asks first, as ConfirmImpact High: a non-interactive session cannot upgrade without -Confirm:$false' {
            $lines = Invoke-Child -StorePath $store -Command "Set-Connection -Name partner -Mode Script; 'mode:' + (Get-Connection -Name partner).Mode"
            ($lines -join "`n") | Should -BeLike '*NonInteractive*'
            $lines | Should -Contain 'mode:Basic'
            (Get-Connection -Name partner).Mode | Should -Be 'Basic'

            # Other changes do not ask.
            $lines = Invoke-Child -StorePath $store -Command "Set-Connection -Name partner -Description 'no prompt'; 'description:' + (Get-Connection -Name partner).Description"
            $lines | Should -Contain 'description:no prompt'

            $lines = Invoke-Child -StorePath $store -Command "Set-Connection -Name partner -Mode Script -Confirm:`$false; 'mode:' + (Get-Connection -Name partner).Mode"
            $lines | Should -Contain 'mode:Script'
        }

        It 'Set-ConnectionSyncRule -PassThru writes the rule that was changed, not both' {
            Set-Connection -Name partner -Mode Script -Confirm:$false
            $rule = Set-ConnectionSyncRule -Name partner -Direction Outgoing -Script 'replica.summary = entity.summary' -PassThru
            @($rule).Count | Should -Be 1
            $rule.Direction | Should -Be 'Outgoing'
            $rule.Script | Should -Be 'replica.summary = entity.summary'
            @(Get-ConnectionSyncRule -Name partner).Count | Should -Be 2
        }
    }

    Context 'A path that holds no store' {
        It 'Connect-ConnectionNode -StorePath to a missing path is an error naming the path and -Create, and creates nothing' {
            $typo = Join-Path $TestDrive 'typo-folder/stroe.db'
            $err = { Connect-ConnectionNode -StorePath $typo -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Store.NotFound,*' -PassThru
            $err.Exception.Message | Should -BeLike "*$typo*"
            $err.ErrorDetails.RecommendedAction | Should -BeLike '*-Create*'
            Test-Path -LiteralPath $typo | Should -BeFalse
            Test-Path -LiteralPath (Split-Path $typo) | Should -BeFalse
            { Get-Connection -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Store.NotConnected,*'

            $node = Connect-ConnectionNode -StorePath $typo -Create -InformationVariable notice
            $node.ConnectionCount | Should -Be 0
            ($notice -join ' ') | Should -BeLike "*$typo*"
            Test-Path -LiteralPath $typo | Should -BeTrue
            # Once it exists, no -Create is needed.
            (Connect-ConnectionNode -StorePath $typo).StorePath | Should -Be ([System.IO.Path]::GetFullPath($typo))
        }

        It 'a scheduled task whose CONNECTIONTOOLS_STORE has a typo fails (exit code 1) instead of succeeding on an empty store' {
            $typo = Join-Path $TestDrive 'missing/store.db'
            $lines = Invoke-Child -StorePath $typo -Command "`$ErrorActionPreference = 'Stop'; Get-Connection; 'listed'"
            $LASTEXITCODE | Should -Be 1
            $lines | Should -Not -Contain 'listed'
            ($lines -join "`n") | Should -BeLike '*No store exists*'
            Test-Path -LiteralPath $typo | Should -BeFalse
        }

        It 'the node host refuses --store without a store unless --create' {
            $nodeFolder = Join-Path $TestDrive 'node-host'
            $null = & dotnet build (Join-Path $repoRoot 'src/ConnectionTools.Node') -c Release -o $nodeFolder -nologo 2>&1
            $typo = Join-Path $TestDrive 'node-typo/store.db'
            $output = & dotnet (Join-Path $nodeFolder 'ConnectionTools.Node.dll') --store $typo --urls 'http://127.0.0.1:0' 2>&1
            $LASTEXITCODE | Should -Be 1
            ($output -join "`n") | Should -BeLike '*ConnectionTools.Store.NotFound*--create*'
            Test-Path -LiteralPath $typo | Should -BeFalse
        }

        It 'the per-user default store is created on first use, with a message naming its path once' {
            $data = Join-Path $TestDrive 'xdg-data'
            $script = "Import-Module '$manifestPath'; `$env:CONNECTIONTOOLS_STORE = `$null; `$env:XDG_DATA_HOME = '$data'; `$env:LOCALAPPDATA = '$data'; " +
                "Get-Connection -InformationVariable first; 'first:' + (`$first -join ' '); Get-Connection -InformationVariable second; 'second:' + (`$second -join ' ')"
            $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($script))
            $lines = @(& $pwshPath -NoProfile -NonInteractive -OutputFormat Text -EncodedCommand $encoded 2>&1 | ForEach-Object { "$_" })
            ($lines | Where-Object { $_ -like 'first:*' }) | Should -BeLike '*Created the per-user default store*'
            $lines | Should -Contain 'second:'
        }
    }

    Context 'A connection without a retrieval job' {
        It 'Start-ConnectionJob names the real reason for a Salesforce connection that was never authorized' {
            $store = Join-Path $TestDrive 'no-job.db'
            Add-SeededConnection -StorePath $store -Name sf-fake -Type SalesforceProduction -Status Active
            $null = Connect-ConnectionNode -StorePath $store
            Start-ConnectionJob -Name sf-fake -Confirm:$false -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Job.NotFound,*'
            $failures[0].Exception.Message | Should -Not -BeLike '*Only Salesforce and Dynamics 365*'
            $failures[0].Exception.Message | Should -BeLike '*never authorized*'
            $failures[0].ErrorDetails.RecommendedAction | Should -BeLike '*New-Connection*'
        }
    }
}
