#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Salesforce and Dynamics 365 connections (New-Connection, Test-ConnectionAuthorization,
    Update-ConnectionAuthorization), from the built module in out/ConnectionTools, without any network:
    parameter metadata, every check that fails before the first request with its error id, -WhatIf,
    empty stores, and help. Nothing here may reach a provider or open a browser, whether the session
    can prompt or not: every New-Connection call either fails a check that runs before the flow is
    chosen, uses an unattended flow, or runs with -WhatIf. The one sign-in that needs a person runs in
    a child pwsh -NonInteractive, where it must fail at once.

    Run it with ./build.ps1 -Task Test (in a fresh pwsh process), or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/SystemConnections.Tests.ps1 -Output Detailed
#>

Describe 'System connections' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')

        function Use-EmptyStore {
            # Makes a new, empty store under TestDrive this session's store, and returns its path.
            param([Parameter(Mandatory)] [string] $Name)
            $path = Join-Path $TestDrive "$Name.db"
            $null = Connect-ConnectionNode -Create -StorePath $path
            $path
        }

        function Get-TerminatingError {
            # Runs the script block with -ErrorAction Stop semantics and returns the error record it threw, or $null.
            param([Parameter(Mandatory)] [scriptblock] $ScriptBlock)
            try {
                $null = & $ScriptBlock
                $null
            }
            catch {
                $_
            }
        }

        function New-TestCertificateFile {
            # A self-signed certificate with its private key, as a .pfx under TestDrive: enough for every check
            # that runs before a JWT bearer or client certificate sign-in would send anything.
            param([Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [securestring] $Password)
            $rsa = [System.Security.Cryptography.RSA]::Create(2048)
            try {
                $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new(
                    'CN=ConnectionTools Pester', $rsa, [System.Security.Cryptography.HashAlgorithmName]::SHA256,
                    [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
                $certificate = $request.CreateSelfSigned([DateTimeOffset]::UtcNow.AddDays(-1), [DateTimeOffset]::UtcNow.AddDays(30))
                try {
                    $plain = [System.Net.NetworkCredential]::new('', $Password).Password
                    $path = Join-Path $TestDrive "$Name.pfx"
                    [System.IO.File]::WriteAllBytes($path, $certificate.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pfx, $plain))
                    $path
                }
                finally {
                    $certificate.Dispose()
                }
            }
            finally {
                $rsa.Dispose()
            }
        }

        $salesforceUrl = 'https://contoso.my.salesforce.com'
        $dynamicsUrl = 'https://contoso.crm.dynamics.com'
    }

    AfterAll {
        Close-TestSession
    }

    Context 'Parameter metadata' {
        It 'imports without warnings and exports the three cmdlets' {
            (@($importWarnings) | Where-Object { $null -ne $_ } | ForEach-Object { $_.Message }) -join '; ' | Should -BeNullOrEmpty
            foreach ($name in 'New-Connection', 'Test-ConnectionAuthorization', 'Update-ConnectionAuthorization') {
                $module.ExportedCmdlets.ContainsKey($name) | Should -BeTrue -Because "$name is part of the module"
            }
        }

        It 'New-Connection has its parameters, in one parameter set' {
            $command = Get-Command -Name New-Connection
            $expected = 'Name', 'Type', 'InstanceUrl', 'EnvironmentType', 'Description', 'AcceptDataProcessingAgreement',
                'UseDeviceCode', 'ClientId', 'Username', 'TenantId', 'CertificatePath', 'CertificateThumbprint',
                'CertificatePassword', 'ClientSecret', 'Credential'
            foreach ($name in $expected) {
                $command.Parameters.ContainsKey($name) | Should -BeTrue -Because "New-Connection has -$name"
            }
            @($command.ParameterSets).Count | Should -Be 1
            $command.ParameterSets[0].Name | Should -Be '__AllParameterSets'
        }

        It 'New-Connection requires -Name (position 0) and -Type, and nothing else (-InstanceUrl is optional: issue #19)' {
            $set = (Get-Command -Name New-Connection).ParameterSets[0]
            $mandatory = @($set.Parameters | Where-Object IsMandatory | ForEach-Object Name | Sort-Object)
            $mandatory -join ',' | Should -Be 'Name,Type'
            ($set.Parameters | Where-Object Name -eq 'Name').Position | Should -Be 0
        }

        It 'New-Connection takes secrets only as SecureString or PSCredential' {
            $parameters = (Get-Command -Name New-Connection).Parameters
            $parameters['ClientSecret'].ParameterType | Should -Be ([securestring])
            $parameters['CertificatePassword'].ParameterType | Should -Be ([securestring])
            $parameters['Credential'].ParameterType | Should -Be ([pscredential])
            $parameters['AcceptDataProcessingAgreement'].SwitchParameter | Should -BeTrue
            $parameters['UseDeviceCode'].SwitchParameter | Should -BeTrue
        }

        It '<Command> supports ShouldProcess: <ShouldProcess>' -TestCases @(
            @{ Command = 'New-Connection'; ShouldProcess = $true }
            @{ Command = 'Update-ConnectionAuthorization'; ShouldProcess = $true }
            @{ Command = 'Test-ConnectionAuthorization'; ShouldProcess = $false }
        ) {
            $command = Get-Command -Name $Command
            $attribute = $command.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
            $attribute.SupportsShouldProcess | Should -Be $ShouldProcess
            $command.Parameters.ContainsKey('WhatIf') | Should -Be $ShouldProcess
            $command.Parameters.ContainsKey('Confirm') | Should -Be $ShouldProcess
        }

        It 'Test-ConnectionAuthorization tests everything by default, or named connections' {
            $command = Get-Command -Name Test-ConnectionAuthorization
            $command.DefaultParameterSet | Should -Be 'All'
            (@($command.ParameterSets | ForEach-Object Name | Sort-Object)) -join ',' | Should -Be 'All,ById,ByInputObject,ByName'
            $command.Parameters['ThrottleLimit'].ParameterType | Should -Be ([int])
        }

        It 'Update-ConnectionAuthorization selects by name by default, or by -Status' {
            $command = Get-Command -Name Update-ConnectionAuthorization
            $command.DefaultParameterSet | Should -Be 'ByName'
            (@($command.ParameterSets | ForEach-Object Name | Sort-Object)) -join ',' | Should -Be 'ById,ByInputObject,ByName,ByStatus'
            $byStatus = $command.ParameterSets | Where-Object Name -eq 'ByStatus'
            ($byStatus.Parameters | Where-Object Name -eq 'Status').IsMandatory | Should -BeTrue
            foreach ($name in 'AcceptNewOrganizationId', 'ThrottleLimit', 'UseDeviceCode', 'ClientId', 'Username', 'TenantId',
                'CertificatePath', 'CertificateThumbprint', 'CertificatePassword', 'ClientSecret', 'Credential') {
                $command.Parameters.ContainsKey($name) | Should -BeTrue -Because "Update-ConnectionAuthorization has -$name"
            }
        }

        It '<Command> declares its output type <Type>' -TestCases @(
            @{ Command = 'New-Connection'; Type = 'ConnectionTools.Connections.Connection' }
            @{ Command = 'Test-ConnectionAuthorization'; Type = 'ConnectionTools.Authorization.AuthorizationResult' }
            @{ Command = 'Update-ConnectionAuthorization'; Type = 'ConnectionTools.Authorization.AuthorizationResult' }
        ) {
            @((Get-Command -Name $Command).OutputType | ForEach-Object Name) | Should -Contain $Type
        }

        It 'completes -Type and -EnvironmentType with Tab' {
            $types = (TabExpansion2 -inputScript 'New-Connection -Type ' -cursorColumn 'New-Connection -Type '.Length).CompletionMatches.CompletionText
            ($types | Sort-Object) -join ',' | Should -Be 'Dynamics365,SalesforceProduction,SalesforceSandbox'
            $clouds = (TabExpansion2 -inputScript 'New-Connection -EnvironmentType G' -cursorColumn 'New-Connection -EnvironmentType G'.Length).CompletionMatches.CompletionText
            ($clouds | Sort-Object) -join ',' | Should -Be 'GCC,GCCHigh'
        }
    }

    Context 'Checks before any network call' {
        BeforeEach {
            $null = Use-EmptyStore -Name ("checks-" + [guid]::NewGuid().ToString('n'))
        }

        It 'refuses to create a connection without -AcceptDataProcessingAgreement, and creates nothing' {
            $record = Get-TerminatingError {
                New-Connection -Name 'sf-prod' -Type SalesforceProduction -InstanceUrl $salesforceUrl -ErrorAction Stop
            }

            $record | Should -Not -BeNullOrEmpty
            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Authorization.AgreementRequired,*'
            $record.FullyQualifiedErrorId | Should -Be 'ConnectionTools.Authorization.AgreementRequired,ConnectionTools.PowerShell.Cmdlets.NewConnectionCommand'
            $record.CategoryInfo.Category | Should -Be 'InvalidOperation'
            $record.ErrorDetails.RecommendedAction | Should -Match 'AcceptDataProcessingAgreement'
            @(Get-Connection).Count | Should -Be 0
            @(Get-Connection -IncludeRemoved).Count | Should -Be 0
        }

        It 'refuses an http:// InstanceUrl that is not loopback' {
            $record = Get-TerminatingError {
                New-Connection -Name 'sf-http' -Type SalesforceProduction -InstanceUrl 'http://contoso.my.salesforce.com' `
                    -AcceptDataProcessingAgreement -ErrorAction Stop
            }

            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Authorization.InvalidInstanceUrl,*'
            $record.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $record.Exception.Message | Should -Match 'Nothing was sent'
            @(Get-Connection).Count | Should -Be 0
        }

        It 'refuses a sandbox host for a production connection, and says which type it is' {
            $record = Get-TerminatingError {
                New-Connection -Name 'sf-mixed' -Type SalesforceProduction -InstanceUrl 'https://contoso--uat.sandbox.my.salesforce.com' `
                    -AcceptDataProcessingAgreement -ErrorAction Stop
            }

            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Authorization.InvalidInstanceUrl,*'
            $record.ErrorDetails.RecommendedAction | Should -Match 'SalesforceSandbox'
        }

        It 'refuses -EnvironmentType Azure' {
            $record = Get-TerminatingError {
                New-Connection -Name 'd365-azure' -Type Dynamics365 -InstanceUrl $dynamicsUrl -EnvironmentType Azure `
                    -AcceptDataProcessingAgreement -ErrorAction Stop
            }

            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Authorization.InvalidEnvironmentType,*'
            $record.ErrorDetails.RecommendedAction | Should -Match 'GCCHigh'
            @(Get-Connection).Count | Should -Be 0
        }

        It 'refuses -EnvironmentType for a Salesforce connection' {
            $record = Get-TerminatingError {
                New-Connection -Name 'sf-cloud' -Type SalesforceProduction -InstanceUrl $salesforceUrl -EnvironmentType Public `
                    -AcceptDataProcessingAgreement -ErrorAction Stop
            }

            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Authorization.InvalidEnvironmentType,*'
        }

        It 'refuses -Type Private and points to New-PrivateConnection' {
            $record = Get-TerminatingError {
                New-Connection -Name 'peer' -Type Private -InstanceUrl $salesforceUrl -AcceptDataProcessingAgreement -ErrorAction Stop
            }

            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Authorization.InvalidFlow,*'
            $record.ErrorDetails.RecommendedAction | Should -Match 'New-PrivateConnection'
        }

        It 'refuses a client secret for Salesforce' {
            $secret = ConvertTo-SecureString -String 'not-a-real-secret' -AsPlainText -Force
            $record = Get-TerminatingError {
                New-Connection -Name 'sf-secret' -Type SalesforceProduction -InstanceUrl $salesforceUrl -ClientId 'consumer-key' `
                    -ClientSecret $secret -AcceptDataProcessingAgreement -ErrorAction Stop
            }

            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Authorization.InvalidFlow,*'
        }

        It 'reports a missing -CertificatePath file for <Type>' -TestCases @(
            @{ Type = 'SalesforceProduction'; Url = 'https://contoso.my.salesforce.com'; Extra = @{ ClientId = 'consumer-key'; Username = 'integration@contoso.com' } }
            @{ Type = 'Dynamics365'; Url = 'https://contoso.crm.dynamics.com'; Extra = @{ ClientId = '00000000-0000-0000-0000-000000000001'; TenantId = 'contoso.onmicrosoft.com' } }
        ) {
            $missing = Join-Path $TestDrive 'no-such-certificate.pfx'
            $record = Get-TerminatingError {
                New-Connection -Name 'unattended' -Type $Type -InstanceUrl $Url -CertificatePath $missing @Extra `
                    -AcceptDataProcessingAgreement -ErrorAction Stop
            }

            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Authorization.CertificateNotFound,*'
            $record.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $record.Exception.Message | Should -Match ([regex]::Escape('no-such-certificate.pfx'))
            @(Get-Connection).Count | Should -Be 0
        }

        It 'reports a wrong certificate password without showing it' {
            $password = ConvertTo-SecureString -String 'right-password' -AsPlainText -Force
            $wrong = ConvertTo-SecureString -String 'wrong-password-123' -AsPlainText -Force
            $pfx = New-TestCertificateFile -Name 'password-check' -Password $password
            $record = Get-TerminatingError {
                New-Connection -Name 'sf-jwt' -Type SalesforceProduction -InstanceUrl $salesforceUrl -ClientId 'consumer-key' `
                    -Username 'integration@contoso.com' -CertificatePath $pfx -CertificatePassword $wrong `
                    -AcceptDataProcessingAgreement -ErrorAction Stop
            }

            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Authorization.CertificatePassword,*'
            ($record | Out-String) | Should -Not -Match 'wrong-password-123'
        }
    }

    Context '-WhatIf' {
        BeforeAll {
            $null = Use-EmptyStore -Name 'whatif'
            $password = ConvertTo-SecureString -String 'pfx-password' -AsPlainText -Force
            $pfx = New-TestCertificateFile -Name 'whatif' -Password $password
        }

        It 'runs the checks, sends nothing and creates nothing' {
            # The instance URL is a loopback listener: a JWT bearer sign-in would post its assertion there.
            $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $listener.Start()
            try {
                $url = "http://127.0.0.1:$($listener.LocalEndpoint.Port)/"
                $output = New-Connection -Name 'sf-whatif' -Type SalesforceProduction -InstanceUrl $url -ClientId 'consumer-key' `
                    -Username 'integration@contoso.com' -CertificatePath $pfx -CertificatePassword $password `
                    -AcceptDataProcessingAgreement -WhatIf -ErrorVariable failures
                Start-Sleep -Milliseconds 200
                $listener.Pending() | Should -BeFalse -Because 'nothing may be sent with -WhatIf'
            }
            finally {
                $listener.Stop()
            }

            $output | Should -BeNullOrEmpty
            @($failures).Count | Should -Be 0
            @(Get-Connection -IncludeRemoved).Count | Should -Be 0
        }

        It 'still reports a check that fails, before anything would be sent' {
            $record = Get-TerminatingError {
                New-Connection -Name 'sf-whatif-bad' -Type SalesforceProduction -InstanceUrl 'http://contoso.my.salesforce.com' `
                    -AcceptDataProcessingAgreement -WhatIf -ErrorAction Stop
            }

            $record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Authorization.InvalidInstanceUrl,*'
        }

        It 'takes rows from the pipeline by property name' {
            $secret = ConvertTo-SecureString -String 'not-a-real-secret' -AsPlainText -Force
            $rows = @(
                [pscustomobject]@{ Name = 'd365-a'; Type = 'Dynamics365'; InstanceUrl = 'https://contoso-a.crm.dynamics.com'; Description = 'A' }
                [pscustomobject]@{ Name = 'd365-b'; Type = 'Dynamics365'; InstanceUrl = 'https://contoso-b.crm4.dynamics.com'; Description = 'B' }
            )
            $output = $rows | New-Connection -TenantId 'contoso.onmicrosoft.com' -ClientId '00000000-0000-0000-0000-000000000001' `
                -ClientSecret $secret -AcceptDataProcessingAgreement -WhatIf -ErrorVariable failures

            $output | Should -BeNullOrEmpty
            @($failures).Count | Should -Be 0
            @(Get-Connection).Count | Should -Be 0
        }
    }

    Context 'A session that cannot prompt' {
        It 'fails an interactive sign-in at once with InteractionRequired, and exits with 1' {
            $store = Join-Path $TestDrive 'non-interactive.db'
            # CONNECTIONTOOLS_STORE must name an existing store: create it once, in a process of its own.
            & $pwshPath -NoProfile -NonInteractive -Command "Import-Module '$manifestPath'; Connect-ConnectionNode -Create -StorePath '$store' | Out-Null"
            $saved = $env:CONNECTIONTOOLS_STORE
            try {
                $env:CONNECTIONTOOLS_STORE = $store
                # A script block given to -Command runs in the child and comes back as deserialized objects.
                $child = & $pwshPath -NoProfile -NonInteractive -Command {
                    param($Manifest, $Url)
                    Import-Module -Name $Manifest -ErrorAction Stop
                    $watch = [System.Diagnostics.Stopwatch]::StartNew()
                    try {
                        New-Connection -Name 'sf-interactive' -Type SalesforceProduction -InstanceUrl $Url `
                            -AcceptDataProcessingAgreement -ErrorAction Stop
                        $id = ''
                    }
                    catch {
                        $id = $_.FullyQualifiedErrorId
                    }
                    [pscustomobject]@{ ErrorId = $id; Seconds = $watch.Elapsed.TotalSeconds; Count = @(Get-Connection).Count }
                    # The last command fails, so pwsh -Command exits with 1.
                    Update-ConnectionAuthorization -Name 'no-such-connection' -ErrorAction SilentlyContinue
                } -args $manifestPath, $salesforceUrl
                $exitCode = $LASTEXITCODE
            }
            finally {
                $env:CONNECTIONTOOLS_STORE = $saved
            }

            $child.ErrorId | Should -BeLike 'ConnectionTools.Authorization.InteractionRequired,*'
            $child.Seconds | Should -BeLessThan 30
            $child.Count | Should -Be 0
            $exitCode | Should -Be 1
        }
    }

    Context 'Testing and renewing on an empty store' {
        BeforeAll {
            $null = Use-EmptyStore -Name 'empty'
        }

        It 'Test-ConnectionAuthorization outputs nothing and writes no error' {
            $output = Test-ConnectionAuthorization -ErrorVariable failures
            $output | Should -BeNullOrEmpty
            @($failures).Count | Should -Be 0
        }

        It 'Update-ConnectionAuthorization -Status Inactive outputs nothing and writes no error' {
            $output = Update-ConnectionAuthorization -Status Inactive -ErrorVariable failures
            $output | Should -BeNullOrEmpty
            @($failures).Count | Should -Be 0
        }

        It 'Update-ConnectionAuthorization -Name reports a connection that does not exist' {
            $null = Update-ConnectionAuthorization -Name 'missing' -ErrorAction SilentlyContinue -ErrorVariable failures
            @($failures).Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Connection.NotFound,*'
        }

        It 'Test-ConnectionAuthorization -Name reports a connection that does not exist' {
            $null = Test-ConnectionAuthorization -Name 'missing' -ErrorAction SilentlyContinue -ErrorVariable failures
            @($failures).Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Connection.NotFound,*'
        }
    }

    Context 'Help and formatting' {
        It 'Get-Help <Command> -Full has a synopsis, parameters and examples' -TestCases @(
            @{ Command = 'New-Connection' }
            @{ Command = 'Test-ConnectionAuthorization' }
            @{ Command = 'Update-ConnectionAuthorization' }
        ) {
            $help = Get-Help -Name $Command -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty
            # Without a help file, Get-Help makes up a synopsis from the syntax, which starts with the command's name.
            $help.Synopsis.Trim() | Should -Not -BeLike "$Command *"
            @($help.examples.example).Count | Should -BeGreaterOrEqual 2
            @($help.examples.example | Where-Object { $_.code -match [regex]::Escape($Command) }).Count | Should -BeGreaterOrEqual 2
        }

        It 'New-Connection help names the error ids it can raise' {
            $text = Get-Help -Name New-Connection -Full | Out-String -Width 200
            $text | Should -Match ([regex]::Escape('ConnectionTools.Authorization.AgreementRequired'))
            $text | Should -Match ([regex]::Escape('ConnectionTools.Authorization.InvalidInstanceUrl'))
        }

        It 'has a table view for AuthorizationResult with the columns an admin scans' {
            # No provider answers in this suite, so a stand-in carries the type name the view is selected by.
            $result = [pscustomobject]@{
                Name           = 'sf-prod'
                Type           = 'SalesforceProduction'
                Result         = 'Expired'
                StatusBefore   = 'Active'
                Status         = 'Inactive'
                InactiveReason = 'Expired'
                Message        = 'The authorization has expired.'
            }
            $result.PSTypeNames.Insert(0, 'ConnectionTools.Authorization.AuthorizationResult')
            # At an 80-column terminal, what an admin acts on: which connection, its status and reason, and the fix.
            # Type, Result and StatusBefore are in the list view.
            $text = ($result | Format-Table | Out-String -Width 80) -replace '\x1b\[[0-9;]*m', ''
            $text | Should -Match 'Name\s+Status\s+InactiveReason\s+Message'
            $text | Should -Match 'sf-prod\s+Inactive\s+Expired\s+The authorization has expired\.'
        }
    }
}
