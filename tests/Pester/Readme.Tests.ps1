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
            # -Interactive: without -NonInteractive, so that the module may prompt (a browser or device-code sign-in);
            # -Environment: variables added to the block's (null removes one).
            param([Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [string] $HomeFolder, [switch] $Interactive, [hashtable] $Environment = @{})
            $arguments = if ($Interactive) { '-NoProfile', '-Command', '-' } else { '-NoProfile', '-NonInteractive', '-Command', '-' }
            $process = [System.Diagnostics.Process]::new()
            $process.StartInfo = New-PwshStart -Arguments $arguments -Environment (Get-ReadmeEnvironment -HomeFolder $HomeFolder)
            # Case-sensitive on Linux (https_proxy and HTTPS_PROXY are two variables).
            foreach ($key in $Environment.Keys) {
                if ($null -eq $Environment[$key]) { $null = $process.StartInfo.Environment.Remove($key) } else { $process.StartInfo.Environment[$key] = $Environment[$key] }
            }
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
                    # An interactive pwsh starts each line with keypad-mode sequences (ESC[?1h ESC[?1l).
                    if ((Remove-Ansi $line) -eq $marker) { break }
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

        function Start-ProviderEmulators {
            # tests/ConnectionTools.EmulatorHost in a process of its own: the Salesforce and Entra ID/Dataverse emulators behind a
            # CONNECT proxy on loopback that serves the README's provider hosts with a certificate from a test CA. The terminal
            # reaches them under their real names as a user behind a proxy would: HTTPS_PROXY (which .NET's default HttpClient
            # proxy, and so the module's, reads), SSL_CERT_FILE naming the test CA (OpenSSL, which .NET uses on Linux), and
            # an xdg-open first on PATH, the fake system browser, which signs in through the same proxy and follows the
            # redirect to the module's loopback listener. A person on another device approves each device code shown.
            $folder = Join-Path $TestDrive 'providers'
            $null = New-Item -ItemType Directory -Path (Join-Path $folder 'bin') -Force
            # Where the solution's build puts it (up to date after dotnet test ConnectionTools.sln -c Release).
            $project = Join-Path $repoRoot 'tests/ConnectionTools.EmulatorHost'
            $build = & dotnet build $project -c Release -nologo 2>&1
            if ($LASTEXITCODE -ne 0) { throw "dotnet build tests/ConnectionTools.EmulatorHost failed: $($build -join "`n")" }
            $hostDll = Join-Path $project 'bin/Release/net10.0/ConnectionTools.EmulatorHost.dll'
            $start = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
            foreach ($argument in $hostDll, 'serve', (Join-Path $folder 'emulators')) { $start.ArgumentList.Add($argument) }
            $start.UseShellExecute = $false
            $start.RedirectStandardInput = $true
            $start.RedirectStandardOutput = $true
            $start.RedirectStandardError = $true
            $process = [System.Diagnostics.Process]::Start($start)
            $standardError = $process.StandardError.ReadToEndAsync()
            $line = $process.StandardOutput.ReadLineAsync()
            if (-not $line.Wait(120000) -or $null -eq $line.Result -or -not $line.Result.StartsWith('ready ')) {
                if (-not $process.HasExited) { $process.Kill($true) }
                throw "The emulator host did not start: $($line.Result) $(if ($standardError.Wait(5000)) { $standardError.Result })"
            }
            $ready = Get-Content -LiteralPath $line.Result.Substring(6) -Raw | ConvertFrom-Json
            # Both spellings: .NET reads the lower-case ones first (and ignores upper-case HTTP_PROXY in a CGI process).
            $environment = [hashtable]::new([StringComparer]::Ordinal)
            $environment['PATH'] = (Join-Path $folder 'bin') + [IO.Path]::PathSeparator + $env:PATH
            foreach ($name in 'https_proxy', 'http_proxy') { $environment[$name] = $ready.Proxy; $environment[$name.ToUpperInvariant()] = $ready.Proxy }
            foreach ($name in 'no_proxy') { $environment[$name] = 'localhost,127.0.0.1'; $environment[$name.ToUpperInvariant()] = 'localhost,127.0.0.1' }
            foreach ($name in 'all_proxy', 'ALL_PROXY', 'SSL_CERT_DIR') { $environment[$name] = $null }
            $environment['SSL_CERT_FILE'] = $ready.CaFile
            $browser = Join-Path $folder 'bin/xdg-open'
            $browserLog = Join-Path $folder 'browser.log'
            Set-Content -LiteralPath $browser -Value "#!/bin/sh`nexec dotnet '$hostDll' browse `"`$1`" >> '$browserLog' 2>&1`n" -NoNewline
            & chmod +x $browser
            [pscustomobject]@{
                Process     = $process
                Ready       = $ready
                ProxyLog    = Join-Path $folder 'emulators/proxy.log'
                BrowserLog  = $browserLog
                Environment = $environment
            }
        }

        function Stop-ProviderEmulators {
            param($Providers)
            if ($null -eq $Providers) { return }
            try { $Providers.Process.StandardInput.Close(); $null = $Providers.Process.WaitForExit(15000) } catch { }
            Stop-Background $Providers.Process
        }

        # The terminal of the Salesforce and Dynamics 365 quick start: the retrieval jobs block goes on in it, with its store.
        $script:providers = $null
        $script:systemTerminal = $null

        # One runner per README section; a block in a section without a runner and without a marker fails.
        $runners = @{
            'Set up'                                          = 'SetUp'
            'Quick start'                                     = 'QuickStart'
            'Quick start: Salesforce and Dynamics 365 connections' = 'RenewGrants'
            'Quick start: a private connection'               = 'PrivateConnection'
            'Retrieval jobs'                                  = 'RetrievalJobs'
        }
    }

    AfterAll {
        if ($null -ne $script:systemTerminal) {
            try { $script:systemTerminal.Process.StandardInput.WriteLine('exit'); $null = $script:systemTerminal.Process.WaitForExit(10000) } catch { }
            Stop-Background $script:systemTerminal.Process
        }
        Stop-ProviderEmulators $script:providers
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
        if ($runner -eq 'RenewGrants' -and $Code -notmatch 'renew-grants\.ps1') { $runner = 'SystemConnections' }
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
                ($lines | Where-Object { $_ -match '^Session\s+SQLite\s+3\s+0\s+0\s+0\s+3\s' }) | Should -Not -BeNullOrEmpty -Because $run.Output
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

            'SystemConnections' {
                # Typed into a terminal (not -NonInteractive: the browser and device-code sign-ins need a person), on the
                # per-user default store under a temporary HOME, against the emulators under the real host names (see
                # Start-ProviderEmulators). Substituted, as a person would type them: the PFX path (C:\secure\sf-jwt.pfx) with
                # the emulator host's PFX, (Read-Host -AsSecureString 'PFX password') with its password as a SecureString,
                # and (Get-Credential) with the app id and client secret the emulated tenant knows.
                if (-not $IsLinux) {
                    Set-ItResult -Skipped -Because 'the fake system browser is an xdg-open first on PATH and the test CA is trusted through SSL_CERT_FILE (OpenSSL): Linux only'
                    return
                }
                $script:providers = Start-ProviderEmulators
                $ready = $script:providers.Ready
                foreach ($written in 'C:\secure\sf-jwt.pfx', "(Read-Host -AsSecureString 'PFX password')", '(Get-Credential)') {
                    $Code | Should -Match ([regex]::Escape($written))
                }
                $secure = { param($text) "(ConvertTo-SecureString '$text' -AsPlainText -Force)" }
                $block = $Code.Replace('C:\secure\sf-jwt.pfx', "'$($ready.PfxPath)'").
                    Replace("(Read-Host -AsSecureString 'PFX password')", (& $secure $ready.PfxPassword)).
                    Replace('(Get-Credential)', "([pscredential]::new('$($ready.EntraAppId)', $(& $secure $ready.EntraSecret)))")

                $homeFolder = New-ReadmeHome
                $script:systemTerminal = Start-Terminal -Name 'systems' -HomeFolder $homeFolder -Interactive -Environment $script:providers.Environment
                $terminal = $script:systemTerminal
                # The block runs exactly as written, its first line included: Set-ConnectionNode -SalesforceClientId sets the node's
                # default connected app, which the interactive sf-prod sign-in (no -ClientId) uses. The only change is the README's
                # placeholder '<consumer key>', replaced by the consumer key the emulated org knows (SalesforceNodeDefaultKey).
                $placeholder = "Set-ConnectionNode -SalesforceClientId '<consumer key>'"
                $block | Should -Match ([regex]::Escape($placeholder))
                $block | Should -Match ([regex]::Escape('http://127.0.0.1:1717/OauthRedirect')) -Because 'the README names the callback URL to register'
                $block = $block.Replace($placeholder, "Set-ConnectionNode -SalesforceClientId '$($ready.SalesforceNodeDefaultKey)'")
                $statements = [System.Management.Automation.Language.Parser]::ParseInput($block, [ref] $null, [ref] $null).EndBlock.Statements
                @($statements | Where-Object { $_.Extent.Text -match '^New-Connection -Name sf-prod ' })[0].Extent.Text | Should -Not -Match 'ClientId'

                $run = Invoke-Terminal -Terminal $terminal -Code $block -TimeoutSeconds 180
                $run.Error | Should -BeNullOrEmpty
                $lines = @($run.Output -split '\r?\n')
                foreach ($name in 'sf-prod', 'sf-batch') { ($lines -match "^$name\s+SalesforceProduction\s+Active") | Should -Not -BeNullOrEmpty -Because $run.Output }
                foreach ($name in 'd365-sales', 'd365-finance') { ($lines -match "^$name\s+Dynamics365\s+Active") | Should -Not -BeNullOrEmpty -Because $run.Output }
                # The device code was shown to the person (a warning), who entered it on another device.
                $run.Output | Should -Match 'WARNING: To sign in, use a web browser to open the page https://login\.microsoftonline\.com/devicelogin and enter the code [A-Z0-9]+'
                # Get-Connection | Format-List: pinned to the emulated org, authorized as the person who signed in in the browser.
                $run.Output | Should -Match 'InstanceUrl\s+: https://contoso\.my\.salesforce\.com/'
                $run.Output | Should -Match "OrganizationId\s+: $($ready.SalesforceOrganizationId)"
                $run.Output | Should -Match "AuthorizedAs\s+: $([regex]::Escape($ready.SalesforceUser))"
                $run.Output | Should -Match 'AuthorizationFlow\s+: Interactive'
                # Test-ConnectionAuthorization: every system connection refreshed.
                @($lines -match '^(sf-prod|sf-batch|d365-sales|d365-finance)\s+Active\s+The grant refreshed').Count | Should -Be 4 -Because $run.Output
                # Every provider host was reached through the proxy, nothing else was asked for, and the browser came back.
                $proxyLog = Get-Content -LiteralPath $script:providers.ProxyLog -Raw
                foreach ($hostName in $ready.Hosts) { $proxyLog | Should -Match "CONNECT $([regex]::Escape($hostName)):443 " }
                $proxyLog | Should -Not -Match 'refused'
                $proxyLog | Should -Match 'approved device code'
                $browserLog = Get-Content -LiteralPath $script:providers.BrowserLog -Raw
                $browserLog | Should -Match 'GET https://contoso\.my\.salesforce\.com/services/oauth2/authorize -> 302'
                $browserLog | Should -Match 'GET http://127\.0\.0\.1:\d+/\S* -> 200'
            }

            'RetrievalJobs' {
                # Typed into the terminal of the Salesforce and Dynamics 365 quick start, right after it: sf-prod is there.
                if (-not $IsLinux) {
                    Set-ItResult -Skipped -Because 'it goes on in the Salesforce and Dynamics 365 quick start''s terminal, which runs on Linux only'
                    return
                }
                if ($null -eq $script:systemTerminal) { throw 'The Salesforce and Dynamics 365 quick start did not run: sf-prod is not there.' }
                $run = Invoke-Terminal -Terminal $script:systemTerminal -Code $Code -TimeoutSeconds 120
                $run.Error | Should -BeNullOrEmpty
                $lines = @($run.Output -split '\r?\n')
                # -Schedule: sf-prod every 15 minutes, the others at the default 5.
                ($lines -match '^sf-prod\s+Scheduled\s+00:15:00\s') | Should -Not -BeNullOrEmpty -Because $run.Output
                ($lines -match '^sf-batch\s+Scheduled\s+00:05:00\s') | Should -Not -BeNullOrEmpty -Because $run.Output
                # The manual run read every case of the emulated org through the org's host; -Last 5 lists it.
                ($lines -match '^VERBOSE: .*https://contoso\.my\.salesforce\.com/') | Should -Not -BeNullOrEmpty -Because $run.Output
                $succeeded = "^sf-prod\s+Succeeded\s+\S+ \S+\s+\S+\s+$($script:providers.Ready.SalesforceCases)\s*$"
                @($lines -match $succeeded).Count | Should -Be 2 -Because "Start-ConnectionJob and Get-ConnectionJob -Last 5 show the run ($($run.Output))"
                # No failed runs: the last statement prints nothing.
                $run.Output | Should -Not -Match 'Failed'
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
                    # -Test shows the replica the rule makes of the sample case; -PassThru writes the one rule that was changed.
                    $out.Output | Should -Match ([regex]::Escape('"summary": "Printer on floor 3 jams"')) -Because $out.Output
                    $out.Output | Should -Match 'Outgoing' -Because $out.Output
                    $out.Output | Should -Not -Match 'Incoming' -Because 'only the changed rule is written'
                    $rules = (Invoke-Terminal -Terminal $terminal2 -Code 'Get-ConnectionSyncRule -Name crm-eu | Format-List Direction, Editable, Script').Output
                    $rules | Should -Match 'Editable\s+: True'
                    $rules | Should -Match 'replica.summary = entity.summary'

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
