#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Creating a connection the way admins expect (issue #19): sign in first, then choose the environment. From the built
    module in a fresh pwsh per step, against tests/ConnectionTools.EmulatorHost (Start-TestProviderEmulators): the Entra ID
    emulator with the Public cloud's Global Discovery Service (globaldisco.crm.dynamics.com), the environments its user
    reaches set through the control endpoint (PUT entra/environments), and the Salesforce org contoso.my.salesforce.com,
    which also answers at login.salesforce.com. The emulator host approves every device code shown, as the person on
    another device. Each failure: its error id, and nothing stored (no connection, no history).

    Run it with ./build.ps1 -Task Test, or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/ChooseEnvironment.Tests.ps1 -Output Detailed
#>

Describe 'Sign in first, then choose the environment' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')

        $providers = Start-TestProviderEmulators
        $ready = $providers.Ready
        $control = $ready.Control
        $sales = [ordered]@{ FriendlyName = 'Contoso Sales'; UniqueName = 'contoso'; Url = 'https://contoso.crm.dynamics.com/'; Region = 'NA' }
        $finance = [ordered]@{ FriendlyName = 'Contoso Finance'; UniqueName = 'contosofin'; Url = 'https://contoso-fin.crm4.dynamics.com/'; Region = 'EMEA' }
        $salesOrganization = '6f1d2c3b-0a9e-4d8c-8b7a-1e2f3a4b5c6d'
        $financeOrganization = '7a2e3d4c-1b0f-4e9d-9c8b-2f3a4b5c6d7e'

        function Invoke-Control {
            # The emulator host's control endpoints (plain HTTP on loopback, never through the proxy).
            param([Parameter(Mandatory)] [string] $Method, [Parameter(Mandatory)] [string] $Path, $Body)
            $arguments = @{ Uri = "$control$Path"; Method = $Method; NoProxy = $true; ContentType = 'application/json' }
            if ($null -ne $Body) { $arguments.Body = ConvertTo-Json -InputObject $Body -Depth 5 -Compress }
            Invoke-RestMethod @arguments
        }

        function Set-Environment {
            # What the Global Discovery Service lists for the Entra user from now on.
            param([object[]] $List = @())
            $null = Invoke-Control -Method Put -Path 'entra/environments' -Body @{ Environments = @($List) }
        }

        function Get-StepScript {
            # The admin's command, then RESULT: with the error (if any), the connections and the history entries the store holds.
            param([Parameter(Mandatory)] [string] $Command)
            @"
`$failure = `$null
try { `$ErrorActionPreference = 'Stop'; . { $Command } | Out-String -Width 200 -Stream } catch { `$failure = `$_ } finally { `$ErrorActionPreference = 'Continue' }
`$connections = @(Get-Connection)
'RESULT:' + (@{
    ErrorId = if (`$failure) { `$failure.FullyQualifiedErrorId.Split(',')[0] } else { `$null }
    Message = if (`$failure) { `$failure.Exception.Message } else { `$null }
    Fix = if (`$failure) { `$failure.ErrorDetails.RecommendedAction } else { `$null }
    Connections = @(`$connections | ForEach-Object { @{ Name = `$_.Name; InstanceUrl = `$_.InstanceUrl; OrganizationId = `$_.OrganizationId; AuthorizedAs = `$_.AuthorizedAs } })
    History = @(Get-ConnectionHistory).Count
} | ConvertTo-Json -Compress -Depth 4)
"@
        }

        function New-StepStore {
            param([Parameter(Mandatory)] [string] $StorePath)
            $null = New-Item -ItemType Directory -Force -Path (Split-Path $StorePath)
            if (-not (Test-Path -LiteralPath $StorePath)) {
                $null = Connect-ConnectionNode -Create -StorePath $StorePath
            }
        }

        function Invoke-Step {
            # One admin command in a fresh pwsh against a store of its own (input redirected: no one can answer a prompt).
            param([Parameter(Mandatory)] [string] $StorePath, [Parameter(Mandatory)] [string] $Command, [switch] $NonInteractive)
            New-StepStore -StorePath $StorePath
            $run = Invoke-ProviderPwsh -Providers $providers -StorePath $StorePath -Command (Get-StepScript -Command $Command) -NonInteractive:$NonInteractive
            if ($null -eq $run.Result) { throw "No RESULT line: $($run.Output)" }
            $run.Result | Add-Member -NotePropertyName Output -NotePropertyValue $run.Output -PassThru
        }

        function Invoke-StepAtTerminal {
            # One admin command in a fresh pwsh at a terminal (a pseudo-terminal from util-linux script): the admin reads the
            # screen until $WaitFor shows, then types $Answer and Enter, as at PowerShell's own choice prompt.
            param(
                [Parameter(Mandatory)] [string] $StorePath,
                [Parameter(Mandatory)] [string] $Command,
                [Parameter(Mandatory)] [string] $WaitFor,
                [Parameter(Mandatory)] [string] $Answer
            )
            New-StepStore -StorePath $StorePath
            $script = "`$ProgressPreference = 'SilentlyContinue'; `$PSStyle.OutputRendering = 'PlainText'; Import-Module '$($manifestPath.Replace("'", "''"))' -ErrorAction Stop; " +
                "`$null = Connect-ConnectionNode -StorePath '$($StorePath.Replace("'", "''"))' -ErrorAction Stop`n" + (Get-StepScript -Command $Command)
            $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($script))
            $start = [System.Diagnostics.ProcessStartInfo]::new('script')
            foreach ($argument in '-qec', "'$pwshPath' -NoProfile -OutputFormat Text -EncodedCommand $encoded", '/dev/null') { $start.ArgumentList.Add($argument) }
            $start.UseShellExecute = $false
            $start.RedirectStandardInput = $true
            $start.RedirectStandardOutput = $true
            $start.RedirectStandardError = $true
            Set-StartEnvironment -Start $start -Environment $providers.Environment
            $start.Environment['NO_COLOR'] = '1'
            $process = [System.Diagnostics.Process]::Start($start)
            $screen = [System.Text.StringBuilder]::new()
            $chunk = [char[]]::new(4096)
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            $answered = $false
            try {
                while ($true) {
                    $read = $process.StandardOutput.ReadAsync($chunk, 0, $chunk.Length)
                    while (-not $read.Wait(250)) {
                        if ([DateTime]::UtcNow -gt $deadline) { throw "The terminal showed no '$WaitFor' within 120 s: $screen" }
                    }
                    if ($read.Result -eq 0) { break }
                    $null = $screen.Append($chunk, 0, $read.Result)
                    if (-not $answered -and $screen.ToString().Contains($WaitFor)) {
                        $process.StandardInput.Write("$Answer`r")
                        $process.StandardInput.Flush()
                        $answered = $true
                    }
                }
                $null = $process.WaitForExit(30000)
            }
            finally {
                if (-not $process.HasExited) { $process.Kill($true) }
            }
            $text = [regex]::Replace($screen.ToString(), '\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]', '')
            $resultLine = @($text -split '\r?\n' | Where-Object { $_.Contains('RESULT:') }) | Select-Object -Last 1
            if (-not $resultLine) { throw "No RESULT line: $text" }
            $resultLine.Substring($resultLine.IndexOf('RESULT:') + 7) | ConvertFrom-Json | Add-Member -NotePropertyName Output -NotePropertyValue $text -PassThru
        }
    }

    AfterAll {
        Stop-TestProviderEmulators $providers
        Close-TestSession
    }

    AfterEach {
        # Every test starts from the host's defaults: both environments, the discovery service serving the user.
        Set-Environment $sales, $finance
        $null = Invoke-Control -Method Post -Path 'entra/discovery/refuse' -Body @{ Status = 0 }
    }

    It 'one environment: it is used, and the verbose stream says which' {
        Set-Environment $sales
        $step = Invoke-Step -StorePath (Join-Path $TestDrive 'one/store.db') -Command 'New-Connection -Name d365 -Type Dynamics365 -UseDeviceCode -AcceptDataProcessingAgreement -Verbose 4>&1 | Out-String -Stream'

        $step.ErrorId | Should -BeNullOrEmpty -Because $step.Output
        $step.Connections.Count | Should -Be 1
        $step.Connections[0].InstanceUrl | Should -Be 'https://contoso.crm.dynamics.com/'
        $step.Connections[0].OrganizationId | Should -Be $salesOrganization
        $step.Connections[0].AuthorizedAs | Should -Be $ready.EntraUser
        $step.Output | Should -Match 'can reach one environment in the Public cloud; using it: Contoso Sales \(https://contoso\.crm\.dynamics\.com/, NA\)'
    }

    It 'several environments and -EnvironmentName: chosen without a prompt; the YAML export keeps the instance URL' {
        $store = Join-Path $TestDrive 'named/store.db'
        $step = Invoke-Step -StorePath $store -Command "New-Connection -Name d365 -Type Dynamics365 -EnvironmentName 'Contoso Fin*' -UseDeviceCode -AcceptDataProcessingAgreement"

        $step.ErrorId | Should -BeNullOrEmpty -Because $step.Output
        $step.Connections[0].InstanceUrl | Should -Be 'https://contoso-fin.crm4.dynamics.com/'
        $step.Connections[0].OrganizationId | Should -Be $financeOrganization

        $null = Connect-ConnectionNode -StorePath $store
        $yaml = Export-ConnectionConfiguration | Out-String
        $yaml | Should -Match 'instanceUrl: https://contoso-fin\.crm4\.dynamics\.com'
    }

    It 'several environments at a terminal: PowerShell''s choice prompt lists name, URL and region, and the answer is used' -Skip:(-not $IsLinux -or -not (Get-Command script -CommandType Application -ErrorAction SilentlyContinue)) {
        $step = Invoke-StepAtTerminal -StorePath (Join-Path $TestDrive 'prompt/store.db') -WaitFor '(default is' -Answer '2' `
            -Command 'New-Connection -Name d365 -Type Dynamics365 -UseDeviceCode -AcceptDataProcessingAgreement'

        $step.ErrorId | Should -BeNullOrEmpty -Because $step.Output
        $step.Output | Should -Match 'Choose the environment of connection ''d365'''
        $step.Output | Should -Match '\[1\] Contoso Finance\s+https://contoso-fin\.crm4\.dynamics\.com/\s+EMEA'
        $step.Output | Should -Match '\[2\] Contoso Sales\s+https://contoso\.crm\.dynamics\.com/\s+NA'
        $step.Connections.Count | Should -Be 1
        $step.Connections[0].InstanceUrl | Should -Be 'https://contoso.crm.dynamics.com/'
        $step.Connections[0].OrganizationId | Should -Be $salesOrganization
    }

    It 'several environments where no one can be asked (input redirected): ChoiceRequired lists them, nothing stored' {
        $step = Invoke-Step -StorePath (Join-Path $TestDrive 'several/store.db') -Command 'New-Connection -Name d365 -Type Dynamics365 -UseDeviceCode -AcceptDataProcessingAgreement'

        $step.ErrorId | Should -Be 'ConnectionTools.Environment.ChoiceRequired' -Because $step.Output
        $step.Message | Should -Match 'Contoso Sales \(https://contoso\.crm\.dynamics\.com/, NA\)'
        $step.Message | Should -Match 'Contoso Finance \(https://contoso-fin\.crm4\.dynamics\.com/, EMEA\)'
        $step.Fix | Should -Match '-EnvironmentName'
        $step.Connections.Count | Should -Be 0
        $step.History | Should -Be 0
    }

    It 'a -NonInteractive session: the sign-in is refused before anything is sent, nothing stored' {
        $step = Invoke-Step -NonInteractive -StorePath (Join-Path $TestDrive 'noninteractive/store.db') -Command 'New-Connection -Name d365 -Type Dynamics365 -UseDeviceCode -AcceptDataProcessingAgreement'

        $step.ErrorId | Should -Be 'ConnectionTools.Authorization.InteractionRequired' -Because $step.Output
        $step.Connections.Count | Should -Be 0
        $step.History | Should -Be 0
    }

    It '<Case>: <ErrorId>, nothing stored' -TestCases @(
        @{ Case = 'no environment'; ErrorId = 'ConnectionTools.Environment.NoneFound'; Name = $null; Environments = @(); Refuse = 0; Pattern = 'can reach no Dynamics 365 environment in the Public cloud' }
        @{ Case = 'a name that matches none'; ErrorId = 'ConnectionTools.Environment.NotFound'; Name = 'Marketing'; Environments = $null; Refuse = 0; Pattern = 'matches -EnvironmentName' }
        @{ Case = 'a name that matches both'; ErrorId = 'ConnectionTools.Environment.Ambiguous'; Name = 'Contoso*'; Environments = $null; Refuse = 0; Pattern = 'matches 2 environments' }
        @{ Case = 'the discovery service refuses the account'; ErrorId = 'ConnectionTools.Environment.DiscoveryRefused'; Name = $null; Environments = $null; Refuse = 403; Pattern = 'HTTP 403' }
    ) {
        if ($null -ne $Environments) { Set-Environment $Environments }
        if ($Refuse) { $null = Invoke-Control -Method Post -Path 'entra/discovery/refuse' -Body @{ Status = $Refuse } }
        $nameArgument = if ($Name) { "-EnvironmentName '$Name'" } else { '' }
        $step = Invoke-Step -StorePath (Join-Path $TestDrive "$($ErrorId.Split('.')[-1])/store.db") -Command "New-Connection -Name d365 -Type Dynamics365 $nameArgument -UseDeviceCode -AcceptDataProcessingAgreement"

        $step.ErrorId | Should -Be $ErrorId -Because $step.Output
        $step.Message | Should -Match $Pattern
        $step.Message | Should -Match 'Nothing was stored'
        $step.Fix | Should -Not -BeNullOrEmpty
        $step.Connections.Count | Should -Be 0
        $step.History | Should -Be 0
    }

    It 'client credentials without -InstanceUrl: InstanceUrlRequired, nothing sent' {
        $step = Invoke-Step -StorePath (Join-Path $TestDrive 'app/store.db') -Command "New-Connection -Name d365 -Type Dynamics365 -TenantId contoso.onmicrosoft.com -ClientId '$($ready.EntraAppId)' -ClientSecret (ConvertTo-SecureString '$($ready.EntraSecret)' -AsPlainText -Force) -AcceptDataProcessingAgreement"

        $step.ErrorId | Should -Be 'ConnectionTools.Authorization.InstanceUrlRequired' -Because $step.Output
        $step.Fix | Should -Match '-InstanceUrl'
        $step.Connections.Count | Should -Be 0
    }

    It 'Find-ConnectionEnvironment lists both in its table at 80 columns and stores nothing' {
        $step = Invoke-Step -StorePath (Join-Path $TestDrive 'find/store.db') -Command 'Find-ConnectionEnvironment -Type Dynamics365 -UseDeviceCode | Format-Table | Out-String -Width 80 -Stream'

        $step.ErrorId | Should -BeNullOrEmpty -Because $step.Output
        $step.Output | Should -Match 'FriendlyName\s+Region\s+Version\s+Url'
        $step.Output | Should -Match 'Contoso Finance\s+EMEA\s+9\.2\.25063\.00178\s+https://contoso-fin\.crm4\.dynamics\.com/'
        $step.Output | Should -Match 'Contoso Sales\s+NA\s+9\.2\.25063\.00178\s+https://contoso\.crm\.dynamics\.com/'
        @($step.Output -split '\r?\n' | Where-Object { $_ -match '^(FriendlyName|Contoso)' -and $_.TrimEnd().Length -gt 80 }) | Should -BeNullOrEmpty
        $step.Connections.Count | Should -Be 0
        $step.History | Should -Be 0
    }

    It 'Salesforce without -InstanceUrl signs in at login.salesforce.com and keeps the org''s own URL, in the export too' {
        $store = Join-Path $TestDrive 'salesforce/store.db'
        $step = Invoke-Step -StorePath $store -Command "New-Connection -Name sf -Type SalesforceProduction -UseDeviceCode -ClientId '$($ready.SalesforceConsumerKey)' -AcceptDataProcessingAgreement"

        $step.ErrorId | Should -BeNullOrEmpty -Because $step.Output
        $step.Connections[0].InstanceUrl | Should -Be 'https://contoso.my.salesforce.com/'
        $step.Connections[0].OrganizationId | Should -Be $ready.SalesforceOrganizationId
        Get-Content -LiteralPath $providers.ProxyLog -Raw | Should -Match 'login\.salesforce\.com'

        $null = Connect-ConnectionNode -StorePath $store
        Export-ConnectionConfiguration | Out-String | Should -Match 'instanceUrl: https://contoso\.my\.salesforce\.com'
    }
}
