#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    The README's PowerShell blocks, run as written, so that the README cannot drift from the product.

    Every ```powershell block of README.md gets one test, in order. A block runs in a fresh pwsh (-NoProfile
    -NonInteractive -File) with the repository root as its working directory (so ./out/ConnectionTools/ConnectionTools.psd1
    is there) and a temporary HOME and XDG_DATA_HOME, so it never sees the user's store. A test substitutes only what must
    differ on this machine: a free port for 5080, a pasted invitation code for 'CT1-...', and temporary files for
    the Windows paths and the user's own files; each substitution is listed where it is made.

    The private connection block is played by its terminals: terminal 1 and 4 (node hosts, `dotnet run` as written)
    run in the background, and terminals 2 and 3 are two long-lived pwsh processes that keep their variables and
    stores, fed the block's parts in the README's order.

    A block that cannot run here carries a visible marker right before its fence,
        <!-- readme-test: skip, the reason -->
    and shows up as a skipped test with that reason. A new block without a runner and without a marker fails.

    Run it after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/Readme.Tests.ps1 -Output Detailed
#>

BeforeDiscovery {
    $readmeBlocks = @()
    $lines = @(Get-Content -LiteralPath (Join-Path $PSScriptRoot '../../README.md'))
    $section = ''
    for ($i = 0; $i -lt $lines.Count; $i++) {
        if ($lines[$i] -match '^## (.+)$') { $section = $Matches[1].Trim() }
        if ($lines[$i] -ne '```powershell') { continue }
        $start = $i
        $previous = $i - 1
        while ($previous -ge 0 -and $lines[$previous].Trim() -eq '') { $previous-- }
        $skip = $null
        if ($previous -ge 0 -and $lines[$previous] -match '^<!-- readme-test: skip, (.+) -->$') { $skip = $Matches[1] }
        $code = [System.Collections.Generic.List[string]]::new()
        for ($i++; $i -lt $lines.Count -and $lines[$i] -ne '```'; $i++) { $code.Add($lines[$i]) }
        $readmeBlocks += @{ Section = $section; Line = $start + 1; Code = ($code -join "`n"); SkipReason = $skip; Number = $readmeBlocks.Count + 1 }
    }
}

