#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Connections as code, as an admin and a pipeline use it: the built module imported from out/ConnectionTools, a store
    under TestDrive, and configuration files written by the tests. Only private connections (public side) are applied
    here: they need no network. Exit codes are checked in a fresh pwsh process, the way a CI step runs a script.

    Run it with ./build.ps1 -Task Test, or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/Configuration.Tests.ps1 -Output Detailed
#>

Describe 'Connections as code' {
    BeforeAll {
        # The built module, a safety-net store under TestDrive, and $pwshPath for the fresh processes. Close-TestSession undoes it.
        . (Join-Path $PSScriptRoot 'TestSession.ps1')

        function New-ConfigurationStore {
            # A fresh store with a public URL, made this session's store; returns its folder.
            param([Parameter(Mandatory)] [string] $Name)
            $folder = Join-Path $TestDrive $Name
            New-Item -ItemType Directory -Path $folder -Force | Out-Null
            Connect-ConnectionNode -Create -StorePath (Join-Path $folder 'store.db') | Out-Null
            Set-ConnectionNode -PublicUrl 'https://node.contoso.example/' | Out-Null
            $folder
        }

        function New-ConfigurationFile {
            param([Parameter(Mandatory)] [string] $Folder, [Parameter(Mandatory)] [string] $Text, [string] $Name = 'connections.yaml')
            $path = Join-Path $Folder $Name
            Set-Content -LiteralPath $path -Value $Text -Encoding utf8NoBOM
            $path
        }

        $twoPartners = @'
apiVersion: connectiontools/v1
name: partners
connections:
  - name: partner-eu
    type: Private
    side: Public
    localInstanceName: contoso-public
    invitationCodePath: codes/partner-eu.txt
  - name: partner-us
    type: Private
    side: Public
    mode: Script
    localInstanceName: contoso-public
    description: US partner
'@
    }

    AfterAll {
        Close-TestSession
    }

    Context 'The module' {
        It 'exports the three configuration cmdlets' {
            foreach ($name in 'Test-ConnectionConfiguration', 'Invoke-ConnectionConfiguration', 'Export-ConnectionConfiguration') {
                Get-Command -Name $name -Module ConnectionTools -ErrorAction Stop | Should -Not -BeNullOrEmpty
            }
        }

        It 'ships the example configuration, which validates up to its references' {
            $example = Join-Path (Split-Path $manifestPath) 'examples/connections.yaml'
            Test-Path -LiteralPath $example | Should -BeTrue
            $null = New-ConfigurationStore -Name 'example'
            $errors = $null
            Test-ConnectionConfiguration -Path $example -ErrorVariable errors -ErrorAction SilentlyContinue | Out-Null
            # Only the references (an unset variable, a missing file, a vault) may fail in a bare session.
            $errors | Should -Not -BeNullOrEmpty
            $errors | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Configuration.UnresolvedReference,*' }
        }
    }

    Context 'The shipped example, planned before it is applied' {
        BeforeAll {
            # The example as an admin first runs it: its references resolve (the vault one through an environment variable
            # here, as this session has no SecretManagement vault), and the node has no public URL yet.
            $exampleFolder = Join-Path $TestDrive 'first-hour'
            New-Item -ItemType Directory -Path (Join-Path $exampleFolder 'codes') -Force | Out-Null
            $null = New-ConfigurationStore -Name 'northwind'
            $code = (New-PrivateConnection -Name 'from-northwind' -LocalInstanceName 'northwind-public').InvitationCode
            Set-Content -LiteralPath (Join-Path $exampleFolder 'codes/from-northwind.txt') -Value $code -Encoding utf8NoBOM
            $text = Get-Content -LiteralPath (Join-Path (Split-Path $manifestPath) 'examples/connections.yaml') -Raw
            $examplePath = New-ConfigurationFile -Folder $exampleFolder -Text ($text -replace 'vault:CorpVault/crm-gov-client-secret', 'env:CT_PESTER_CRM_SECRET')
            $env:SF_CERT_PASSWORD = 'not-the-real-password'
            $env:CT_PESTER_CRM_SECRET = 'not-the-real-secret'
            $folder = Join-Path $TestDrive 'first-hour-store'
            New-Item -ItemType Directory -Path $folder -Force | Out-Null
            Connect-ConnectionNode -StorePath (Join-Path $folder 'store.db') -Create | Out-Null
        }

        AfterAll {
            $env:SF_CERT_PASSWORD = $null
            $env:CT_PESTER_CRM_SECRET = $null
        }

        It 'Test-ConnectionConfiguration names the connections that would fail, and why' {
            $results = @(Test-ConnectionConfiguration -Path $examplePath -ErrorAction Stop)
            $results.Name | Should -Be @('sf-prod', 'sf-uat', 'crm-gov', 'partner-fabrikam', 'from-northwind')
            $byName = @{}
            $results | ForEach-Object { $byName[$_.Name] = $_ }
            $byName['sf-prod'].ErrorId | Should -Be 'ConnectionTools.Authorization.CertificateNotFound'
            $byName['sf-prod'].Note | Should -BeLike '*salesforce-jwt.pfx*'
            $byName['sf-uat'].ErrorId | Should -Be 'ConnectionTools.Authorization.CertificateNotFound'
            $byName['partner-fabrikam'].ErrorId | Should -Be 'ConnectionTools.Node.NoPublicUrl'
            # The two that can only fail on the network are planned as they would be applied.
            $byName['crm-gov'].ErrorId | Should -BeNullOrEmpty
            $byName['crm-gov'].PlannedAction | Should -Be 'Create'
            $byName['from-northwind'].ErrorId | Should -BeNullOrEmpty
            $byName['from-northwind'].PlannedAction | Should -Be 'Accept'
        }

        It '-WhatIf writes the error each failing connection would get, with the fix for this platform' {
            $errors = $null
            $results = @(Invoke-ConnectionConfiguration -Path $examplePath -WhatIf -ErrorVariable errors -ErrorAction SilentlyContinue)
            $results.Outcome | Should -Be @('Failed', 'Failed', 'Skipped', 'Failed', 'Skipped')
            @($errors).Count | Should -Be 3
            @($errors | ForEach-Object { $_.FullyQualifiedErrorId -replace ',.*$' }) |
                Should -Be @('ConnectionTools.Authorization.CertificateNotFound', 'ConnectionTools.Authorization.CertificateNotFound', 'ConnectionTools.Node.NoPublicUrl')
            $thumbprint = $errors | Where-Object { $_.Exception.Message -match '0123456789ABCDEF' }
            $thumbprint | Should -HaveCount 1
            if ($IsWindows) {
                $thumbprint.ErrorDetails.RecommendedAction | Should -Match 'Import-PfxCertificate'
            }
            else {
                $thumbprint.Exception.Message | Should -Not -Match 'Cert:\\'
                $thumbprint.ErrorDetails.RecommendedAction | Should -Not -Match 'Import-PfxCertificate|Cert:\\'
                $thumbprint.ErrorDetails.RecommendedAction | Should -Match 'certificatePath'
            }
            Get-Connection | Should -BeNullOrEmpty
        }
    }

    Context 'A file with mistakes' {
        BeforeAll {
            $folder = New-ConfigurationStore -Name 'mistakes'
        }

        It 'suggests the closest key for a misspelt one' {
            $path = New-ConfigurationFile -Folder $folder -Text @'
apiVersion: connectiontools/v1
connections:
  - name: partner-eu
    type: Private
    side: Public
    descripton: EU partner
    localInstanceName: contoso
'@
            $errors = $null
            Test-ConnectionConfiguration -Path $path -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $errors | Should -HaveCount 1
            $errors[0].Exception.Message | Should -BeLike "*:6:5: *did you mean 'description'?"
        }

        It 'reports every error of the file in one run, in file order, duplicates included' {
            $path = New-ConfigurationFile -Folder $folder -Text @'
apiVersion: connectiontools/v1
connections:
  - name: crm-eu
    type: Private
    side: Public
    colour: blue
    state: Running
    localInstanceName: contoso
  - name: crm-us
    type: Private
    side: Public
    localInstanceName: contoso
    localInstanceName: other
  - name: CRM-EU
    type: Private
    side: Public
    localInstanceName: contoso
'@
            $errors = $null
            Test-ConnectionConfiguration -Path $path -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            @($errors | ForEach-Object { $_.TargetObject.Line }) | Should -Be @(6, 7, 13, 14)
            @($errors | ForEach-Object { $_.FullyQualifiedErrorId -replace ',.*$' }) | Should -Be @(
                'ConnectionTools.Configuration.UnknownKey', 'ConnectionTools.Configuration.InvalidValue',
                'ConnectionTools.Configuration.DuplicateKey', 'ConnectionTools.Configuration.DuplicateName')
        }

        It 'says a missing file is not found, without a line and column' {
            $missing = Join-Path $folder 'missing.yaml'
            $errors = $null
            Test-ConnectionConfiguration -Path $missing -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $errors | Should -HaveCount 1
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Configuration.FileNotFound,*'
            $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $errors[0].Exception.Message | Should -BeExactly "Configuration file not found: $missing"
        }
    }

    Context 'Apply, then apply again' {
        BeforeAll {
            $folder = New-ConfigurationStore -Name 'apply'
            $path = New-ConfigurationFile -Folder $folder -Text $twoPartners
        }

        It '-WhatIf prints the plan and creates nothing' {
            $results = Invoke-ConnectionConfiguration -Path $path -WhatIf
            $results.Outcome | Should -Be @('Skipped', 'Skipped')
            Get-Connection | Should -BeNullOrEmpty
            Test-Path -LiteralPath (Join-Path $folder 'codes') | Should -BeFalse
        }

        It 'creates the declared connections and reports each action with the state before and after' {
            $results = Invoke-ConnectionConfiguration -Path $path -Confirm:$false
            $results.Name | Should -Be @('partner-eu', 'partner-us')
            $results.Action | Should -Be @('Create', 'Create')
            $results.Outcome | Should -Be @('Applied', 'Applied')
            $results.StatusAfter | Should -Be @('Pending', 'Pending')
            (Get-Connection -Name partner-us).Mode | Should -Be 'Script'
            (Get-Content -LiteralPath (Join-Path $folder 'codes/partner-eu.txt') -Raw) | Should -Match '^CT1-'
        }

        It 'plans only None the second time and adds nothing to the history' {
            $before = @(Get-ConnectionHistory -Name partner-eu, partner-us).Count
            $results = Invoke-ConnectionConfiguration -Path $path -Confirm:$false
            $results.Action | Should -Be @('None', 'None')
            $results.Outcome | Should -Be @('Unchanged', 'Unchanged')
            @(Get-ConnectionHistory -Name partner-eu, partner-us).Count | Should -Be $before
        }

        It 'Test reports no drift, then the drift made by hand' {
            (Test-ConnectionConfiguration -Path $path).InDesiredState | Should -Be @($true, $true)
            Set-Connection -Name partner-us -Description 'changed by hand'
            $result = Test-ConnectionConfiguration -Path $path | Where-Object Name -EQ 'partner-us'
            $result.InDesiredState | Should -BeFalse
            $result.DifferingProperties | Should -Be @('description')
            $result.DesiredState['description'] | Should -Be 'US partner'
            $result.ActualState['description'] | Should -Be 'changed by hand'
            $result.PlannedAction | Should -Be 'Update'
        }

        It 'Export then Test reports every connection in the desired state' {
            $exported = Export-ConnectionConfiguration -Path (Join-Path $folder 'export.yaml')
            $exported | Should -BeOfType [System.IO.FileInfo]
            $results = @($exported | Test-ConnectionConfiguration)
            $results.Count | Should -Be 2
            $results | ForEach-Object { $_.InDesiredState | Should -BeTrue }
            Get-Content -LiteralPath $exported.FullName -Raw | Should -Not -Match 'CT1-'
        }

        It '-Prune removes what the file no longer declares, and only that' {
            $path2 = New-ConfigurationFile -Folder $folder -Name 'partners.yaml' -Text ($twoPartners -replace '(?s)  - name: partner-us.*$', '')
            # Same configuration name ("partners"), so it knows partner-us as its own.
            $results = Invoke-ConnectionConfiguration -Path $path2 -Prune -Confirm:$false
            ($results | Where-Object Action -EQ 'Remove').Name | Should -Be 'partner-us'
            Get-Connection -Name partner-us -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Get-Connection -Name partner-eu | Should -Not -BeNullOrEmpty
        }
    }

    Context 'Validation' {
        BeforeAll {
            $folder = New-ConfigurationStore -Name 'validation'
        }

        It 'reports every error with file:line:column and the key, and applies nothing' {
            $path = New-ConfigurationFile -Folder $folder -Text @'
apiVersion: connectiontools/v1
connections:
  - name: good
    type: Private
    side: Public
    localInstanceName: contoso
  - name: bad
    type: Private
    side: Public
    localInstanceName: contoso
    colour: blue
'@
            # Not inside { } | Should -Throw: that script block runs in a child scope, so -ErrorVariable would set $errors
            # there and this test would never see it. try/catch runs in this scope.
            $errors = $null
            $thrown = $null
            try {
                Invoke-ConnectionConfiguration -Path $path -Confirm:$false -ErrorVariable errors -ErrorAction SilentlyContinue
            }
            catch {
                $thrown = $_
            }
            $thrown | Should -Not -BeNullOrEmpty -Because 'a file with errors ends with a terminating Configuration.Invalid'
            $thrown.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Configuration.Invalid,*'
            $unknown = $errors | Where-Object { $_.FullyQualifiedErrorId -like 'ConnectionTools.Configuration.UnknownKey,*' }
            $unknown | Should -HaveCount 1
            $unknown.Exception.Message | Should -BeLike "$([WildcardPattern]::Escape($path)):11:5: *connections``[1``].colour*"
            Get-Connection -Name good -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }

        It 'refuses a literal secret without showing it' {
            $path = New-ConfigurationFile -Folder $folder -Text @'
apiVersion: connectiontools/v1
connections:
  - name: from-partner
    type: Private
    side: Private
    invitationCode: CT1-NOT-A-REFERENCE
'@
            $errors = $null
            Test-ConnectionConfiguration -Path $path -ErrorVariable errors -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Configuration.LiteralSecret,*'
            $errors[0].Exception.Message | Should -Not -Match 'CT1-NOT-A-REFERENCE'
        }

        It 'resolves env: references' {
            $env:CT_PESTER_CODE = 'CT1-NOT-A-REAL-CODE'
            try {
                $path = New-ConfigurationFile -Folder $folder -Text @'
apiVersion: connectiontools/v1
connections:
  - name: from-partner
    type: Private
    side: Private
    invitationCode: env:CT_PESTER_CODE
'@
                $result = Test-ConnectionConfiguration -Path $path -ErrorAction Stop
                $result.PlannedAction | Should -Be 'Accept'
            }
            finally {
                Remove-Item Env:CT_PESTER_CODE
            }
        }
    }

    Context 'Exit status of a pipeline script' {
        It 'pwsh -Command exits non-zero when a connection fails, and zero when all apply' {
            $folder = Join-Path $TestDrive 'exit'
            New-Item -ItemType Directory -Path $folder -Force | Out-Null
            $store = Join-Path $folder 'store.db'
            $good = New-ConfigurationFile -Folder $folder -Name 'good.yaml' -Text $twoPartners
            # A private side whose code is well-formed as a reference but not a code: accepting it fails for that connection.
            Set-Content -LiteralPath (Join-Path $folder 'code.txt') -Value 'CT1-XXXX'
            $bad = New-ConfigurationFile -Folder $folder -Name 'bad.yaml' -Text @'
apiVersion: connectiontools/v1
connections:
  - name: from-partner
    type: Private
    side: Private
    invitationCode: file:code.txt
  - name: partner-ok
    type: Private
    side: Public
    localInstanceName: contoso-public
'@
            # The way the cmdlet's help runs it from a pipeline (Invoke-ConnectionConfiguration, example 2). With -Command the
            # exit code follows $? of the last statement, which non-terminating errors make $false. (pwsh -File exits 0 on
            # normal termination, whatever errors were written, unless the script calls exit.)
            $quote = { param([string] $Value) "'" + $Value.Replace("'", "''") + "'" }
            $commandFor = {
                param([string] $ConfigurationPath)
                "Import-Module -Name $(& $quote $manifestPath) -ErrorAction Stop; " +
                "Connect-ConnectionNode -Create -StorePath $(& $quote $store) | Out-Null; " +
                "Set-ConnectionNode -PublicUrl 'https://node.contoso.example/' | Out-Null; " +
                "Invoke-ConnectionConfiguration -Path $(& $quote $ConfigurationPath) -Confirm:`$false"
            }

            $null = & $pwshPath -NoProfile -NonInteractive -Command (& $commandFor $good) 2>&1
            $LASTEXITCODE | Should -Be 0
            $null = & $pwshPath -NoProfile -NonInteractive -Command (& $commandFor $bad) 2>&1
            $LASTEXITCODE | Should -Not -Be 0

            # A script run with -File and $ErrorActionPreference = 'Stop': the errors come after the last connection, so the
            # good one is still applied, then the first error ends the script and the exit code is 1.
            $store = Join-Path $folder 'fresh.db'
            $script = Join-Path $folder 'apply.ps1'
            Set-Content -LiteralPath $script -Value ("`$ErrorActionPreference = 'Stop'`n" + (& $commandFor $bad).Replace('; ', "`n"))
            $null = & $pwshPath -NoProfile -NonInteractive -File $script 2>&1
            $LASTEXITCODE | Should -Be 1
            Connect-ConnectionNode -Create -StorePath $store | Out-Null
            (Get-Connection -Name 'partner-ok').Status | Should -Be 'Pending'
        }
    }
}
