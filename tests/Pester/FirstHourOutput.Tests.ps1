#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    The rough edges a new admin hit in the first hour, each as the admin met it: invitation codes that pipe and
    print as codes, cmdlets that list instead of prompting, and output objects that read like PowerShell's own.
    Calls that would prompt run in a fresh pwsh with -NonInteractive, so that a prompt fails instead of hanging.
#>

Describe 'The first hour: output that reads like PowerShell' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool

        # A loopback URL on which nothing listens: accepting a code goes as far as the network, and no further.
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $closedPort = $listener.LocalEndpoint.Port
        $listener.Stop()

        $publicStore = Join-Path $TestDrive 'public.db'
        $null = Connect-ConnectionNode -StorePath $publicStore -Create
        $null = Set-ConnectionNode -PublicUrl "http://127.0.0.1:$closedPort/" -Confirm:$false
        $null = New-PrivateConnection -Name 'crm-eu' -LocalInstanceName 'hq'
        $null = New-PrivateConnection -Name 'crm-us' -LocalInstanceName 'hq'
        $codeEu = (Get-InvitationCode -Name 'crm-eu').InvitationCode
        $codeUs = (Get-InvitationCode -Name 'crm-us').InvitationCode
        Add-SeededConnection -StorePath $publicStore -Name 'sf-prod' -Type 'SalesforceProduction' -Status 'Active'
        Add-SeededConnection -StorePath $publicStore -Name 'paused-one' -Type 'Private' -Status 'Paused'

        function Invoke-FreshSession {
            # Runs $Script in a new, non-interactive pwsh with the module imported and the public store connected; returns its output lines.
            param([Parameter(Mandatory)] [string] $Script)
            $prelude = "`$ErrorActionPreference = 'Stop'; `$PSStyle.OutputRendering = 'PlainText'; Import-Module -Name '$manifestPath'; `$null = Connect-ConnectionNode -StorePath '$publicStore'; "
            $output = & $pwshPath -NoProfile -NonInteractive -Command ($prelude + $Script) 2>&1
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = @($output | ForEach-Object { "$_" }) }
        }

        function Get-PeerErrorId {
            # Accepts what is piped in on a throwaway private store and returns the error id it fails with.
            param([Parameter(ValueFromPipeline)] $InputObject)
            begin { $items = [System.Collections.Generic.List[object]]::new() }
            process { $items.Add($InputObject) }
            end {
                $null = Connect-ConnectionNode -StorePath (Join-Path $TestDrive "private-$([guid]::NewGuid()).db") -Create
                try {
                    $failures = $null
                    $null = $items | Approve-ConnectionInvitation -LocalInstanceName 'branch' -ErrorAction SilentlyContinue -ErrorVariable failures
                    @($failures | ForEach-Object { $_.FullyQualifiedErrorId.Split(',')[0] })
                }
                finally {
                    $null = Connect-ConnectionNode -StorePath $publicStore
                }
            }
        }
    }

    AfterAll {
        Close-TestSession
    }

    Context 'Invitation codes' {
        It 'gives exactly the code as a string: interpolated, cast, and converted' {
            "$(Get-InvitationCode -Name 'crm-eu')" | Should -BeExactly $codeEu
            [string](Get-InvitationCode -Name 'crm-eu') | Should -BeExactly $codeEu
            (Get-InvitationCode -Name 'crm-eu').ToString() | Should -BeExactly $codeEu
        }

        It 'writes exactly the code, once, on one line, with Set-Content' {
            $file = Join-Path $TestDrive 'code.txt'
            Get-InvitationCode -Name 'crm-eu' | Set-Content -LiteralPath $file
            $lines = @(Get-Content -LiteralPath $file)
            $lines.Count | Should -Be 1
            $lines[0] | Should -BeExactly $codeEu
        }

        It 'gives exactly the code to a cmdlet that takes strings from the pipeline' {
            # Set-Clipboard needs a clipboard here; Join-String converts what is piped to a string as it does.
            $received = Get-InvitationCode -Name 'crm-eu' | Join-String
            $received | Should -BeExactly $codeEu
        }

        It 'shows the code unwrapped, on a line of its own, in the default view' {
            $lines = (Get-InvitationCode -Name 'crm-eu' | Out-String -Width 250) -split '\r?\n'
            $lines.Trim() | Should -Contain $codeEu
        }

        It 'lists the code of every Pending connection when no -Name is given, without prompting' {
            $result = Invoke-FreshSession -Script 'Get-InvitationCode | ForEach-Object { $_.Name + "=" + $_.InvitationCode }'
            $result.ExitCode | Should -Be 0 -Because ($result.Output -join [Environment]::NewLine)
            $result.Output | Sort-Object | Should -Be @("crm-eu=$codeEu", "crm-us=$codeUs")
        }

        It 'still accepts the code from Get-InvitationCode, a file, and text with stray whitespace and line breaks' {
            $file = Join-Path $TestDrive 'accept-code.txt'
            Get-InvitationCode -Name 'crm-eu' | Set-Content -LiteralPath $file
            # Each reaches the network (nothing listens there), so each code was read as a valid code.
            Get-InvitationCode -Name 'crm-eu' | Get-PeerErrorId | Should -Be 'ConnectionTools.Peer.Unreachable'
            Get-Content -LiteralPath $file | Get-PeerErrorId | Should -Be 'ConnectionTools.Peer.Unreachable'
            Get-Content -LiteralPath $file -Raw | Get-PeerErrorId | Should -Be 'ConnectionTools.Peer.Unreachable'
            ("  " + $codeEu.Substring(0, 100) + "`r`n   " + $codeEu.Substring(100) + " `n") | Get-PeerErrorId | Should -Be 'ConnectionTools.Peer.Unreachable'
        }
    }

    Context 'Output objects' {
        It 'has read-only properties and no compiler-generated members (<TypeName>)' -ForEach @(
            @{ TypeName = 'NodeInfo'; Get = { Get-ConnectionNode } }
            @{ TypeName = 'AuditEntry'; Get = { Get-ConnectionHistory -Name 'crm-eu' | Select-Object -First 1 } }
            @{ TypeName = 'SyncRule'; Get = { Get-ConnectionSyncRule -Name 'crm-eu' | Select-Object -First 1 } }
            @{ TypeName = 'PrivateConnectionInvitation'; Get = { Get-InvitationCode -Name 'crm-eu' } }
        ) {
            $object = & $Get
            $object | Should -Not -BeNullOrEmpty
            $members = $object | Get-Member
            $members.Name | Should -Not -Contain '<Clone>$'
            @($members | Where-Object { $_.MemberType -eq 'Property' -and $_.Definition -match 'set;' }).Name | Should -BeNullOrEmpty
        }

        It 'Connection has read-only properties, no <Clone>$, and string URLs' {
            $members = Get-Connection -Name 'crm-eu' | Get-Member
            $members.Name | Should -Not -Contain '<Clone>$'
            @($members | Where-Object { $_.MemberType -eq 'Property' -and $_.Definition -match 'set;' }).Name | Should -BeNullOrEmpty
            # Null on seeded connections: the declared type is what a user gets once it is set.
            (Get-Connection -Name 'sf-prod').PSObject.Properties['InstanceUrl'].TypeNameOfValue | Should -Be 'System.String'
            (Get-Connection -Name 'crm-eu').PSObject.Properties['PeerUrl'].TypeNameOfValue | Should -Be 'System.String'
        }

        It 'declares only output types whose public properties cannot be set' {
            $types = Get-Command -Module ConnectionTools | ForEach-Object { $_.OutputType.Type } | Where-Object { $_ -and $_.Namespace -like 'ConnectionTools*' } | Sort-Object FullName -Unique
            $types | Should -Not -BeNullOrEmpty
            $settable = foreach ($type in $types) {
                foreach ($property in $type.GetProperties()) {
                    if ($property.SetMethod -and $property.SetMethod.IsPublic) { "$($type.Name).$($property.Name)" }
                }
                if ($type.GetMethod('<Clone>$')) { "$($type.Name).<Clone>`$" }
            }
            $settable | Should -BeNullOrEmpty
        }

        It 'converts to a string a person wants' {
            [string](Get-Connection -Name 'crm-eu') | Should -BeExactly 'crm-eu'
            $node = Get-ConnectionNode
            [string]$node | Should -BeExactly $node.StorePath
        }

        It 'shows URLs as strings' {
            (Get-ConnectionNode).PublicUrl | Should -BeOfType [string]
            (Get-ConnectionNode).PublicUrl | Should -BeExactly "http://127.0.0.1:$closedPort/"
            (Get-InvitationCode -Name 'crm-eu').PublicUrl | Should -BeOfType [string]
        }

        It 'heads the reason column of the connection table with the property it shows' {
            $header = ((Get-Connection -Name 'crm-eu' | Format-Table | Out-String -Width 120) -split '\r?\n' | Where-Object { $_ -match '\bStatus\b' } | Select-Object -First 1)
            $header | Should -Match '\bInactiveReason\b'
        }

        It 'shows RetrievalInterval in the list view once it is set' {
            (Get-Connection -Name 'sf-prod' | Format-List | Out-String) | Should -Not -Match 'RetrievalInterval'
            Set-Connection -Name 'sf-prod' -RetrievalInterval (New-TimeSpan -Minutes 15) -Confirm:$false
            (Get-Connection -Name 'sf-prod' | Format-List | Out-String) | Should -Match 'RetrievalInterval\s*:\s*00:15:00'
        }
    }

    Context 'Get-ConnectionHistory' {
        It 'lists the latest entries of the node when no -Name is given, without prompting' {
            $result = Invoke-FreshSession -Script 'Get-ConnectionHistory | ForEach-Object { $_.ConnectionName }'
            $result.ExitCode | Should -Be 0 -Because ($result.Output -join [Environment]::NewLine)
            $result.Output | Should -Contain 'crm-eu'
            $result.Output | Should -Contain 'sf-prod'
        }

        It 'takes -First, -Last and -Since' {
            $all = @(Get-ConnectionHistory)
            $all.Count | Should -BeGreaterThan 3
            @(Get-ConnectionHistory -Last 2).Sequence | Should -Be @($all[-2].Sequence, $all[-1].Sequence)
            @(Get-ConnectionHistory -First 2).Sequence | Should -Be @($all[0].Sequence, $all[1].Sequence)
            $since = $all[-1].At
            @(Get-ConnectionHistory -Since $since).Sequence | Should -Contain $all[-1].Sequence
            @(Get-ConnectionHistory -Since $since.AddSeconds(1)) | Should -BeNullOrEmpty
            @(Get-ConnectionHistory -Name 'crm-eu' -Last 1).ConnectionName | Should -Be 'crm-eu'
        }

        It 'gives Before and After as objects' {
            $created = Get-ConnectionHistory -Name 'crm-eu' | Where-Object Action -EQ 'Create' | Select-Object -First 1
            $created.Before | Should -BeNullOrEmpty
            $created.After | Should -Not -BeOfType [string]
            $created.After.Name | Should -BeExactly 'crm-eu'
            "$($created.After.Status)" | Should -BeExactly 'Pending'
        }
    }

    Context 'Export-ConnectionConfiguration' {
        It 'writes the YAML text to the output without -Path' {
            $text = Export-ConnectionConfiguration -WarningAction SilentlyContinue
            $text | Should -BeOfType [string]
            ($text -join "`n") | Should -Match 'crm-eu'
            $file = Join-Path $TestDrive 'piped.yaml'
            Export-ConnectionConfiguration -WarningAction SilentlyContinue | Set-Content -LiteralPath $file
            Test-ConnectionConfiguration -Path $file -WarningAction SilentlyContinue | Where-Object Name -EQ 'crm-eu' | Should -Not -BeNullOrEmpty
        }

        It 'writes the file and returns it with -Path' {
            $file = Join-Path $TestDrive 'export.yaml'
            $written = Export-ConnectionConfiguration -Path $file -WarningAction SilentlyContinue
            $written | Should -BeOfType [System.IO.FileInfo]
            $written.FullName | Should -Be ([System.IO.Path]::GetFullPath($file))
            Get-Content -LiteralPath $file -Raw | Should -Match 'crm-eu'
        }

        It 'replaces an existing file only with -Force' {
            $file = Join-Path $TestDrive 'existing.yaml'
            Set-Content -LiteralPath $file -Value 'keep me'
            { Export-ConnectionConfiguration -Path $file -WarningAction SilentlyContinue -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Configuration.FileExists*'
            Get-Content -LiteralPath $file -Raw | Should -Match 'keep me'
            $null = Export-ConnectionConfiguration -Path $file -Force -WarningAction SilentlyContinue
            Get-Content -LiteralPath $file -Raw | Should -Match 'crm-eu'
        }
    }
}
