#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    What only a real PowerShell shows, against the built module (out/ConnectionTools): the default tables at
    80 columns, error records as a script sees them, Tab completion through TabExpansion2, the -WhatIf text,
    pipeline binding, parallel runspaces each on its own store, and a scheduled task's script run with
    pwsh -NonInteractive -File and its exit code.

    Where the host itself matters (the -WhatIf text goes to the host, not to a stream; exit codes; the error view),
    the test starts a fresh pwsh ($pwshPath from TestSession.ps1) and reads what it printed.

    Run it after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/Host.Tests.ps1 -Output Detailed
#>

Describe 'ConnectionTools in a real PowerShell host' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool

        function Remove-Ansi {
            param([AllowNull()] [string] $Text)
            if ($null -eq $Text) { return '' }
            $Text -replace '\x1b\[[0-9;?]*[A-Za-z]', ''
        }

        function Format-At80 {
            # What an 80-column console shows for these objects through their default view.
            param([Parameter(Mandatory, ValueFromPipeline)] [object] $InputObject)
            begin { $all = [System.Collections.Generic.List[object]]::new() }
            process { $all.Add($InputObject) }
            end { Remove-Ansi ($all | Out-String -Width 80) }
        }

        function Get-TableLine {
            # The header line of a table (the line above the dashes) and its rows.
            param([Parameter(Mandatory)] [string] $Text)
            $lines = @($Text -split '\r?\n')
            for ($i = 1; $i -lt $lines.Count; $i++) {
                if ($lines[$i] -match '^-+( +-+)*\s*$') {
                    return [pscustomobject]@{
                        Header = $lines[$i - 1]
                        Rows   = @($lines | Select-Object -Skip ($i + 1) | Where-Object { $_.Trim() -ne '' })
                    }
                }
            }
            throw "No table in:$([Environment]::NewLine)$Text"
        }

        function Get-ColumnText {
            # Every row's slice of the last column, joined without whitespace (wrapped cells are cut anywhere).
            param([Parameter(Mandatory)] [string] $Text, [Parameter(Mandatory)] [string] $Column)
            $table = Get-TableLine -Text $Text
            $start = $table.Header.IndexOf($Column, [StringComparison]::Ordinal)
            if ($start -lt 0) { throw "No column '$Column' in: $($table.Header)" }
            (($table.Rows | ForEach-Object { if ($_.Length -gt $start) { $_.Substring($start) } }) -join '') -replace '\s', ''
        }

        function ConvertTo-SingleQuoted {
            param([Parameter(Mandatory)] [string] $Value)
            "'" + $Value.Replace("'", "''") + "'"
        }

        function Invoke-FreshPwsh {
            # Runs a script with pwsh -NoProfile -NonInteractive -File, as a scheduled task does; returns its exit code
            # and what it printed (without ANSI styling).
            param(
                [Parameter(Mandatory)] [string] $Script,
                [hashtable] $Environment = @{},
                [int] $TimeoutSeconds = 180
            )
            $file = Join-Path $TestDrive ('script-{0}.ps1' -f [guid]::NewGuid().ToString('n'))
            Set-Content -LiteralPath $file -Value $Script -Encoding utf8
            $start = [System.Diagnostics.ProcessStartInfo]::new($pwshPath)
            foreach ($argument in '-NoProfile', '-NonInteractive', '-File', $file) { $start.ArgumentList.Add($argument) }
            $start.UseShellExecute = $false
            $start.RedirectStandardOutput = $true
            $start.RedirectStandardError = $true
            $start.WorkingDirectory = $repoRoot
            $start.Environment['NO_COLOR'] = '1'
            foreach ($key in $Environment.Keys) {
                if ($null -eq $Environment[$key]) { $null = $start.Environment.Remove($key) } else { $start.Environment[$key] = $Environment[$key] }
            }
            $process = [System.Diagnostics.Process]::Start($start)
            $standardOutput = $process.StandardOutput.ReadToEndAsync()
            $standardError = $process.StandardError.ReadToEndAsync()
            if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
                $process.Kill($true)
                throw "pwsh -File $file did not finish within $TimeoutSeconds seconds."
            }
            $process.WaitForExit()
            [pscustomobject]@{
                ExitCode = $process.ExitCode
                Output   = Remove-Ansi $standardOutput.Result
                Error    = Remove-Ansi $standardError.Result
            }
        }

        $importModule = "Import-Module -Name $(ConvertTo-SingleQuoted $manifestPath) -ErrorAction Stop"
    }

    AfterAll {
        Close-TestSession
    }

    Context 'Default tables at 80 columns' {
        BeforeAll {
            $storePath = New-SeededStore -Name 'views-at-eighty-columns' -Connection @(
                @{ Name = 'sf-prod'; Type = 'SalesforceProduction'; Status = 'Active' }
                @{ Name = 'crm-main'; Type = 'Dynamics365'; Status = 'Inactive' }
                @{ Name = 'partner'; Type = 'Private'; Status = 'Paused' }
            )
        }

        It 'Get-ConnectionNode keeps the store source, the engine, the counts by status and the whole store path' {
            $text = Get-ConnectionNode | Format-At80
            $table = Get-TableLine -Text $text
            $table.Header | Should -Match '^Source\s+Engine\s+Connections\s+Active\s+Paused\s+Inactive\s+Pending\s+StorePath'
            $table.Rows[0] | Should -Match '^Session\s+SQLite\s+3\s+1\s+1\s+1\s+0\s'
            Get-ColumnText -Text $text -Column 'StorePath' | Should -Be ($storePath -replace '\s', '')
            @($text -split '\r?\n' | Where-Object { $_.Length -gt 80 }) | Should -BeNullOrEmpty
        }

        It 'Get-Connection keeps name, type, status and reason' {
            $table = Get-TableLine -Text (Get-Connection | Format-At80)
            $table.Header | Should -Match '^Name\s+Type\s+Status\s+InactiveReason\b'
            $table.Rows -match '^crm-main\s+Dynamics365\s+Inactive\s+Expired' | Should -Not -BeNullOrEmpty
            $table.Rows -match '^partner\s+Private\s+Paused' | Should -Not -BeNullOrEmpty
        }

        It 'Test-ConnectionAuthorization keeps status, reason and the message that names the fix' {
            # Seeded system connections have no grant: each result says so and names the command that fixes it.
            $results = @(Test-ConnectionAuthorization -ErrorAction SilentlyContinue)
            $results.Count | Should -Be 2
            $text = $results | Format-At80
            $table = Get-TableLine -Text $text
            $table.Header | Should -Match '^Name\s+Status\s+InactiveReason\s+Message'
            $table.Rows -match '^crm-main\s+Inactive\s+Expired\s+\S' | Should -Not -BeNullOrEmpty
            $table.Rows -match '^sf-prod\s+Active\s+\S' | Should -Not -BeNullOrEmpty
            Get-ColumnText -Text $text -Column 'Message' | Should -BeLike "*Update-ConnectionAuthorization-Name'crm-main'*"
        }

        It 'the details a table leaves out are in the list view' {
            $text = Get-ConnectionNode | Format-List | Out-String -Width 80
            $text | Should -Match 'NodeId\s+:'
            $text | Should -Match 'PublicUrl\s+:'
            $text = Test-ConnectionAuthorization -Name crm-main -ErrorAction SilentlyContinue | Format-List | Out-String -Width 80
            $text | Should -Match 'Type\s+: Dynamics365'
            $text | Should -Match 'Result\s+:'
            $text | Should -Match 'StatusBefore\s+:'
        }

        It 'the <TypeName> table keeps <Columns> at 80 columns' -TestCases @(
            @{ TypeName = 'ConnectionTools.Connections.Connection'; Columns = 'Name', 'Type', 'Status', 'InactiveReason' }
            @{ TypeName = 'ConnectionTools.Authorization.AuthorizationResult'; Columns = 'Name', 'Status', 'InactiveReason', 'Message' }
            @{ TypeName = 'ConnectionTools.Connections.AuditEntry'; Columns = 'At', 'Connection', 'Action', 'Actor', 'Summary' }
            @{ TypeName = 'ConnectionTools.Nodes.NodeInfo'; Columns = 'Source', 'Engine', 'Connections', 'Active', 'Paused', 'Inactive', 'Pending', 'StorePath' }
            @{ TypeName = 'ConnectionTools.Invitations.PrivateConnectionInvitation'; Columns = 'Name', 'Status', 'Mode', 'Expires', 'InvitationCode' }
            @{ TypeName = 'ConnectionTools.SyncRules.SyncRule'; Columns = 'Connection', 'Direction', 'Entity', 'Editable', 'Script' }
            @{ TypeName = 'ConnectionTools.SyncRules.SyncRuleTestResult'; Columns = 'Connection', 'Direction', 'Output' }
            @{ TypeName = 'ConnectionTools.Configuration.ConnectionTestResult'; Columns = 'Name', 'InDesiredState', 'Status', 'Planned', 'Differs' }
            @{ TypeName = 'ConnectionTools.Configuration.ConnectionApplyResult'; Columns = 'Name', 'Action', 'Outcome', 'Before', 'After', 'Error' }
            @{ TypeName = 'ConnectionTools.Jobs.JobRun'; Columns = 'ConnectionName', 'Status', 'StartedAt', 'Duration', 'Records', 'ErrorId' }
            @{ TypeName = 'ConnectionTools.Jobs.ConnectionJob'; Columns = 'ConnectionName', 'State', 'Interval', 'NextRunAt', 'LastRunStatus' }
            @{ TypeName = 'ConnectionTools.Sync.SyncEvent'; Columns = 'Connection', 'Direction', 'CaseId', 'Seq', 'Status', 'TraceId' }
            @{ TypeName = 'ConnectionTools.Sync.SyncError'; Columns = 'TraceId', 'CaseId', 'Error' }
            @{ TypeName = 'ConnectionTools.Sync.SyncCheckResult'; Columns = 'Name', 'Ready', 'System', 'Message' }
            @{ TypeName = 'ConnectionTools.Authorization.Entra.DiscoveredEnvironment'; Columns = 'FriendlyName', 'Region', 'Version', 'Url' }
            @{ TypeName = 'ConnectionTools.NodeHosting.NodeHostProcess'; Columns = 'ProcessId', 'Mode', 'Running', 'Url', 'StorePath' }
            @{ TypeName = 'ConnectionTools.NodeHosting.NodeServiceDefinition'; Columns = 'Name', 'Platform', 'Account', 'Path' }
            @{ TypeName = 'ConnectionTools.Storage.StoreCopyResult'; Columns = 'From', 'To', 'Tables', 'Rows', 'Seconds', 'Destination' }
            @{ TypeName = 'ConnectionTools.Storage.StoreCopyTable'; Columns = 'Table', 'Rows', 'Checksum' }
        ) {
            # Which columns a table keeps depends only on the view's widths, so a stand-in with the type name shows it.
            $standIn = [pscustomobject]@{ Name = 'stand-in' }
            $standIn.PSTypeNames.Insert(0, $TypeName)
            # Format-Table: an invitation's default view is not a table (its code goes on a line of its own).
            $header = (Get-TableLine -Text ($standIn | Format-Table | Format-At80)).Header
            $header | Should -Match ('^' + (($Columns | ForEach-Object { [regex]::Escape($_) }) -join '\s+') + '\b')
        }

        It 'every table view in the format file is among the cases above' {
            # A new output type gets its 80-column check too.
            $format = [xml](Get-Content -LiteralPath (Join-Path $moduleFolder 'ConnectionTools.format.ps1xml') -Raw)
            $tableTypes = @($format.Configuration.ViewDefinitions.View | Where-Object { $_.TableControl } | ForEach-Object { $_.ViewSelectedBy.TypeName }) | Sort-Object
            $tableTypes -join ', ' | Should -Be ((@(
                        'ConnectionTools.Connections.Connection', 'ConnectionTools.Authorization.AuthorizationResult', 'ConnectionTools.Connections.AuditEntry',
                        'ConnectionTools.Nodes.NodeInfo', 'ConnectionTools.Invitations.PrivateConnectionInvitation', 'ConnectionTools.SyncRules.SyncRule',
                        'ConnectionTools.SyncRules.SyncRuleTestResult',
                        'ConnectionTools.Configuration.ConnectionTestResult', 'ConnectionTools.Configuration.ConnectionApplyResult',
                        'ConnectionTools.Jobs.JobRun', 'ConnectionTools.Jobs.ConnectionJob',
                        'ConnectionTools.Sync.SyncEvent', 'ConnectionTools.Sync.SyncError', 'ConnectionTools.Sync.SyncCheckResult',
                        'ConnectionTools.Authorization.Entra.DiscoveredEnvironment',
                        'ConnectionTools.NodeHosting.NodeHostProcess', 'ConnectionTools.NodeHosting.NodeServiceDefinition',
                        'ConnectionTools.Storage.StoreCopyResult', 'ConnectionTools.Storage.StoreCopyTable'
                    ) | Sort-Object) -join ', ')
        }
    }

    Context 'Error records' {
        BeforeAll {
            $storePath = New-SeededStore -Name 'errors' -Connection @(
                @{ Name = 'err-pending'; Type = 'Private'; Status = 'Pending' }
                @{ Name = 'err-active'; Type = 'Private'; Status = 'Active' }
            )
        }

        It 'a missing connection: ObjectNotFound, the name as target, and what to do' {
            Suspend-Connection -Name 'no-such' -ErrorAction SilentlyContinue -ErrorVariable failures
            $failures.Count | Should -Be 1
            $record = $failures[0]
            $record.FullyQualifiedErrorId | Should -Be 'ConnectionTools.Connection.NotFound,ConnectionTools.PowerShell.Cmdlets.SuspendConnectionCommand'
            $record.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $record.CategoryInfo.Activity | Should -Be 'Suspend-Connection'
            $record.CategoryInfo.TargetName | Should -Be 'no-such'
            $record.TargetObject | Should -Be 'no-such'
            $record.ErrorDetails.RecommendedAction | Should -BeLike '*Get-Connection*'
        }

        It 'an illegal status change: InvalidOperation, and the recommended action names what is allowed' {
            Resume-Connection -Name 'err-pending' -ErrorAction SilentlyContinue -ErrorVariable failures
            $record = $failures[0]
            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Connection.IllegalTransition,*'
            $record.CategoryInfo.Category | Should -Be 'InvalidOperation'
            $record.TargetObject | Should -Be 'err-pending'
            $record.ErrorDetails.Message | Should -BeLike "*'err-pending'*Pending*"
            $record.ErrorDetails.RecommendedAction | Should -BeLike '*Approve-ConnectionInvitation*'
        }

        It 'a bad store path terminates, with InvalidArgument and the path as target, and the session uses no other store' {
            $folder = Join-Path $TestDrive 'a-folder'
            $null = New-Item -ItemType Directory -Path $folder -Force
            $record = $null
            try { Connect-ConnectionNode -Create -StorePath $folder -ErrorAction SilentlyContinue } catch { $record = $_ }
            $record | Should -Not -BeNullOrEmpty -Because 'a store path that is a directory is a terminating error, even with -ErrorAction SilentlyContinue'
            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.PathIsDirectory,*'
            $record.CategoryInfo.Category | Should -Be 'InvalidArgument'
            "$($record.TargetObject)" | Should -BeLike "*a-folder*"
            { Get-ConnectionNode } | Should -Throw -ErrorId 'ConnectionTools.Store.NotConnected,*' -Because 'after a failed connect the session uses no other store'
            $null = Connect-ConnectionNode -Create -StorePath $storePath
            (Get-ConnectionNode).StorePath | Should -Be ([System.IO.Path]::GetFullPath($storePath))
        }

        It 'a per-item failure is non-terminating: the other items are still processed' {
            $out = @('no-such', 'err-active' | Suspend-Connection -PassThru -ErrorAction SilentlyContinue -ErrorVariable failures)
            $failures.Count | Should -Be 1
            $out.Name | Should -Be 'err-active'
            $out.Status | Should -Be 'Paused'
            $null = Resume-Connection -Name 'err-active'
        }

        It 'the error view of a fresh pwsh shows the message and the recommendation' {
            $run = Invoke-FreshPwsh -Script @"
$importModule
`$null = Connect-ConnectionNode -Create -StorePath $(ConvertTo-SingleQuoted $storePath)
Suspend-Connection -Name no-such
"@
            $run.Error | Should -Match "No connection 'no-such'"
            $run.Error | Should -Match 'Recommendation: .*Get-Connection'
        }
    }

    Context 'Tab completion through TabExpansion2' {
        BeforeAll {
            $storePath = New-SeededStore -Name 'completion' -Connection @(
                @{ Name = 'prod-eu'; Type = 'SalesforceProduction'; Status = 'Active' }
                @{ Name = 'prod-us'; Type = 'SalesforceProduction'; Status = 'Paused' }
                @{ Name = 'qa one'; Type = 'Private'; Status = 'Active' }
            )
            $otherStore = Join-Path $TestDrive 'completion-other.db'
            Add-SeededConnection -StorePath $otherStore -Name 'elsewhere' -Type Private -Status Active

            function Get-Completion {
                param([Parameter(Mandatory)] [string] $Line)
                @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches | ForEach-Object { $_.CompletionText })
            }
        }

        It 'completes -Name of <Line> from the session store' -TestCases @(
            @{ Line = 'Get-Connection -Name prod'; Expected = 'prod-eu', 'prod-us' }
            @{ Line = 'Suspend-Connection prod-e'; Expected = , 'prod-eu' }
            @{ Line = 'Remove-Connection -Name q'; Expected = , "'qa one'" }
            @{ Line = 'Get-ConnectionHistory -Name prod-u'; Expected = , 'prod-us' }
        ) {
            (Get-Completion -Line $Line) -join ', ' | Should -Be ($Expected -join ', ')
        }

        It 'completes enum values of -Status and -Type' {
            Get-Completion -Line 'Get-Connection -Status Ina' | Should -Be 'Inactive'
            (Get-Completion -Line 'Get-Connection -Type Salesforce') -join ', ' | Should -Be 'SalesforceProduction, SalesforceSandbox'
        }

        It 'follows Connect-ConnectionNode: the names come from the store the session uses now' {
            $null = Connect-ConnectionNode -Create -StorePath $otherStore
            try {
                Get-Completion -Line 'Get-Connection -Name e' | Should -Be 'elsewhere'
                Get-Completion -Line 'Get-Connection -Name prod' | Should -BeNullOrEmpty
            }
            finally {
                $null = Connect-ConnectionNode -Create -StorePath $storePath
            }
        }
    }

    Context '-WhatIf in a fresh pwsh' {
        BeforeAll {
            $storePath = Join-Path $TestDrive 'whatif.db'
            Add-SeededConnection -StorePath $storePath -Name 'prod-eu' -Type SalesforceProduction -Status Active
            Add-SeededConnection -StorePath $storePath -Name 'prod-us' -Type SalesforceProduction -Status Active
            $run = Invoke-FreshPwsh -Script @"
$importModule
`$null = Connect-ConnectionNode -Create -StorePath $(ConvertTo-SingleQuoted $storePath)
Get-Connection -Name 'prod*' | Suspend-Connection -WhatIf
Remove-Connection -Name prod-eu -WhatIf
Set-Connection -Name prod-us -NewName prod-usa -WhatIf
Get-Connection | ForEach-Object { "STATUS `$(`$_.Name) `$(`$_.Status)" }
"@
            $whatIf = @($run.Output -split '\r?\n' | Where-Object { $_ -like 'What if:*' })
        }

        It 'prints one "What if:" line per connection and change, naming the operation and the connection' {
            $run.Error | Should -BeNullOrEmpty
            $whatIf | Should -Be @(
                'What if: Performing the operation "Suspend (Active -> Paused)" on target "Connection ''prod-eu'' (SalesforceProduction, Active)".'
                'What if: Performing the operation "Suspend (Active -> Paused)" on target "Connection ''prod-us'' (SalesforceProduction, Active)".'
                'What if: Performing the operation "Remove (Active -> Removed)" on target "Connection ''prod-eu'' (SalesforceProduction, Active)".'
                'What if: Performing the operation "Set: Name: ''prod-us'' -> ''prod-usa''" on target "Connection ''prod-us'' (SalesforceProduction, Active)".'
            )
        }

        It 'changes nothing' {
            $run.Output | Should -Match 'STATUS prod-eu Active'
            $run.Output | Should -Match 'STATUS prod-us Active'
            $null = Connect-ConnectionNode -Create -StorePath $storePath
            @(Get-ConnectionHistory -Name prod-eu, prod-us | Where-Object { $_.Actor -ne 'seed' }) | Should -BeNullOrEmpty
        }
    }

    Context 'Pipeline binding' {
        BeforeAll {
            $storePath = New-SeededStore -Name 'pipeline' -Connection @(
                @{ Name = 'pipe-a'; Type = 'Private'; Status = 'Active' }
                @{ Name = 'pipe-b'; Type = 'Dynamics365'; Status = 'Active' }
            )
        }

        It 'binds names by value' {
            $out = @('pipe-a', 'pipe-b' | Suspend-Connection -PassThru)
            $out.Name -join ', ' | Should -Be 'pipe-a, pipe-b'
            $out.Status -join ', ' | Should -Be 'Paused, Paused'
        }

        It 'binds -Name by property name, from a CSV file' {
            $csv = Join-Path $TestDrive 'names.csv'
            "Name,Note`npipe-a,first`npipe-b,second" | Set-Content -LiteralPath $csv
            $out = @(Import-Csv -LiteralPath $csv | Resume-Connection -PassThru)
            $out.Name -join ', ' | Should -Be 'pipe-a, pipe-b'
            $out.Status -join ', ' | Should -Be 'Active, Active'
        }

        It 'binds -Id by property name' {
            $id = (Get-Connection -Name pipe-b).Id
            $out = [pscustomobject]@{ Id = $id } | Suspend-Connection -PassThru
            $out.Name | Should -Be 'pipe-b'
            $out.Status | Should -Be 'Paused'
        }

        It 'binds Get-Connection output by value (-InputObject)' {
            $out = @(Get-Connection -Name 'pipe-*' -Status Paused | Resume-Connection -PassThru)
            $out.Name | Should -Be 'pipe-b'
            $out.Status | Should -Be 'Active'
        }

        It 'binds the Name of another cmdlet''s output by property name (Get-Connection | Get-ConnectionHistory)' {
            $entries = @(Get-Connection -Name pipe-a | Get-ConnectionHistory)
            $entries.Count | Should -BeGreaterThan 2
            @($entries.ConnectionName | Sort-Object -Unique) | Should -Be 'pipe-a'
        }
    }

    Context 'Parallel runspaces, each on its own store' {
        BeforeAll {
            $parallelStores = foreach ($n in 1..3) {
                $path = Join-Path $TestDrive "parallel-$n.db"
                Add-SeededConnection -StorePath $path -Name "only-in-$n" -Type Private -Status Active
                $path
            }
            $environmentStore = $env:CONNECTIONTOOLS_STORE
            Add-SeededConnection -StorePath $environmentStore -Name 'only-in-environment' -Type Private -Status Active
            $sessionStore = New-SeededStore -Name 'parallel-session' -Connection @(@{ Name = 'only-in-session'; Type = 'Private'; Status = 'Active' })

            $work = {
                param($n, $manifest, $stores)
                Import-Module -Name $manifest -ErrorAction Stop
                $start = Get-ConnectionNode
                $startNames = @(Get-Connection).Name
                $null = Connect-ConnectionNode -Create -StorePath $stores[$n - 1]
                $suspended = Suspend-Connection -Name "only-in-$n" -PassThru
                [pscustomobject]@{
                    N           = $n
                    StartSource = "$($start.StoreSource)"
                    StartPath   = $start.StorePath
                    StartNames  = $startNames -join ', '
                    Path        = (Get-ConnectionNode).StorePath
                    Names       = @(Get-Connection).Name -join ', '
                    Suspended   = "$($suspended.Status)"
                }
            }
        }

        AfterEach {
            # Back to Active, for the next test.
            foreach ($n in 1..3) {
                $null = Connect-ConnectionNode -Create -StorePath $parallelStores[$n - 1]
                $null = Get-Connection -Status Paused | Resume-Connection
            }
            $null = Connect-ConnectionNode -Create -StorePath $sessionStore
        }

        It 'ForEach-Object -Parallel: each runspace starts from CONNECTIONTOOLS_STORE and connects to its own store' {
            $manifest = $manifestPath
            $stores = $parallelStores
            $workText = $work.ToString()
            $results = @(1..3 | ForEach-Object -ThrottleLimit 3 -Parallel {
                    & ([scriptblock]::Create($using:workText)) $_ $using:manifest $using:stores
                } | Sort-Object N)
            $results.Count | Should -Be 3
            foreach ($result in $results) {
                $result.StartSource | Should -Be 'Environment'
                $result.StartPath | Should -Be ([System.IO.Path]::GetFullPath($environmentStore))
                $result.StartNames | Should -Be 'only-in-environment'
                $result.Path | Should -Be ([System.IO.Path]::GetFullPath($parallelStores[$result.N - 1]))
                $result.Names | Should -Be "only-in-$($result.N)"
                $result.Suspended | Should -Be 'Paused'
            }
            (Get-ConnectionNode).StorePath | Should -Be ([System.IO.Path]::GetFullPath($sessionStore)) -Because 'the runspaces did not move this session'
            foreach ($n in 1..3) {
                $null = Connect-ConnectionNode -Create -StorePath $parallelStores[$n - 1]
                (Get-Connection).Status | Should -Be 'Paused'
            }
        }

        It 'Start-ThreadJob: each job starts from CONNECTIONTOOLS_STORE and connects to its own store' {
            $jobs = foreach ($n in 1..3) {
                Start-ThreadJob -ScriptBlock $work -ArgumentList $n, $manifestPath, $parallelStores
            }
            $results = @($jobs | Receive-Job -Wait -AutoRemoveJob -ErrorAction Stop | Sort-Object N)
            $results.Count | Should -Be 3
            foreach ($result in $results) {
                $result.StartSource | Should -Be 'Environment'
                $result.StartNames | Should -Be 'only-in-environment'
                $result.Path | Should -Be ([System.IO.Path]::GetFullPath($parallelStores[$result.N - 1]))
                $result.Names | Should -Be "only-in-$($result.N)"
                $result.Suspended | Should -Be 'Paused'
            }
            (Get-ConnectionNode).StorePath | Should -Be ([System.IO.Path]::GetFullPath($sessionStore))
        }
    }

    Context 'A scheduled task''s script: pwsh -NonInteractive -File with $ErrorActionPreference = ''Stop''' {
        BeforeAll {
            function New-TaskStore {
                # A store with a public URL and one public-side private connection made by hand.
                param([Parameter(Mandatory)] [string] $Name)
                $path = Join-Path $TestDrive "$Name.db"
                $null = Connect-ConnectionNode -Create -StorePath $path
                $null = Set-ConnectionNode -PublicUrl 'http://127.0.0.1:5999/'
                $null = New-PrivateConnection -Name 'task-b' -LocalInstanceName 'contoso-public'
                $path
            }

            function New-TaskScript {
                param([Parameter(Mandatory)] [string] $StorePath, [Parameter(Mandatory)] [string] $Configuration, [Parameter(Mandatory)] [string] $Csv)
                @"
$importModule
`$ErrorActionPreference = 'Stop'
`$null = Connect-ConnectionNode -Create -StorePath $(ConvertTo-SingleQuoted $StorePath)
Invoke-ConnectionConfiguration -Path $(ConvertTo-SingleQuoted $Configuration) |
    Select-Object Name, Action, Outcome, StatusAfter, ErrorId |
    Export-Csv -Path $(ConvertTo-SingleQuoted $Csv) -NoTypeInformation
'finished'
"@
            }

            function New-TaskConfiguration {
                param([Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [string] $InstanceNameOfB)
                $path = Join-Path $TestDrive "$Name.yaml"
                @"
apiVersion: connectiontools/v1
connections:
  - name: task-a
    type: Private
    side: Public
    localInstanceName: contoso-public
  - name: task-b
    type: Private
    side: Public
    localInstanceName: $InstanceNameOfB
  - name: task-c
    type: Private
    side: Public
    localInstanceName: contoso-public
"@ | Set-Content -LiteralPath $path
                $path
            }
        }

        It 'exits with 0 when every connection works' {
            $store = New-TaskStore -Name 'task-works'
            $csv = Join-Path $TestDrive 'task-works.csv'
            $run = Invoke-FreshPwsh -Script (New-TaskScript -StorePath $store -Configuration (New-TaskConfiguration -Name 'task-works' -InstanceNameOfB 'contoso-public') -Csv $csv)
            $run.ExitCode | Should -Be 0 -Because $run.Error
            $run.Output | Should -Match 'finished'
            $rows = @(Import-Csv -LiteralPath $csv)
            ($rows | ForEach-Object { "$($_.Name)=$($_.Outcome)" }) -join ', ' | Should -Be 'task-a=Applied, task-b=Unchanged, task-c=Applied'
        }

        It 'exits with 1 when one connection fails, after every other connection was processed' {
            $store = New-TaskStore -Name 'task-fails'
            $csv = Join-Path $TestDrive 'task-fails.csv'
            # task-b exists with another local instance name, which no command can change: refused for task-b only.
            $run = Invoke-FreshPwsh -Script (New-TaskScript -StorePath $store -Configuration (New-TaskConfiguration -Name 'task-fails' -InstanceNameOfB 'other-name') -Csv $csv)
            $run.ExitCode | Should -Be 1
            $run.Output | Should -Not -Match 'finished' -Because 'the error stops the script'
            $run.Error | Should -Match 'task-b'
            $null = Connect-ConnectionNode -Create -StorePath $store
            (Get-Connection -Name 'task-*').Name -join ', ' | Should -Be 'task-a, task-b, task-c'
            $rows = @(Import-Csv -LiteralPath $csv)
            ($rows | ForEach-Object { "$($_.Name)=$($_.Outcome)" }) -join ', ' | Should -Be 'task-a=Applied, task-b=Failed, task-c=Applied'
        }
    }
}
