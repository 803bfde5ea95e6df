#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Retrieval jobs (Get-ConnectionJob, Start-ConnectionJob, Set-Connection -RetrievalInterval) from the
    built module in out/ConnectionTools, without any network: empty stores, names that match nothing,
    the -Schedule parameter set, the refusals that come before any request with their error ids, and
    -WhatIf. Nothing here may reach a provider: every Start-ConnectionJob call either is refused before
    it asks ShouldProcess (a private connection) or runs with -WhatIf.

    Connections are seeded with tests/ConnectionTools.TestProcess ("seed <store> <name> <type> <status>"),
    as in ConnectionTools.Tests.ps1. A seeded system connection has no grant and no job row, so it can be
    named but its job never runs.

    Run it with ./build.ps1 -Task Test (in a fresh pwsh process), or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/Jobs.Tests.ps1 -Output Detailed
#>

Describe 'Retrieval jobs' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool
    }

    AfterAll {
        Close-TestSession
    }

    Context 'Parameters' {
        It 'imports without warnings and exports the job cmdlets' {
            (@($importWarnings) | Where-Object { $null -ne $_ } | ForEach-Object { $_.Message }) -join '; ' | Should -BeNullOrEmpty
            $module.ExportedCmdlets.Keys | Should -Contain 'Get-ConnectionJob'
            $module.ExportedCmdlets.Keys | Should -Contain 'Start-ConnectionJob'
        }

        It 'Get-ConnectionJob lists runs by default and schedules with the mandatory -Schedule switch' {
            $command = Get-Command -Name Get-ConnectionJob
            $command.DefaultParameterSet | Should -Be 'History'
            ($command.ParameterSets.Name | Sort-Object) -join ', ' | Should -Be 'History, Schedule'

            $schedule = $command.ParameterSets | Where-Object Name -eq 'Schedule'
            ($schedule.Parameters | Where-Object Name -eq 'Schedule').IsMandatory | Should -BeTrue
            $schedule.Parameters.Name | Should -Not -Contain 'Status'
            $schedule.Parameters.Name | Should -Not -Contain 'Last'

            $history = $command.ParameterSets | Where-Object Name -eq 'History'
            $history.Parameters.Name | Should -Contain 'Status'
            $history.Parameters.Name | Should -Contain 'Last'
            $history.Parameters.Name | Should -Not -Contain 'Schedule'
        }

        It 'Get-ConnectionJob -Connection takes names by position and by property name, through its aliases too' {
            $connection = (Get-Command -Name Get-ConnectionJob).Parameters['Connection']
            ($connection.Aliases | Sort-Object) -join ', ' | Should -Be 'ConnectionName, Name'
            foreach ($attribute in $connection.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }) {
                $attribute.Position | Should -Be 0
                $attribute.ValueFromPipelineByPropertyName | Should -BeTrue
                $attribute.ValueFromPipeline | Should -BeFalse
            }
        }

        It 'Get-ConnectionJob declares runs for History and schedules for Schedule' {
            $outputs = (Get-Command -Name Get-ConnectionJob).OutputType.Name
            $outputs | Should -Contain 'ConnectionTools.Jobs.JobRun'
            $outputs | Should -Contain 'ConnectionTools.Jobs.ConnectionJob'
        }

        It 'refuses -Schedule together with a History parameter' {
            $null = New-SeededStore -Name 'parameter-sets'
            { Get-ConnectionJob -Schedule -Last 1 -ErrorAction Stop } | Should -Throw -ErrorId 'AmbiguousParameterSet,*'
        }

        It 'Start-ConnectionJob supports -WhatIf and -Confirm' {
            $parameters = (Get-Command -Name Start-ConnectionJob).Parameters
            $parameters.ContainsKey('WhatIf') | Should -BeTrue
            $parameters.ContainsKey('Confirm') | Should -BeTrue
        }
    }

    Context 'An empty store' {
        BeforeAll {
            $null = New-SeededStore -Name 'empty'
        }

        It 'Get-ConnectionJob returns nothing and no error' {
            @(Get-ConnectionJob -ErrorVariable listingErrors).Count | Should -Be 0
            $listingErrors.Count | Should -Be 0
        }

        It 'Get-ConnectionJob -Schedule returns nothing and no error' {
            @(Get-ConnectionJob -Schedule -ErrorVariable scheduleErrors).Count | Should -Be 0
            $scheduleErrors.Count | Should -Be 0
        }
    }

    Context 'Finding connections' {
        BeforeAll {
            $null = New-SeededStore -Name 'finding' -Connection @(
                @{ Name = 'sf-live'; Type = 'SalesforceProduction'; Status = 'Active' }
                @{ Name = 'sf-gone'; Type = 'SalesforceSandbox'; Status = 'Removed' }
                @{ Name = 'peer-only'; Type = 'Private'; Status = 'Active' }
            )
        }

        It 'reports a name that matches nothing as ConnectionTools.Connection.NotFound' {
            $found = @(Get-ConnectionJob -Connection 'nosuch' -ErrorAction SilentlyContinue -ErrorVariable notFound)
            $found.Count | Should -Be 0
            $notFound.Count | Should -Be 1
            $notFound[0].FullyQualifiedErrorId | Should -Be 'ConnectionTools.Connection.NotFound,ConnectionTools.PowerShell.Cmdlets.GetConnectionJobCommand'
            $notFound[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $notFound[0].TargetObject | Should -Be 'nosuch'
        }

        It 'treats a wildcard that matches nothing as an empty result, not an error' {
            @(Get-ConnectionJob -Connection 'zzz*' -ErrorVariable wildcardErrors).Count | Should -Be 0
            $wildcardErrors.Count | Should -Be 0
        }

        It 'finds a removed connection by the name it had' {
            @(Get-ConnectionJob -Connection 'sf-gone' -ErrorVariable removedErrors).Count | Should -Be 0
            $removedErrors.Count | Should -Be 0
        }

        It 'does not find a private connection, which has no retrieval job' {
            $null = Get-ConnectionJob -Connection 'peer-only' -ErrorAction SilentlyContinue -ErrorVariable privateErrors
            $privateErrors.Count | Should -Be 1
            $privateErrors[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Connection.NotFound,*'
        }

        It 'binds -Connection from a ConnectionName property in the pipeline' {
            $null = [pscustomobject]@{ ConnectionName = 'nosuch-piped' } |
                Get-ConnectionJob -ErrorAction SilentlyContinue -ErrorVariable pipedErrors
            $pipedErrors.Count | Should -Be 1
            $pipedErrors[0].TargetObject | Should -Be 'nosuch-piped'
        }
    }

    Context 'Private connections have no retrieval job' {
        BeforeAll {
            $null = New-SeededStore -Name 'private' -Connection @(
                @{ Name = 'peer-a'; Type = 'Private'; Status = 'Active' }
            )
        }

        It 'Start-ConnectionJob fails with ConnectionTools.Job.NotFound and writes no run' {
            $runs = @(Start-ConnectionJob -Name 'peer-a' -ErrorAction SilentlyContinue -ErrorVariable startErrors)
            $runs.Count | Should -Be 0
            $startErrors.Count | Should -Be 1
            $startErrors[0].FullyQualifiedErrorId | Should -Be 'ConnectionTools.Job.NotFound,ConnectionTools.PowerShell.Cmdlets.StartConnectionJobCommand'
            $startErrors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $startErrors[0].TargetObject | Should -Be 'peer-a'
        }

        It 'Set-Connection -RetrievalInterval fails with ConnectionTools.Connection.IntervalNotOffered and changes nothing' {
            $before = Get-Connection -Name 'peer-a'
            $historyBefore = @(Get-ConnectionHistory -Name 'peer-a').Count

            $result = @(Set-Connection -Name 'peer-a' -RetrievalInterval (New-TimeSpan -Minutes 15) -PassThru -ErrorAction SilentlyContinue -ErrorVariable setErrors)

            $result.Count | Should -Be 0
            $setErrors.Count | Should -Be 1
            $setErrors[0].FullyQualifiedErrorId | Should -Be 'ConnectionTools.Connection.IntervalNotOffered,ConnectionTools.PowerShell.Cmdlets.SetConnectionCommand'
            $setErrors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $after = Get-Connection -Name 'peer-a'
            $after.Version | Should -Be $before.Version
            $after.RetrievalInterval | Should -BeNullOrEmpty
            @(Get-ConnectionHistory -Name 'peer-a').Count | Should -Be $historyBefore
        }
    }

    Context 'Start-ConnectionJob -WhatIf' {
        BeforeAll {
            $null = New-SeededStore -Name 'whatif' -Connection @(
                @{ Name = 'sf-preview'; Type = 'SalesforceProduction'; Status = 'Active' }
            )
        }

        It 'runs nothing, writes nothing and reports no error' {
            $before = Get-Connection -Name 'sf-preview'
            $historyBefore = @(Get-ConnectionHistory -Name 'sf-preview').Count

            $runs = @(Start-ConnectionJob -Name 'sf-preview' -WhatIf -ErrorVariable whatIfErrors)

            $runs.Count | Should -Be 0
            $whatIfErrors.Count | Should -Be 0
            @(Get-ConnectionJob -Connection 'sf-preview').Count | Should -Be 0
            $after = Get-Connection -Name 'sf-preview'
            $after.Status | Should -Be 'Active'
            $after.Version | Should -Be $before.Version
            @(Get-ConnectionHistory -Name 'sf-preview').Count | Should -Be $historyBefore
        }

        It 'runs nothing for connections piped from Get-Connection' {
            @(Get-Connection -Name 'sf-preview' | Start-ConnectionJob -WhatIf -ErrorVariable pipedWhatIfErrors).Count | Should -Be 0
            $pipedWhatIfErrors.Count | Should -Be 0
            @(Get-ConnectionJob -Connection 'sf-preview').Count | Should -Be 0
        }
    }
}
