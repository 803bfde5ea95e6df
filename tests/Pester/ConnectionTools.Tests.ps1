#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    The built module, used the way an admin uses it: imported from out/ConnectionTools, in a session
    whose store lives under TestDrive.

    Run it with ./build.ps1 -Task Test (in a fresh pwsh process), or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester -Output Detailed

    There is no cmdlet that creates connections yet, so each Context seeds its own store with
    tests/ConnectionTools.TestProcess ("seed <store> <name> <type> <status>"), which walks the real
    lifecycle to the status asked for. Each Context therefore sees exactly what it seeded, and the
    tests that change something each work on connections of their own.
#>

Describe 'ConnectionTools' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool

        function ConvertTo-NameList {
            # Compares lists of names regardless of order: both sides go through the same sort.
            param([object[]] $Name)
            (@($Name | Where-Object { $null -ne $_ }) | Sort-Object) -join ', '
        }
    }

    AfterAll {
        Close-TestSession
    }

    Context 'Importing the module' {
        It 'imports without warnings' {
            (@($importWarnings) | Where-Object { $null -ne $_ } | ForEach-Object { $_.Message }) -join '; ' | Should -BeNullOrEmpty
        }

        It 'exports exactly the cmdlets and aliases its manifest lists, and no functions' {
            $manifest = Import-PowerShellDataFile -LiteralPath $manifestPath
            ConvertTo-NameList @($module.ExportedCmdlets.Keys) | Should -Be (ConvertTo-NameList $manifest.CmdletsToExport)
            ConvertTo-NameList @($module.ExportedAliases.Keys) | Should -Be (ConvertTo-NameList $manifest.AliasesToExport)
            $module.ExportedFunctions.Count | Should -Be 0
        }

        It 'offers the connection lifecycle as cmdlets' {
            $commands = @(Get-Command -Module ConnectionTools)
            $lifecycle = 'Connect-ConnectionNode', 'Get-Connection', 'Get-ConnectionHistory', 'Get-ConnectionNode',
                'Remove-Connection', 'Resume-Connection', 'Set-Connection', 'Suspend-Connection'
            foreach ($name in $lifecycle) {
                ($commands | Where-Object { $_.Name -eq $name }).CommandType | Should -Be 'Cmdlet' -Because "$name is part of the lifecycle"
            }
            # Everything else the module exports is a cmdlet too, or an alias of one.
            @($commands | Where-Object { $_.CommandType -ne 'Cmdlet' -and $_.CommandType -ne 'Alias' }).Count | Should -Be 0
        }

        It '<Command> supports -WhatIf, -Confirm and -PassThru' -TestCases @(
            @{ Command = 'Set-Connection' }
            @{ Command = 'Suspend-Connection' }
            @{ Command = 'Resume-Connection' }
            @{ Command = 'Remove-Connection' }
        ) {
            $parameters = (Get-Command -Name $Command).Parameters
            $parameters.ContainsKey('WhatIf') | Should -BeTrue
            $parameters.ContainsKey('Confirm') | Should -BeTrue
            $parameters.ContainsKey('PassThru') | Should -BeTrue
        }

        It 'Remove-Connection asks for confirmation by default (ConfirmImpact High)' {
            $cmdlet = (Get-Command -Name Remove-Connection).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
            $cmdlet.ConfirmImpact | Should -Be 'High'
        }

        It 'ships the about_ConnectionTools topic, fitting an 80-column console' {
            $lines = @(Get-Content -LiteralPath (Join-Path $moduleFolder 'en-US/about_ConnectionTools.help.txt'))
            ($lines -join "`n") | Should -Match 'about_ConnectionTools'
            @($lines | Where-Object { $_.Length -gt 80 }) -join "`n" | Should -BeNullOrEmpty
        }
    }

    Context 'Choosing the store' {
        BeforeAll {
            $storePath = New-SeededStore -Name 'choosing' -Connection @(
                @{ Name = 'local-one'; Type = 'Private'; Status = 'Active' }
            )
        }

        BeforeEach {
            # Some tests move the session to another store; each one starts from this Context's store.
            $null = Connect-ConnectionNode -Create -StorePath $storePath
        }

        It 'creates a store that does not exist yet, folder included, and uses it for this session' {
            $newStore = Join-Path (Join-Path $TestDrive 'new-folder') 'fresh.db'
            $node = Connect-ConnectionNode -Create -StorePath $newStore
            Test-Path -LiteralPath $newStore -PathType Leaf | Should -BeTrue
            $node.StorePath | Should -Be ([System.IO.Path]::GetFullPath($newStore))
            $node.StoreSource | Should -Be 'Session'
            $node.ConnectionCount | Should -Be 0
            @(Get-Connection).Count | Should -Be 0
        }

        It 'resolves a relative -StorePath against the current PowerShell location' {
            Push-Location -LiteralPath $TestDrive
            try {
                $node = Connect-ConnectionNode -Create -StorePath 'relative.db'
            }
            finally {
                Pop-Location
            }
            $node.StorePath | Should -Be ([System.IO.Path]::GetFullPath((Join-Path $TestDrive 'relative.db')))
        }

        It 'refuses a directory as the store, and then names it instead of using another store until a connect succeeds' {
            { Connect-ConnectionNode -Create -StorePath $TestDrive } | Should -Throw -ErrorId 'ConnectionTools.Store.PathIsDirectory,*'
            { Get-ConnectionNode } | Should -Throw -ErrorId 'ConnectionTools.Store.NotConnected,*' -ExpectedMessage "*$TestDrive*"
            { Get-Connection -Name 'local-one' } | Should -Throw -ErrorId 'ConnectionTools.Store.NotConnected,*'
            $null = Connect-ConnectionNode -Create -StorePath $storePath
            (Get-ConnectionNode).StorePath | Should -Be ([System.IO.Path]::GetFullPath($storePath))
            (Get-Connection -Name 'local-one').Name | Should -Be 'local-one'
        }

        It 'refuses a file that is not a store and leaves the file as it was' {
            $notAStore = Join-Path $TestDrive 'notes.txt'
            Set-Content -LiteralPath $notAStore -Value 'not a database'
            $hashBefore = (Get-FileHash -LiteralPath $notAStore).Hash
            { Connect-ConnectionNode -Create -StorePath $notAStore } | Should -Throw -ErrorId 'ConnectionTools.Store.NotAStore,*'
            (Get-FileHash -LiteralPath $notAStore).Hash | Should -Be $hashBefore
        }

        It 'goes back to CONNECTIONTOOLS_STORE when -StorePath is left out' {
            # The variable names a store that must exist: create it once, then connect without -StorePath.
            $null = Connect-ConnectionNode -Create -StorePath $env:CONNECTIONTOOLS_STORE
            $node = Connect-ConnectionNode
            $node.StoreSource | Should -Be 'Environment'
            $node.StorePath | Should -Be ([System.IO.Path]::GetFullPath($env:CONNECTIONTOOLS_STORE))
        }

        It 'keeps the store chosen with Connect-ConnectionNode over CONNECTIONTOOLS_STORE' {
            $env:CONNECTIONTOOLS_STORE | Should -Not -BeNullOrEmpty
            $node = Get-ConnectionNode
            $node.StoreSource | Should -Be 'Session'
            $node.StorePath | Should -Be ([System.IO.Path]::GetFullPath($storePath))
        }

        It 'a fresh PowerShell process uses the store named by CONNECTIONTOOLS_STORE' {
            $environmentStore = Join-Path $TestDrive 'from-environment.db'
            Add-SeededConnection -StorePath $environmentStore -Name 'env-only' -Type 'Dynamics365' -Status 'Active'
            $saved = $env:CONNECTIONTOOLS_STORE
            try {
                $env:CONNECTIONTOOLS_STORE = $environmentStore
                # A script block given to -Command runs in the child and comes back as deserialized objects.
                $child = & $pwshPath -NoProfile -NonInteractive -Command {
                    param($Manifest)
                    Import-Module -Name $Manifest -ErrorAction Stop
                    $node = Get-ConnectionNode
                    [pscustomobject]@{
                        StoreSource = $node.StoreSource.ToString()
                        StorePath   = $node.StorePath
                        Names       = @(Get-Connection | ForEach-Object { $_.Name }) -join ','
                    }
                } -args $manifestPath
                $exitCode = $LASTEXITCODE
            }
            finally {
                $env:CONNECTIONTOOLS_STORE = $saved
            }

            $exitCode | Should -Be 0
            $child.StoreSource | Should -Be 'Environment'
            $child.StorePath | Should -Be ([System.IO.Path]::GetFullPath($environmentStore))
            $child.Names | Should -Be 'env-only'
            (Get-ConnectionNode).StoreSource | Should -Be 'Session'
        }
    }

    Context 'Listing connections' {
        BeforeAll {
            $storePath = New-SeededStore -Name 'listing' -Connection @(
                @{ Name = 'prod-eu'; Type = 'SalesforceProduction'; Status = 'Active' }
                @{ Name = 'prod-us'; Type = 'SalesforceProduction'; Status = 'Paused' }
                @{ Name = 'pro space'; Type = 'Private'; Status = 'Active' }
                @{ Name = 'sandbox-qa'; Type = 'SalesforceSandbox'; Status = 'Active' }
                @{ Name = 'crm-main'; Type = 'Dynamics365'; Status = 'Inactive' }
                @{ Name = 'peer-acme'; Type = 'Private'; Status = 'Pending' }
                @{ Name = 'old-peer'; Type = 'Private'; Status = 'Removed' }
            )
        }

        It 'lists every connection that is not removed' {
            ConvertTo-NameList (Get-Connection).Name |
                Should -Be (ConvertTo-NameList 'prod-eu', 'prod-us', 'pro space', 'sandbox-qa', 'crm-main', 'peer-acme')
        }

        It 'matches PowerShell wildcards in -Name' {
            ConvertTo-NameList (Get-Connection -Name 'prod*').Name | Should -Be (ConvertTo-NameList 'prod-eu', 'prod-us')
            ConvertTo-NameList (Get-Connection -Name '*-qa', 'crm?main').Name | Should -Be (ConvertTo-NameList 'sandbox-qa', 'crm-main')
        }

        It 'finds an exact name regardless of case and returns the name as stored' {
            (Get-Connection -Name 'PROD-EU').Name | Should -BeExactly 'prod-eu'
        }

        It 'filters by -Status and -Type' {
            ConvertTo-NameList (Get-Connection -Status Active).Name | Should -Be (ConvertTo-NameList 'prod-eu', 'pro space', 'sandbox-qa')
            ConvertTo-NameList (Get-Connection -Status 'Paused', 'Inactive').Name | Should -Be (ConvertTo-NameList 'prod-us', 'crm-main')
            ConvertTo-NameList (Get-Connection -Type 'SalesforceProduction', 'SalesforceSandbox').Name |
                Should -Be (ConvertTo-NameList 'prod-eu', 'prod-us', 'sandbox-qa')
            ConvertTo-NameList (Get-Connection -Name 'prod*' -Status Active).Name | Should -Be 'prod-eu'
        }

        It 'shows removed connections only when asked' {
            (Get-Connection).Name | Should -Not -Contain 'old-peer'
            (Get-Connection -IncludeRemoved).Name | Should -Contain 'old-peer'
            $removed = @(Get-Connection -Status Removed)
            ConvertTo-NameList $removed.Name | Should -Be 'old-peer'
            $removed[0].Status | Should -Be 'Removed'
        }

        It 'shows why a connection is inactive' {
            $inactive = Get-Connection -Name 'crm-main'
            $inactive.Status | Should -Be 'Inactive'
            $inactive.InactiveReason | Should -Be 'Expired'
        }

        It 'takes names from the pipeline, by value and by property name' {
            ConvertTo-NameList ('prod-eu', 'sandbox-qa' | Get-Connection).Name | Should -Be (ConvertTo-NameList 'prod-eu', 'sandbox-qa')
            ([pscustomobject]@{ Name = 'crm-main' } | Get-Connection).Name | Should -Be 'crm-main'
        }

        It 'reports an unknown name as not found and still lists the others' {
            $found = Get-Connection -Name 'prod-eu', 'no-such-connection', 'sandbox-qa' -ErrorAction SilentlyContinue -ErrorVariable notFound
            ConvertTo-NameList $found.Name | Should -Be (ConvertTo-NameList 'prod-eu', 'sandbox-qa')
            $notFound.Count | Should -Be 1
            $notFound[0].FullyQualifiedErrorId | Should -Be 'ConnectionTools.Connection.NotFound,ConnectionTools.PowerShell.Cmdlets.GetConnectionCommand'
            $notFound[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $notFound[0].TargetObject | Should -Be 'no-such-connection'
        }

        It 'treats a wildcard that matches nothing as an empty result, not an error' {
            @(Get-Connection -Name 'zzz*' -ErrorVariable listingErrors).Count | Should -Be 0
            $listingErrors.Count | Should -Be 0
        }

        It 'completes connection names with Tab, quoting a name that needs it' {
            $line = 'Get-Connection -Name pro'
            $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            $texts = @($completion.CompletionMatches | ForEach-Object { $_.CompletionText })
            ConvertTo-NameList $texts | Should -Be (ConvertTo-NameList "'pro space'", 'prod-eu', 'prod-us')
        }

        It 'completes names for the cmdlets that change connections too' {
            $line = 'Suspend-Connection -Name prod-'
            $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
            ConvertTo-NameList @($completion.CompletionMatches | ForEach-Object { $_.CompletionText }) |
                Should -Be (ConvertTo-NameList 'prod-eu', 'prod-us')
        }

        It 'shows connections as a table with a Status column' {
            # Headers may carry ANSI styling on PowerShell 7; strip it before matching.
            $text = (Get-Connection | Format-Table | Out-String -Width 250) -replace '\x1b\[[0-9;]*m', ''
            $text | Should -Match 'Status'
            $text | Should -Match 'Name\s+Type\s+Status\s+InactiveReason\s+Modified\s+Description'
        }

        It 'Get-ConnectionNode shows the store and counts its connections by status' {
            $node = Get-ConnectionNode
            $node.StoreSource | Should -Be 'Session'
            $node.StorePath | Should -Be ([System.IO.Path]::GetFullPath($storePath))
            $node.NodeId | Should -Not -Be ([guid]::Empty)
            $node.ConnectionCount | Should -Be 6
            $node.ActiveCount | Should -Be 3
            $node.PausedCount | Should -Be 1
            $node.InactiveCount | Should -Be 1
            $node.PendingCount | Should -Be 1
            $node.RemovedCount | Should -Be 1
            $node.Engine | Should -Be 'SQLite'
            $node.Server | Should -BeNullOrEmpty
            ((Get-ConnectionNode | Format-Table | Out-String -Width 250) -replace '\x1b\[[0-9;]*m', '') | Should -Match 'Source\s+Engine\s+Connections'
        }
    }

    Context 'Suspending and resuming' {
        BeforeAll {
            $storePath = New-SeededStore -Name 'lifecycle' -Connection @(
                @{ Name = 'batch-1'; Type = 'SalesforceProduction'; Status = 'Active' }
                @{ Name = 'batch-2'; Type = 'Dynamics365'; Status = 'Active' }
                @{ Name = 'bystander'; Type = 'Private'; Status = 'Active' }
                @{ Name = 'resume-1'; Type = 'SalesforceSandbox'; Status = 'Paused' }
                @{ Name = 'resume-2'; Type = 'Private'; Status = 'Paused' }
                @{ Name = 'already-paused'; Type = 'Private'; Status = 'Paused' }
                @{ Name = 'preview'; Type = 'Private'; Status = 'Active' }
                @{ Name = 'multi-a'; Type = 'Private'; Status = 'Active' }
                @{ Name = 'multi-b'; Type = 'Private'; Status = 'Active' }
                @{ Name = 'waiting'; Type = 'Private'; Status = 'Pending' }
                @{ Name = 'audited'; Type = 'SalesforceProduction'; Status = 'Active' }
                @{ Name = 'by-property'; Type = 'Private'; Status = 'Active' }
                @{ Name = 'by-id'; Type = 'Private'; Status = 'Paused' }
            )
        }

        It 'suspends the connections piped from Get-Connection and passes them on as Paused' {
            $result = @(Get-Connection -Name 'batch-*' | Suspend-Connection -PassThru)
            ConvertTo-NameList $result.Name | Should -Be (ConvertTo-NameList 'batch-1', 'batch-2')
            foreach ($connection in $result) {
                $connection.Status | Should -Be 'Paused'
            }
            ConvertTo-NameList (Get-Connection -Name 'batch-*' -Status Paused).Name | Should -Be (ConvertTo-NameList 'batch-1', 'batch-2')
            (Get-Connection -Name 'bystander').Status | Should -Be 'Active'
        }

        It 'resumes the paused connections piped from Get-Connection' {
            $result = @(Get-Connection -Name 'resume-*' | Resume-Connection -PassThru)
            ConvertTo-NameList $result.Name | Should -Be (ConvertTo-NameList 'resume-1', 'resume-2')
            foreach ($connection in @($result) + @(Get-Connection -Name 'resume-*')) {
                $connection.Status | Should -Be 'Active'
            }
        }

        It 'treats suspending a paused connection as done: no error, no change, a verbose message' {
            $before = Get-Connection -Name 'already-paused'
            $historyBefore = @(Get-ConnectionHistory -Name 'already-paused').Count
            $output = @(Suspend-Connection -Name 'already-paused' -Verbose -ErrorVariable suspendErrors 4>&1)

            $verbose = @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
            $verbose.Count | Should -Be 1
            $verbose[0].Message | Should -BeLike "*'already-paused'*already Paused*"
            @($output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).Count | Should -Be 0
            $suspendErrors.Count | Should -Be 0
            (Get-Connection -Name 'already-paused').Version | Should -Be $before.Version
            @(Get-ConnectionHistory -Name 'already-paused').Count | Should -Be $historyBefore
        }

        It 'changes nothing with -WhatIf' {
            $before = Get-Connection -Name 'preview'
            $historyBefore = @(Get-ConnectionHistory -Name 'preview').Count
            @(Suspend-Connection -Name 'preview' -PassThru -WhatIf).Count | Should -Be 0
            $after = Get-Connection -Name 'preview'
            $after.Status | Should -Be 'Active'
            $after.Version | Should -Be $before.Version
            @(Get-ConnectionHistory -Name 'preview').Count | Should -Be $historyBefore
        }

        It 'reports an unknown name among several once and still changes the others' {
            $result = @(Suspend-Connection -Name 'multi-a', 'no-such-connection', 'multi-b' -PassThru -ErrorAction SilentlyContinue -ErrorVariable suspendErrors)
            ConvertTo-NameList $result.Name | Should -Be (ConvertTo-NameList 'multi-a', 'multi-b')
            foreach ($connection in $result) {
                $connection.Status | Should -Be 'Paused'
            }
            $suspendErrors.Count | Should -Be 1
            $suspendErrors[0].FullyQualifiedErrorId | Should -Be 'ConnectionTools.Connection.NotFound,ConnectionTools.PowerShell.Cmdlets.SuspendConnectionCommand'
            $suspendErrors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $suspendErrors[0].TargetObject | Should -Be 'no-such-connection'
        }

        It 'refuses to resume a Pending connection, naming its status and the one that is allowed' {
            $err = { Resume-Connection -Name 'waiting' -ErrorAction Stop } |
                Should -Throw -ErrorId 'ConnectionTools.Connection.IllegalTransition,*' -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidOperation'
            $err.Exception.Message | Should -BeLike '*status is Pending*'
            $err.Exception.Message | Should -BeLike '*only when the status is Paused*'
            (Get-Connection -Name 'waiting').Status | Should -Be 'Pending'
        }

        It 'records who changed what, when, and the state before and after' {
            $start = [DateTimeOffset]::UtcNow.AddMinutes(-1)
            @(Suspend-Connection -Name 'audited').Count | Should -Be 0

            $history = @(Get-ConnectionHistory -Name 'audited')
            (@($history | ForEach-Object { $_.Action.ToString() }) -join ',') | Should -Be 'Create,Accept,Suspend'
            $last = $history[-1]
            $last.ConnectionName | Should -Be 'audited'
            $last.Summary | Should -Be 'Status: Active -> Paused'
            $last.Actor | Should -BeLike "*$([Environment]::UserName)"
            $last.At | Should -BeGreaterThan $start
            $last.Before.Status | Should -Be 'Active'
            $last.After.Status | Should -Be 'Paused'
        }

        It 'binds -Name and -Id from the properties of piped objects' {
            ([pscustomobject]@{ Name = 'by-property' } | Suspend-Connection -PassThru).Status | Should -Be 'Paused'

            $id = (Get-Connection -Name 'by-id').Id
            $resumed = [pscustomobject]@{ Id = $id } | Resume-Connection -PassThru
            $resumed.Name | Should -Be 'by-id'
            $resumed.Status | Should -Be 'Active'
        }
    }

    Context 'Renaming and describing' {
        BeforeAll {
            $storePath = New-SeededStore -Name 'editing' -Connection @(
                @{ Name = 'rename-me'; Type = 'SalesforceSandbox'; Status = 'Active' }
                @{ Name = 'describe-me'; Type = 'SalesforceProduction'; Status = 'Active' }
                @{ Name = 'first-name'; Type = 'Private'; Status = 'Active' }
                @{ Name = 'second-name'; Type = 'Private'; Status = 'Active' }
                @{ Name = 'stale-one'; Type = 'Dynamics365'; Status = 'Active' }
            )
        }

        It 'renames a connection and keeps its id and its history' {
            $before = Get-Connection -Name 'rename-me'
            $renamed = Set-Connection -Name 'rename-me' -NewName 'renamed' -PassThru
            $renamed.Name | Should -BeExactly 'renamed'
            $renamed.Id | Should -Be $before.Id
            $renamed.Version | Should -Be ($before.Version + 1)
            @(Get-Connection -Name 'rename-me' -ErrorAction SilentlyContinue).Count | Should -Be 0
            $history = @(Get-ConnectionHistory -Name 'renamed')
            $history[0].Action | Should -Be 'Create'
            $history[-1].Action | Should -Be 'Edit'
            $history[-1].Summary | Should -Be "Name: 'rename-me' -> 'renamed'"
        }

        It 'sets and clears the description' {
            (Set-Connection -Name 'describe-me' -Description 'EU production org' -PassThru).Description | Should -Be 'EU production org'
            (Get-Connection -Name 'describe-me').Description | Should -Be 'EU production org'
            (Set-Connection -Name 'describe-me' -Description '' -PassThru).Description | Should -Be ''
        }

        It 'refuses a new name that another connection has, whatever its case' {
            $err = { Set-Connection -Name 'first-name' -NewName 'SECOND-NAME' -ErrorAction Stop } |
                Should -Throw -ErrorId 'ConnectionTools.Connection.NameInUse,*' -PassThru
            $err.CategoryInfo.Category | Should -Be 'ResourceExists'
            (Get-Connection -Name 'first-name').Name | Should -BeExactly 'first-name'
        }

        It 'refuses a change made through an out-of-date object, and accepts a fresh one' {
            $stale = Get-Connection -Name 'stale-one'
            Set-Connection -Name 'stale-one' -Description 'changed by a colleague'

            { Set-Connection -InputObject $stale -Description 'my change' -ErrorAction Stop } |
                Should -Throw -ErrorId 'ConnectionTools.Connection.Conflict,*'
            (Get-Connection -Name 'stale-one').Description | Should -Be 'changed by a colleague'

            (Get-Connection -Name 'stale-one' | Set-Connection -Description 'my change' -PassThru).Description | Should -Be 'my change'
        }
    }

    Context 'Removing a connection' {
        BeforeAll {
            $storePath = New-SeededStore -Name 'removing' -Connection @(
                @{ Name = 'gone'; Type = 'SalesforceProduction'; Status = 'Active' }
                @{ Name = 'kept'; Type = 'SalesforceProduction'; Status = 'Active' }
                @{ Name = 'preview-remove'; Type = 'Private'; Status = 'Active' }
            )
            # Scripts must say -Confirm:$false: ConfirmImpact High asks by default.
            $removed = Remove-Connection -Name 'gone' -Confirm:$false -PassThru
        }

        It 'passes the removed connection on with status Removed' {
            $removed.Name | Should -Be 'gone'
            $removed.Status | Should -Be 'Removed'
            $removed.RemovedAt | Should -Not -BeNullOrEmpty
        }

        It 'no longer lists it, and reports its name as not found' {
            ConvertTo-NameList (Get-Connection).Name | Should -Be (ConvertTo-NameList 'kept', 'preview-remove')
            { Get-Connection -Name 'gone' -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Connection.NotFound,*'
        }

        It 'keeps it as a tombstone that -IncludeRemoved shows' {
            $tombstone = @(Get-Connection -IncludeRemoved | Where-Object { $_.Name -eq 'gone' })
            $tombstone.Count | Should -Be 1
            $tombstone[0].Id | Should -Be $removed.Id
            $tombstone[0].Status | Should -Be 'Removed'
        }

        It 'keeps its history' {
            $history = @(Get-ConnectionHistory -Name 'gone')
            (@($history | ForEach-Object { $_.Action.ToString() }) -join ',') | Should -Be 'Create,Accept,Remove'
            $history[-1].Summary | Should -Be 'Status: Active -> Removed'
        }

        It 'cannot bring it back' {
            { $removed | Resume-Connection -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Connection.IllegalTransition,*'
            @(Get-Connection).Name | Should -Not -Contain 'gone'
        }

        It 'changes nothing with -WhatIf' {
            @(Remove-Connection -Name 'preview-remove' -WhatIf -PassThru).Count | Should -Be 0
            (Get-Connection -Name 'preview-remove').Status | Should -Be 'Active'
        }
    }
}
