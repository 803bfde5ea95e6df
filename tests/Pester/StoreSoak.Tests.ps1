#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    One store file, many real processes (not threads), as in production: the node host (jobs on) serving exchanges,
    private-side processes that change their side and exchange status through it, short-lived processes (a new one every
    few changes: TestProcess bursts and pwsh sessions through the cmdlets), and one long pwsh session changing the same
    store from ForEach-Object -Parallel. Every writer logs what was acknowledged; a fresh process then checks the audit,
    the versions and PRAGMA integrity_check, and a monitor samples /proc/<pid>/fd of every process for a deleted -wal.

    The harness is tests/ConnectionTools.TestProcess ("soak", Soak.cs). Here it runs at CI scale (10 s, and 10 s with the
    node host killed with SIGKILL half-way and restarted); the benchmark suite runs it at full scale:
        dotnet run -c Release --project tests/ConnectionTools.Benchmarks -- soak

    Run it after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/StoreSoak.Tests.ps1 -Output Detailed
#>

Describe 'Store soak: one store, many processes' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool

        $nodeFolder = Split-Path -Parent (Get-TestTool -Name Node)

        function Invoke-StoreSoak {
            # Runs the harness and returns its summary; the figures it prints go to the test log.
            param([Parameter(Mandatory)] [string] $Name, [double] $Seconds = 10, [switch] $Kill)
            $work = Join-Path $TestDrive $Name
            $summary = Join-Path $TestDrive "$Name.json"
            $arguments = @(
                $seedToolPath, 'soak', '--seconds', $Seconds, '--work', $work,
                '--node', (Join-Path $nodeFolder 'ConnectionTools.Node.dll'), '--module', $manifestPath, '--pwsh', $pwshPath,
                '--summary', $summary
            )
            if ($Kill) {
                $arguments += '--kill'
            }
            $output = & dotnet @arguments 2>&1
            $output | ForEach-Object { Write-Host $_ }
            if (-not (Test-Path -LiteralPath $summary -PathType Leaf)) {
                throw "The soak wrote no summary (exit code $LASTEXITCODE):$([Environment]::NewLine)$($output -join [Environment]::NewLine)"
            }
            Get-Content -LiteralPath $summary -Raw | ConvertFrom-Json
        }
    }

    AfterAll {
        Close-TestSession
    }

    Context 'the node host serving exchanges, short-lived processes and a ForEach-Object -Parallel session for 10 s' {
        BeforeAll {
            $soak = Invoke-StoreSoak -Name 'soak'
        }

        It 'ran every kind of writer: acknowledged exchanges, short-lived processes (TestProcess and pwsh) and the parallel session' {
            $soak.failures | Where-Object { $_ -like 'the soak could not run*' } | Should -BeNullOrEmpty
            $kinds = $soak.kinds.PSObject.Properties
            foreach ($kind in 'X', 'P', 'S', 'Q', 'W') {
                ($kinds | Where-Object Name -like "*($kind)").Value.acknowledged | Should -BeGreaterThan 0 -Because "writer kind $kind must acknowledge changes"
            }
            $soak.shortLivedProcesses | Should -BeGreaterThan 1
        }

        It 'loses no acknowledged change: each is in the audit, by actor, connection and version' {
            $soak.acknowledged | Should -BeGreaterThan 0
            $soak.lost | Should -Be 0 -Because ($soak.lostExamples -join '; ')
            $soak.unacknowledgedExchangeCommits | Should -Be 0
        }

        It 'has one audit entry per version of every connection, none twice' {
            $soak.duplicateVersions | Should -Be 0
            $soak.versionMismatches | Should -Be 0
        }

        It 'showed no writer a store error, or any other error' {
            $soak.storeErrors | Should -Be 0 -Because ($soak.errorExamples -join '; ')
            $soak.otherErrors | Should -Be 0 -Because ($soak.errorExamples -join '; ')
            $soak.hostLogFailures | Should -Be 0
        }

        It 'leaves both stores intact (PRAGMA integrity_check from a fresh process)' {
            $soak.publicIntegrity | Should -BeExactly 'ok'
            $soak.privateIntegrity | Should -BeExactly 'ok'
        }

        It 'never let a process hold a deleted -wal, -shm or store file (/proc/PID/fd, sampled during the run)' -Skip:(-not $IsLinux) {
            $soak.fdSamples | Should -BeGreaterThan 10
            $soak.walDescriptorsSeen | Should -BeGreaterThan 0 -Because 'the monitor must see the live -wal descriptors to prove anything'
            $soak.deletedWalSightings | Should -Be 0 -Because ($soak.deletedWalExamples -join '; ')
        }

        It 'stopped the node host cleanly with SIGTERM, and every check of the harness passed' {
            $soak.hostExitCode | Should -Be 0
            $soak.failures | Should -BeNullOrEmpty
            $soak.passed | Should -BeTrue
        }
    }

    Context 'kill -9 of the node host in the middle of writes, then a restart on the same store' -Skip:$IsWindows {
        BeforeAll {
            $killed = Invoke-StoreSoak -Name 'soak-kill' -Kill
        }

        It 'killed the host while exchanges were being acknowledged, and it served them again after the restart' {
            $killed.killedHostExitCode | Should -Be 137
            $killed.exchangesAcknowledgedBeforeKill | Should -BeGreaterThan 0
            $killed.exchangesAcknowledgedAfterRestart | Should -BeGreaterThan 0
        }

        It 'loses nothing acknowledged before the kill, or after it' {
            $killed.acknowledgedBeforeKill | Should -BeGreaterThan 0
            $killed.lostBeforeKill | Should -Be 0 -Because ($killed.lostExamples -join '; ')
            $killed.lost | Should -Be 0 -Because ($killed.lostExamples -join '; ')
            $killed.duplicateVersions | Should -Be 0
            $killed.versionMismatches | Should -Be 0
        }

        It 'leaves the store intact, and writers saw no store error (only the peer unreachable while the host was down)' {
            $killed.publicIntegrity | Should -BeExactly 'ok'
            $killed.privateIntegrity | Should -BeExactly 'ok'
            $killed.storeErrors | Should -Be 0 -Because ($killed.errorExamples -join '; ')
            $killed.otherErrors | Should -Be 0 -Because ($killed.errorExamples -join '; ')
            $killed.deletedWalSightings | Should -Be 0
            $killed.failures | Should -BeNullOrEmpty
        }
    }
}
