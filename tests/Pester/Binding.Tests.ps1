#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Binding private connections to the system connection whose cases they sync (-System, system: in connections as code),
    from the built module in out/ConnectionTools. System connections are seeded with tests/ConnectionTools.TestProcess
    ("seed <store> <name> <type> <status>"); queued sync events are put in its sync_events table with its "sql" command,
    as the outgoing-events engine will queue them. Nothing here reaches the network.

    Run it with ./build.ps1 -Task Test (in a fresh pwsh process), or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/Binding.Tests.ps1 -Output Detailed
#>

Describe 'Binding private connections to a system' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1') -SeedTool

        function New-BindingStore {
            # A store with two system connections and a public URL, so New-PrivateConnection can issue codes; returns its path.
            $path = Join-Path $TestDrive "binding-$([guid]::NewGuid().ToString('n')).db"
            Add-SeededConnection -StorePath $path -Name sf-prod -Type SalesforceProduction -Status Active
            Add-SeededConnection -StorePath $path -Name crm-main -Type Dynamics365 -Status Active
            $null = Connect-ConnectionNode -StorePath $path
            Set-ConnectionNode -PublicUrl 'http://127.0.0.1:5999/'
            $path
        }

        function Invoke-Child {
            # Runs a command in a fresh, non-interactive pwsh with the module imported and the store given, and returns what it
            # printed as text: -WhatIf goes to the host, which only a child process's output captures.
            param([Parameter(Mandatory)] [string] $StorePath, [Parameter(Mandatory)] [string] $Command)
            $script = "`$ErrorActionPreference = 'Continue'; Import-Module '$manifestPath'; `$env:CONNECTIONTOOLS_STORE = '$StorePath'; $Command"
            $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($script))
            $output = & $pwshPath -NoProfile -NonInteractive -OutputFormat Text -EncodedCommand $encoded 2>&1
            @($output | ForEach-Object { "$_" }) -join "`n"
        }

        function Invoke-Sql {
            param([Parameter(Mandatory)] [string] $StorePath, [Parameter(Mandatory)] [string] $Sql)
            $output = & dotnet $seedToolPath sql $StorePath $Sql 2>&1
            if ($LASTEXITCODE -ne 0) { throw "sql failed: $($output -join ' ')" }
            "$output".Trim()
        }

        function Add-QueuedEvent {
            param([Parameter(Mandatory)] [string] $StorePath, [Parameter(Mandatory)] [guid] $ConnectionId, [string] $Direction = 'Outgoing', [int] $Count = 1)
            for ($i = 1; $i -le $Count; $i++) {
                $null = Invoke-Sql -StorePath $StorePath -Sql ("INSERT INTO sync_events (event_id, connection_id, direction, case_id, case_seq, trace_id, status, created_at, updated_at) " +
                    "VALUES ('$([guid]::NewGuid())', '$ConnectionId', '$Direction', '500$i', $i, '$([guid]::NewGuid().ToString('n'))', 'Queued', 0, 0);")
            }
        }

        function Get-QueuedEventCount {
            param([Parameter(Mandatory)] [string] $StorePath, [Parameter(Mandatory)] [guid] $ConnectionId, [string] $Direction = 'Outgoing')
            [int](Invoke-Sql -StorePath $StorePath -Sql "SELECT COUNT(*) FROM sync_events WHERE connection_id = '$ConnectionId' AND direction = '$Direction';")
        }
    }

    AfterAll {
        Close-TestSession
    }

    Context 'New-PrivateConnection, Set-Connection and Get-Connection' {
        BeforeEach {
            $store = New-BindingStore
        }

        It 'New-PrivateConnection -System binds it, and Get-Connection''s list shows the system' {
            $invitation = New-PrivateConnection -Name partner-eu -LocalInstanceName contoso -System 'SF-PROD' -ErrorAction Stop
            $invitation.Connection.System | Should -Be 'sf-prod'
            (Get-Connection -Name partner-eu).System | Should -Be 'sf-prod'

            $list = Get-Connection -Name partner-eu | Format-List | Out-String -Width 120
            $list | Should -Match 'System\s+: sf-prod'
            $unbound = New-PrivateConnection -Name partner-us -LocalInstanceName contoso
            Get-Connection -Name partner-us | Format-List | Out-String -Width 120 | Should -Match 'System\s+: \(none: status only\)'
            $unbound.Connection.System | Should -BeNullOrEmpty
        }

        It 'keeps the default table within 80 columns' {
            $null = New-PrivateConnection -Name partner-with-a-rather-long-name-x -LocalInstanceName contoso -System crm-main
            $lines = (Get-Connection | Out-String -Width 80) -split "`r?`n"
            $lines | Where-Object { $_.TrimEnd().Length -gt 80 } | Should -BeNullOrEmpty
        }

        It 'refuses a system that is not a live Salesforce or Dynamics 365 connection, with the id, the connection and the fix' {
            $null = New-PrivateConnection -Name partner-eu -LocalInstanceName contoso -System nope -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Binding.SystemNotFound,*'
            $failures[0].Exception.Message | Should -BeLike "*'partner-eu'*'nope'*"
            $failures[0].ErrorDetails.RecommendedAction | Should -BeLike '*Get-Connection -Type*'
            Get-Connection -Name partner-eu -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

            $null = New-PrivateConnection -Name other -LocalInstanceName contoso
            Set-Connection -Name other -System other -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Binding.NotASystem,*'
            Set-Connection -Name crm-main -System sf-prod -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Binding.NotPrivate,*'
        }

        It 'binds several private connections to one system, and unbinds with -System '''' keeping the status' {
            Add-SeededConnection -StorePath $store -Name p1 -Status Active
            Add-SeededConnection -StorePath $store -Name p2 -Status Paused
            Set-Connection -Name 'p?' -System sf-prod -ErrorAction Stop
            (Get-Connection -Name p1, p2).System | Should -Be 'sf-prod', 'sf-prod'

            $p1 = Get-Connection -Name p1
            Add-QueuedEvent -StorePath $store -ConnectionId $p1.Id -Count 2
            Add-QueuedEvent -StorePath $store -ConnectionId $p1.Id -Direction Incoming
            Set-Connection -Name p1 -System '' -ErrorAction Stop
            $after = Get-Connection -Name p1
            $after.System | Should -BeNullOrEmpty
            $after.Status | Should -Be 'Active'
            Get-QueuedEventCount -StorePath $store -ConnectionId $p1.Id | Should -Be 0
            Get-QueuedEventCount -StorePath $store -ConnectionId $p1.Id -Direction Incoming | Should -Be 1
            (Get-ConnectionHistory -Name p1 -Last 1).Summary | Should -BeLike "*System: 'sf-prod' -> none*dropped 2 queued outgoing sync event(s)*"
        }

        It 'moves a bound connection to another system only while Paused, saying twins stay with the old system' {
            Add-SeededConnection -StorePath $store -Name p1 -Status Active
            Set-Connection -Name p1 -System sf-prod -ErrorAction Stop

            Set-Connection -Name p1 -System crm-main -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Binding.RebindNotPaused,*'
            $failures[0].ErrorDetails.RecommendedAction | Should -BeLike "*Suspend-Connection -Name 'p1'*"
            (Get-Connection -Name p1).System | Should -Be 'sf-prod'

            Suspend-Connection -Name p1
            $verbose = Set-Connection -Name p1 -System crm-main -Verbose 4>&1 | Out-String
            $verbose | Should -BeLike "*cases already twinned stay with 'sf-prod'*"
            (Get-Connection -Name p1).System | Should -Be 'crm-main'
            $whatIf = Invoke-Child -StorePath $store -Command "Set-Connection -Name p1 -System sf-prod -WhatIf"
            $whatIf | Should -BeLike "*stay with 'crm-main'*"
        }
    }

    Context 'Remove-Connection of a system that private connections are bound to' {
        BeforeEach {
            $store = New-BindingStore
            Add-SeededConnection -StorePath $store -Name p1 -Status Active
            Add-SeededConnection -StorePath $store -Name p2 -Status Paused
            Set-Connection -Name p1, p2 -System sf-prod -ErrorAction Stop
        }

        It 'is refused, naming them, and nothing changes' {
            Remove-Connection -Name sf-prod -Confirm:$false -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Binding.SystemInUse,*'
            $failures[0].Exception.Message | Should -BeLike "*'p1', 'p2'*"
            $failures[0].ErrorDetails.RecommendedAction | Should -BeLike '*-Force*'
            (Get-Connection -Name sf-prod).Status | Should -Be 'Active'
            (Get-Connection -Name p1).System | Should -Be 'sf-prod'
        }

        It 'with -Force, unbinds them (they keep their status), drops their queued outgoing events and records it' {
            $p1 = Get-Connection -Name p1
            Add-QueuedEvent -StorePath $store -ConnectionId $p1.Id -Count 3
            $whatIf = Invoke-Child -StorePath $store -Command "Remove-Connection -Name sf-prod -Force -WhatIf"
            $whatIf | Should -BeLike "*unbinding private connections 'p1', 'p2'*"
            (Get-Connection -Name sf-prod).Status | Should -Be 'Active'

            Remove-Connection -Name sf-prod -Force -Confirm:$false -ErrorAction Stop
            Get-Connection -Name sf-prod -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            (Get-Connection -Name p1, p2).Status | Should -Be 'Active', 'Paused'
            (Get-Connection -Name p1, p2 | Where-Object { $null -ne $_.System }) | Should -BeNullOrEmpty
            Get-QueuedEventCount -StorePath $store -ConnectionId $p1.Id | Should -Be 0
            (Get-ConnectionHistory -Name p1 -Last 1).Summary | Should -BeLike "*removed with -Force*dropped 3 queued outgoing sync event(s)*"
        }
    }

    Context 'Approve-ConnectionInvitation -System' {
        It 'refuses a system that is not there before any request is made' {
            $null = New-BindingStore
            $code = (New-PrivateConnection -Name crm-eu -LocalInstanceName contoso).InvitationCode
            $privateStore = Join-Path $TestDrive 'private-side.db'
            $null = Connect-ConnectionNode -Create -StorePath $privateStore
            Approve-ConnectionInvitation -InvitationCode $code -System nope -Confirm:$false -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Binding.SystemNotFound,*'
            Get-Connection -Name crm-eu -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
    }

    Context 'Both sides bind their own system, with a node host on loopback' {
        BeforeAll {
            $listener = [System.Net.Sockets.TcpListener]::new([ipaddress]::Loopback, 0)
            $listener.Start()
            $port = ([System.Net.IPEndPoint]$listener.LocalEndpoint).Port
            $listener.Stop()
            $publicStore = Join-Path $TestDrive 'public-host.db'
            Add-SeededConnection -StorePath $publicStore -Name sf-contoso -Type SalesforceProduction -Status Active
            $nodeDll = Get-TestTool -Name Node
            $nodeLog = Join-Path $TestDrive 'binding-node.log'
            $nodeProcess = Start-Process -FilePath 'dotnet' -PassThru -NoNewWindow -RedirectStandardOutput $nodeLog -RedirectStandardError "$nodeLog.err" -ArgumentList @(
                ('"' + $nodeDll + '"'), '--store', ('"' + $publicStore + '"'), '--public-url', "http://127.0.0.1:$port/", '--urls', "http://127.0.0.1:$port")
            $waited = [System.Diagnostics.Stopwatch]::StartNew()
            while ($true) {
                $client = [System.Net.Sockets.TcpClient]::new()
                try { if ($client.ConnectAsync([ipaddress]::Loopback, $port).Wait(1000) -and $client.Connected) { break } } catch { $null = $_ } finally { $client.Dispose() }
                if ($nodeProcess.HasExited -or $waited.Elapsed.TotalSeconds -gt 30) { throw "The node host did not listen on port ${port}: $(Get-Content -Raw -LiteralPath "$nodeLog.err" -ErrorAction SilentlyContinue)" }
                Start-Sleep -Milliseconds 200
            }
        }

        AfterAll {
            if ($null -ne $nodeProcess -and -not $nodeProcess.HasExited) {
                Stop-Process -Id $nodeProcess.Id -Force -ErrorAction SilentlyContinue
                $null = $nodeProcess.WaitForExit(10000)
            }
        }

        It 'New-PrivateConnection -System and Approve-ConnectionInvitation -System bind each side to its own system' {
            $null = Connect-ConnectionNode -StorePath $publicStore
            $code = (New-PrivateConnection -Name crm-eu -LocalInstanceName contoso -System sf-contoso -ErrorAction Stop).InvitationCode

            $privateStore = Join-Path $TestDrive 'private-host.db'
            Add-SeededConnection -StorePath $privateStore -Name crm-fabrikam -Type Dynamics365 -Status Active
            $null = Connect-ConnectionNode -StorePath $privateStore
            $accepted = Approve-ConnectionInvitation -InvitationCode $code -LocalInstanceName fabrikam -System crm-fabrikam -Confirm:$false -ErrorAction Stop
            $accepted.System | Should -Be 'crm-fabrikam'
            $accepted.Status | Should -Be 'Active'
            (Get-ConnectionHistory -Name crm-eu -First 1).Summary | Should -BeLike "*bound to system 'crm-fabrikam'*"

            $null = Connect-ConnectionNode -StorePath $publicStore
            $publicSide = Get-Connection -Name crm-eu
            $publicSide.Status | Should -Be 'Active'
            $publicSide.System | Should -Be 'sf-contoso'
        }
    }

    Context 'system: in connections as code' {
        It 'applies, exports and reports drift of the binding' {
            $store = New-BindingStore
            Add-SeededConnection -StorePath $store -Name p1 -Status Active
            $path = Join-Path $TestDrive 'binding.yaml'
            Set-Content -LiteralPath $path -Encoding utf8NoBOM -Value @'
apiVersion: connectiontools/v1
connections:
  - name: partner-eu
    type: Private
    side: Public
    localInstanceName: contoso
    system: crm-main
'@
            $result = Invoke-ConnectionConfiguration -Path $path -Confirm:$false -ErrorAction Stop
            $result.Outcome | Should -Be 'Applied'
            (Get-Connection -Name partner-eu).System | Should -Be 'crm-main'
            (Test-ConnectionConfiguration -Path $path).InDesiredState | Should -BeTrue

            Set-Connection -Name partner-eu -System sf-prod
            $drift = Test-ConnectionConfiguration -Path $path
            $drift.InDesiredState | Should -BeFalse
            $drift.DifferingProperties | Should -Be 'system'

            Export-ConnectionConfiguration | Out-String | Should -BeLike '*system: sf-prod*'
        }

        It 'refuses a system name that is not a name, with its position' {
            $null = New-BindingStore
            $path = Join-Path $TestDrive 'bad-binding.yaml'
            Set-Content -LiteralPath $path -Encoding utf8NoBOM -Value @'
apiVersion: connectiontools/v1
connections:
  - name: partner-eu
    type: Private
    side: Public
    localInstanceName: contoso
    system: "bad*"
'@
            Test-ConnectionConfiguration -Path $path -ErrorVariable failures -ErrorAction SilentlyContinue | Out-Null
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Configuration.InvalidValue,*'
            $failures[0].Exception.Message | Should -BeLike '*:7:*system*'
        }
    }

    Context 'Help' {
        It 'documents -System and -Force' {
            (Get-Help New-PrivateConnection -Parameter System).description.Text | Should -BeLike '*Salesforce or Dynamics 365*'
            (Get-Help Approve-ConnectionInvitation -Parameter System).description.Text | Should -BeLike '*status only*'
            (Get-Help Set-Connection -Parameter System).description.Text | Should -BeLike '*unbinds*'
            (Get-Help Remove-Connection -Parameter Force).description.Text | Should -BeLike '*unbound*'
        }
    }
}