Describe 'README PowerShell blocks' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')

        function Remove-Ansi {
            param([AllowNull()] [string] $Text)
            if ($null -eq $Text) { return '' }
            $Text -replace '\x1b\[[0-9;?]*[A-Za-z]', ''
        }

        function New-ReadmeHome {
            # A temporary HOME (and XDG_DATA_HOME) for one block: its stores go there, never to the user's.
            $folder = Join-Path $TestDrive ('home-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
            $null = New-Item -ItemType Directory -Path (Join-Path $folder 'data') -Force
            $folder
        }

        function Get-ReadmeEnvironment {
            param([Parameter(Mandatory)] [string] $HomeFolder)
            @{
                HOME                   = $HomeFolder
                XDG_DATA_HOME          = Join-Path $HomeFolder 'data'
                NO_COLOR               = '1'
                # The blocks choose their stores themselves (or use the per-user default under the temporary HOME).
                CONNECTIONTOOLS_STORE  = $null
                DOTNET_CLI_HOME        = $env:DOTNET_CLI_HOME
                NUGET_PACKAGES         = $(if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' })
            }
        }

        function New-PwshStart {
            param([Parameter(Mandatory)] [string[]] $Arguments, [Parameter(Mandatory)] [hashtable] $Environment)
            $start = [System.Diagnostics.ProcessStartInfo]::new($pwshPath)
            foreach ($argument in $Arguments) { $start.ArgumentList.Add($argument) }
            $start.UseShellExecute = $false
            $start.RedirectStandardOutput = $true
            $start.RedirectStandardError = $true
            $start.WorkingDirectory = $repoRoot
            foreach ($key in $Environment.Keys) {
                if ($null -eq $Environment[$key]) { $null = $start.Environment.Remove($key) } else { $start.Environment[$key] = $Environment[$key] }
            }
            $start
        }

        function Invoke-ReadmeScript {
            # Runs code with pwsh -NoProfile -NonInteractive -File; returns the exit code and what it printed.
            param([Parameter(Mandatory)] [string] $Code, [Parameter(Mandatory)] [string] $HomeFolder, [int] $TimeoutSeconds = 300)
            $file = Join-Path $TestDrive ('block-' + [guid]::NewGuid().ToString('n').Substring(0, 8) + '.ps1')
            Set-Content -LiteralPath $file -Value $Code -Encoding utf8
            $process = [System.Diagnostics.Process]::Start((New-PwshStart -Arguments '-NoProfile', '-NonInteractive', '-File', $file -Environment (Get-ReadmeEnvironment -HomeFolder $HomeFolder)))
            $standardOutput = $process.StandardOutput.ReadToEndAsync()
            $standardError = $process.StandardError.ReadToEndAsync()
            if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
                $process.Kill($true)
                throw "The block did not finish within $TimeoutSeconds seconds."
            }
            $process.WaitForExit()
            [pscustomobject]@{ ExitCode = $process.ExitCode; Output = Remove-Ansi $standardOutput.Result; Error = Remove-Ansi $standardError.Result }
        }

        function Start-Terminal {
            # A long-lived pwsh that keeps its variables, like a terminal window: Invoke-Terminal feeds it code.
            param([Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [string] $HomeFolder)
            $process = [System.Diagnostics.Process]::new()
            $process.StartInfo = New-PwshStart -Arguments '-NoProfile', '-NonInteractive', '-Command', '-' -Environment (Get-ReadmeEnvironment -HomeFolder $HomeFolder)
            $process.StartInfo.RedirectStandardInput = $true
            $terminal = [pscustomobject]@{ Name = $Name; Process = $process; PendingOutput = $null; PendingError = $null }
            $null = $process.Start()
            $terminal
        }

        function Invoke-Terminal {
            # Dot-sources the code in the terminal (its variables stay) and returns what it printed: output and errors.
            param([Parameter(Mandatory)] $Terminal, [Parameter(Mandatory)] [string] $Code, [int] $TimeoutSeconds = 120)
            $marker = 'readme-test-done-' + [guid]::NewGuid().ToString('n')
            # Like a terminal, each statement is its own pipeline with its own formatting (dot-sourced: its variables stay).
            $statements = [System.Management.Automation.Language.Parser]::ParseInput($Code, [ref] $null, [ref] $null).EndBlock.Statements
            $wrapped = foreach ($statement in $statements) { ". {`n$($statement.Extent.Text)`n} | Out-String -Width 200 | Write-Host" }
            $file = Join-Path $TestDrive ($Terminal.Name + '-' + $marker + '.ps1')
            Set-Content -LiteralPath $file -Value ($wrapped -join "`n") -Encoding utf8
            $Terminal.Process.StandardInput.WriteLine(". '$($file.Replace("'", "''"))'; Write-Host '$marker'")
            $Terminal.Process.StandardInput.Flush()
            $lines = [System.Collections.Generic.List[string]]::new()
            $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
            while ($true) {
                if ($null -eq $Terminal.PendingOutput) { $Terminal.PendingOutput = $Terminal.Process.StandardOutput.ReadLineAsync() }
                if ($Terminal.PendingOutput.Wait(100)) {
                    $line = $Terminal.PendingOutput.Result
                    $Terminal.PendingOutput = $null
                    if ($null -eq $line) { throw "Terminal $($Terminal.Name) exited: $($lines -join "`n")" }
                    if ($line -eq $marker) { break }
                    $lines.Add($line)
                    continue
                }
                if ([DateTime]::UtcNow -gt $deadline) { throw "Terminal $($Terminal.Name) did not finish within $TimeoutSeconds seconds: $($lines -join "`n")" }
            }
            # What it wrote to standard error by then (errors, warnings).
            $errors = [System.Collections.Generic.List[string]]::new()
            while ($true) {
                if ($null -eq $Terminal.PendingError) { $Terminal.PendingError = $Terminal.Process.StandardError.ReadLineAsync() }
                if (-not $Terminal.PendingError.Wait(300)) { break }
                $line = $Terminal.PendingError.Result
                $Terminal.PendingError = $null
                if ($null -eq $line) { break }
                $errors.Add($line)
            }
            [pscustomobject]@{ Output = Remove-Ansi ($lines -join "`n"); Error = Remove-Ansi ($errors -join "`n") }
        }

        function Start-Background {
            # A terminal that runs one long command (a node host) in the background; its output goes to a log.
            param([Parameter(Mandatory)] [string] $Code, [Parameter(Mandatory)] [string] $HomeFolder, [Parameter(Mandatory)] [string] $Log)
            $file = Join-Path $TestDrive ('background-' + [guid]::NewGuid().ToString('n').Substring(0, 8) + '.ps1')
            Set-Content -LiteralPath $file -Value "& { $Code } *> $("'" + $Log.Replace("'", "''") + "'")" -Encoding utf8
            $start = New-PwshStart -Arguments '-NoProfile', '-NonInteractive', '-File', $file -Environment (Get-ReadmeEnvironment -HomeFolder $HomeFolder)
            $start.RedirectStandardOutput = $false
            $start.RedirectStandardError = $false
            [System.Diagnostics.Process]::Start($start)
        }

        function Stop-Background {
            param($Process)
            if ($null -ne $Process -and -not $Process.HasExited) {
                $Process.Kill($true)
                $null = $Process.WaitForExit(10000)
            }
        }

        function Wait-LoopbackPort {
            param([Parameter(Mandatory)] [int] $Port, [Parameter(Mandatory)] $Process, [Parameter(Mandatory)] [string] $Log, [int] $TimeoutSeconds = 300)
            $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
            while ([DateTime]::UtcNow -lt $deadline) {
                if ($Process.HasExited) { throw "Terminal 1 exited before it listened on port ${Port}: $(Get-Content -LiteralPath $Log -Raw -ErrorAction SilentlyContinue)" }
                $client = [System.Net.Sockets.TcpClient]::new()
                try {
                    if ($client.ConnectAsync([ipaddress]::Loopback, $Port).Wait(1000) -and $client.Connected) { return }
                }
                catch { }
                finally { $client.Dispose() }
                Start-Sleep -Milliseconds 500
            }
            throw "Nothing listened on port ${Port} within $TimeoutSeconds seconds. $(Get-Content -LiteralPath $Log -Raw -ErrorAction SilentlyContinue)"
        }

        function Split-Terminal {
            # The parts of a block that begin with "# Terminal N", in order: @{ Terminal = N; Code = ... }.
            param([Parameter(Mandatory)] [string] $Code)
            $parts = [System.Collections.Generic.List[object]]::new()
            foreach ($line in $Code -split "`n") {
                if ($line -match '^# Terminal (\d)') {
                    $parts.Add(@{ Terminal = [int] $Matches[1]; Code = [System.Text.StringBuilder]::new() })
                }
                if ($parts.Count -eq 0) { throw "The block does not start with '# Terminal N': $line" }
                $null = $parts[$parts.Count - 1].Code.AppendLine($line)
            }
            foreach ($part in $parts) { @{ Terminal = $part.Terminal; Code = $part.Code.ToString() } }
        }

        function Get-FreePort {
            $listener = [System.Net.Sockets.TcpListener]::new([ipaddress]::Loopback, 0)
            $listener.Start()
            try { ([System.Net.IPEndPoint] $listener.LocalEndpoint).Port } finally { $listener.Stop() }
        }

        $quickStartSeedTool = Join-Path $repoRoot 'out/seed-tool/ConnectionTools.TestProcess.dll'

        # One runner per README section; a block in a section without a runner and without a marker fails.
        $runners = @{
            'Set up'                                          = 'SetUp'
            'Quick start'                                     = 'QuickStart'
            'Quick start: Salesforce and Dynamics 365 connections' = 'RenewGrants'
            'Quick start: a private connection'               = 'PrivateConnection'
        }
    }

    AfterAll {
        Close-TestSession
    }

    It 'the README has PowerShell blocks to run' -ForEach @{ Count = $readmeBlocks.Count } {
        $Count | Should -BeGreaterThan 3
    }

    It 'block <Number> (line <Line>, "<Section>")' -ForEach $readmeBlocks {
        if ($null -ne $SkipReason) {
            Set-ItResult -Skipped -Because "README marks it: $SkipReason"
            return
        }
        $runner = $runners[$Section]
        if ($null -eq $runner) {
            throw "README block at line $Line (section '$Section') has no runner in Readme.Tests.ps1 and no <!-- readme-test: skip, reason --> marker."
        }

        switch ($runner) {
            'SetUp' {
                # The two set-up commands as written. "Test it" is the command this very run comes from (.ci/run runs exactly
                # it, BuildScript.Tests.ps1 checks that); "run it" is run here: the build, then a session at a prompt, typed into.
                $lines = @($Code -split '\r?\n' | ForEach-Object { $_.Trim() } | Where-Object { $_ -and -not $_.StartsWith('#') })
                $lines | Should -Be @(
                    'dotnet tool restore'
                    'dotnet pwsh -NoExit -File ./build.ps1 -Task Shell'
                    'dotnet tool restore'
                    'dotnet pwsh -File ./build.ps1 -Task Test')
                if ($IsWindows) {
                    Set-ItResult -Skipped -Because 'on Windows the running suite holds the module''s DLLs that "run it" would rebuild'
                    return
                }

                $homeFolder = New-ReadmeHome
                $environment = Get-ReadmeEnvironment -HomeFolder $homeFolder
                $typed = "Get-ConnectionNode | Format-List StoreSource, StorePath`nGet-Connection`n'typed-at-the-prompt'`nexit`n"
                foreach ($line in $lines[0..1]) {
                    $words = $line -split ' '
                    $start = [System.Diagnostics.ProcessStartInfo]::new($words[0])
                    foreach ($word in $words[1..($words.Count - 1)]) { $start.ArgumentList.Add($word) }
                    $start.UseShellExecute = $false
                    $start.RedirectStandardInput = $true
                    $start.RedirectStandardOutput = $true
                    $start.RedirectStandardError = $true
                    $start.WorkingDirectory = $repoRoot
                    foreach ($key in $environment.Keys) {
                        if ($null -eq $environment[$key]) { $null = $start.Environment.Remove($key) } else { $start.Environment[$key] = $environment[$key] }
                    }
                    $process = [System.Diagnostics.Process]::Start($start)
                    $standardOutput = $process.StandardOutput.ReadToEndAsync()
                    $standardError = $process.StandardError.ReadToEndAsync()
                    $process.StandardInput.Write($typed)
                    $process.StandardInput.Close()
                    if (-not $process.WaitForExit(600000)) { $process.Kill($true); throw "'$line' did not finish within 10 minutes." }
                    $process.WaitForExit()
                    $output = Remove-Ansi $standardOutput.Result
                    $process.ExitCode | Should -Be 0 -Because "'$line' works as written ($(Remove-Ansi $standardError.Result))"
                }

                $output | Should -Match 'build\.ps1 -Task Shell: succeeded'
                $output | Should -Match 'StoreSource\s*:\s*Default'
                $output | Should -Match ([regex]::Escape((Join-Path $homeFolder 'data/connectiontools/store.db')))
                $output | Should -Match 'typed-at-the-prompt'
                return
            }

            'QuickStart' {
                # Run as written, with the product's own commands only, on a store under the temporary HOME.
                # Typed into a terminal: each statement is its own pipeline, formatted on its own.
                $homeFolder = New-ReadmeHome
                $terminal = Start-Terminal -Name 'quickstart' -HomeFolder $homeFolder
                try { $run = Invoke-Terminal -Terminal $terminal -Code $Code -TimeoutSeconds 300 }
                finally { Stop-Background $terminal.Process }
                $run.Error | Should -BeNullOrEmpty
                $store = Join-Path $homeFolder 'connectiontools-demo/store.db'
                Test-Path -LiteralPath $store | Should -BeTrue
                $lines = @($run.Output -split '\r?\n')
                # Get-ConnectionNode: the session's store with three connections, all Pending.
                ($lines | Where-Object { $_ -match '^Session\s+3\s+0\s+0\s+0\s+3\s' }) | Should -Not -BeNullOrEmpty -Because $run.Output
                # Get-InvitationCode shows a code; the rename and the -WhatIf preview as written.
                ($lines | Where-Object { $_ -match 'CT1-' }) | Should -Not -BeNullOrEmpty -Because $run.Output
                ($lines | Where-Object { $_ -match '^partner-asia\s+Private\s+Pending' }) | Should -Not -BeNullOrEmpty -Because $run.Output
                @($lines | Where-Object { $_ -like 'What if:*Remove*partner-us*' }).Count | Should -Be 1
                # The history of the removed connection: created, then removed, by this user.
                ($lines | Where-Object { $_ -match '\spartner-us\s+Create\s' }) | Should -Not -BeNullOrEmpty -Because $run.Output
                ($lines | Where-Object { $_ -match '\spartner-us\s+Remove\s' }) | Should -Not -BeNullOrEmpty -Because $run.Output
            }

            'RenewGrants' {
                # The scheduled task's script. Substituted: the Windows store and log paths (D:\...) with temporary ones, and
                # PSModulePath gets out/ so that "Import-Module ConnectionTools" finds the module as if it were installed.
                $Code | Should -Match ([regex]::Escape("`$env:CONNECTIONTOOLS_STORE = 'D:\ConnectionTools\store.db'"))
                $homeFolder = New-ReadmeHome
                $log = Join-Path $homeFolder 'renewals.csv'
                $modulePath = "`$env:PSModulePath = '$((Join-Path $repoRoot 'out').Replace("'", "''"))' + [IO.Path]::PathSeparator + `$env:PSModulePath`n"

                if (-not (Test-Path -LiteralPath $quickStartSeedTool)) {
                    $null = & dotnet build (Join-Path $repoRoot 'tests/ConnectionTools.TestProcess') -c Release -o (Split-Path $quickStartSeedTool) 2>&1
                }
                # Nothing to renew (a store whose only connection is private): exit code 0.
                $quietStore = Join-Path $homeFolder 'quiet.db'
                & dotnet $quickStartSeedTool seed $quietStore partner Private Active
                $script = $modulePath + $Code.Replace('D:\ConnectionTools\store.db', $quietStore).Replace('D:\ConnectionTools\logs\renewals.csv', $log)
                $run = Invoke-ReadmeScript -HomeFolder $homeFolder -Code $script
                $run.ExitCode | Should -Be 0 -Because $run.Error
                $run.Error | Should -BeNullOrEmpty

                # An inactive connection whose grant cannot be renewed without a person (it has no stored credentials): exit code 1,
                # and the other inactive connection was tried too (errors come after every connection).
                $failingStore = Join-Path $homeFolder 'failing.db'
                & dotnet $quickStartSeedTool seed $failingStore crm-one Dynamics365 Inactive
                & dotnet $quickStartSeedTool seed $failingStore crm-two Dynamics365 Inactive
                $script = $modulePath + $Code.Replace('D:\ConnectionTools\store.db', $failingStore).Replace('D:\ConnectionTools\logs\renewals.csv', $log)
                $run = Invoke-ReadmeScript -HomeFolder $homeFolder -Code $script
                $run.ExitCode | Should -Be 1 -Because $run.Output
                $run.Error | Should -Match 'crm-one|crm-two'
                $rows = @(Import-Csv -LiteralPath $log)
                ($rows.Name | Sort-Object) -join ', ' | Should -Be 'crm-one, crm-two' -Because 'every inactive connection was tried, and its result logged'
            }

            'PrivateConnection' {
                $parts = @(Split-Terminal -Code $Code)
                ($parts.Terminal -join ',') | Should -Be '1,2,3,2,3,4,2,3' -Because 'the test plays the terminals in this order'
                $homeFolder = New-ReadmeHome
                $port = Get-FreePort
                $terminal2 = Start-Terminal -Name 'terminal2' -HomeFolder $homeFolder
                $terminal3 = Start-Terminal -Name 'terminal3' -HomeFolder $homeFolder
                $nodeHost = $null
                $privateNodeHost = $null
                try {
                    # Terminal 1, as written, with a free port instead of 5080.
                    $log1 = Join-Path $homeFolder 'terminal1.log'
                    $nodeHost = Start-Background -HomeFolder $homeFolder -Log $log1 -Code $parts[0].Code.Replace('5080', "$port")
                    Wait-LoopbackPort -Port $port -Process $nodeHost -Log $log1

                    # Terminal 2: the public URL was set by the node host; a code; two generated rules, not editable.
                    $out = Invoke-Terminal -Terminal $terminal2 -Code $parts[1].Code
                    $out.Error | Should -BeNullOrEmpty
                    $out.Output | Should -Match ([regex]::Escape("http://127.0.0.1:$port/"))
                    $out.Output -match '(CT1-[0-9A-Z-]+)' | Should -BeTrue -Because $out.Output
                    $code = (Invoke-Terminal -Terminal $terminal2 -Code '$invitation.InvitationCode').Output.Trim()
                    $code | Should -BeLike 'CT1-*'
                    $out.Output | Should -Match 'crm-eu\s+Outgoing\s+Case\s+False'
                    $out.Output | Should -Match 'crm-eu\s+Incoming\s+Case\s+False'

                    # Terminal 3: the pasted code instead of 'CT1-...'. Active on both sides.
                    $parts[2].Code | Should -Match ([regex]::Escape("'CT1-...'"))
                    $out = Invoke-Terminal -Terminal $terminal3 -Code $parts[2].Code.Replace("'CT1-...'", "'$code'")
                    $out.Error | Should -BeNullOrEmpty
                    (Invoke-Terminal -Terminal $terminal3 -Code '(Get-Connection -Name crm-eu).Status').Output.Trim() | Should -Be 'Active'
                    (Invoke-Terminal -Terminal $terminal2 -Code '(Get-Connection -Name crm-eu).Status').Output.Trim() | Should -Be 'Active' -Because 'the accept makes the connection Active on the public side too'

                    # Terminal 2 pauses; terminal 3 learns it with Sync-Connection.
                    $out = Invoke-Terminal -Terminal $terminal2 -Code $parts[3].Code
                    $out.Error | Should -BeNullOrEmpty
                    $out = Invoke-Terminal -Terminal $terminal3 -Code $parts[4].Code
                    $out.Error | Should -BeNullOrEmpty
                    $out.Output | Should -Match 'crm-eu\s+Active\s+Paused\s+\d'

                    # Terminal 4, as written: the private node host runs, and keeps running.
                    $log4 = Join-Path $homeFolder 'terminal4.log'
                    $privateNodeHost = Start-Background -HomeFolder $homeFolder -Log $log4 -Code $parts[5].Code
                    $deadline = [DateTime]::UtcNow.AddSeconds(240)
                    while (-not $privateNodeHost.HasExited -and [DateTime]::UtcNow -lt $deadline -and
                        -not ((Get-Content -LiteralPath $log4 -Raw -ErrorAction SilentlyContinue) -match 'crm-eu')) {
                        Start-Sleep -Seconds 1
                    }
                    $privateNodeHost.HasExited | Should -BeFalse -Because (Get-Content -LiteralPath $log4 -Raw -ErrorAction SilentlyContinue)
                    Get-Content -LiteralPath $log4 -Raw | Should -Match 'crm-eu' -Because 'the private node host exchanges status for crm-eu when it starts'
                    Stop-Background $privateNodeHost

                    # Terminal 2: Script mode and an edited rule, written inline: run as written, no file of the user's.
                    $parts[6].Code | Should -Not -Match '\.txt' -Because 'the README ships no rule file, so the rule is inline'
                    $out = Invoke-Terminal -Terminal $terminal2 -Code $parts[6].Code
                    $out.Error | Should -BeNullOrEmpty
                    # -PassThru writes the one rule that was changed.
                    $out.Output | Should -Match 'Outgoing' -Because $out.Output
                    $out.Output | Should -Not -Match 'Incoming' -Because 'only the changed rule is written'
                    $rules = (Invoke-Terminal -Terminal $terminal2 -Code 'Get-ConnectionSyncRule -Name crm-eu | Format-List Direction, Editable, Script').Output
                    $rules | Should -Match 'Editable\s+: True'
                    $rules | Should -Match 'replica.subject = entity.subject'

                    # Terminal 3 removes it; the public side learns it at once.
                    $out = Invoke-Terminal -Terminal $terminal3 -Code $parts[7].Code
                    $out.Error | Should -BeNullOrEmpty
                    (Invoke-Terminal -Terminal $terminal3 -Code '(Get-Connection -Name crm-eu -IncludeRemoved).Status').Output.Trim() | Should -Be 'Removed'
                    # A fresh process reads the public store too, to tell a stale session from a removal that never arrived.
                    # The public side keeps its connection (its own admin removes it) and records the partner's removal as PeerStatus.
                    $fresh = Invoke-ReadmeScript -HomeFolder $homeFolder -Code "Import-Module ./out/ConnectionTools/ConnectionTools.psd1`n`$null = Connect-ConnectionNode -StorePath `"`$HOME/ct-demo/public.db`"`n(Get-Connection -Name crm-eu).PeerStatus"
                    $fresh.Output.Trim() | Should -Be 'Removed' -Because "the node host records the private side's removal in the public store ($($fresh.Error))"
                    (Invoke-Terminal -Terminal $terminal2 -Code '(Get-Connection -Name crm-eu).PeerStatus').Output.Trim() | Should -Be 'Removed' -Because 'the public admin''s session reads the same store'
                }
                finally {
                    foreach ($terminal in $terminal2, $terminal3) {
                        try { $terminal.Process.StandardInput.WriteLine('exit'); $null = $terminal.Process.WaitForExit(10000) } catch { }
                        Stop-Background $terminal.Process
                    }
                    Stop-Background $privateNodeHost
                    Stop-Background $nodeHost
                }
            }
        }
    }
}
