#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Case sync end to end, from the built module in real pwsh processes: a case made in a Salesforce org appears in a Dynamics
    365 environment, a change there comes back, pausing stops the flow and resuming delivers, and a revoked grant holds the
    partner's changes until the connection is authorized again.

    - The systems: tests/ConnectionTools.EmulatorHost in a process of its own (Start-TestProviderEmulators): the emulated org
      contoso.my.salesforce.com (its Case has the External ID field ConnectionTools_Partner_Id__c) and the emulated Dataverse
      environment contoso.crm.dynamics.com (its incident has the alternate key ct_partnerid), behind a CONNECT proxy on
      loopback. The test changes and reads cases as a person in the org would, through the emulator host's control endpoints
      (ready.json's Control, plain HTTP on loopback).
    - Node A, public: store A, its node host a process of its own serving it on 127.0.0.1, the Salesforce connection sf-prod
      bound to the private connection partner-b. Node B, private: store B, its node host a process of its own in --private
      mode (a sync round every second, which applies what arrived), the Dynamics 365 connection d365 bound to partner-a. The
      private side makes every request. Both node hosts reach the systems through the proxy; their job poll is 1 s (the
      public host applies what arrived on it).
    - The admins: one long-lived pwsh per node ("terminal"), with the module imported, its store connected and the proxy's
      environment, so that the commands reach the emulated systems; the sign-ins are device codes, which the emulator host
      approves. Retrieval runs are started by the admins (Start-ConnectionJob), so that each step is deterministic: the
      product's smallest interval is a minute, and the jobs are set to a day. This session only reads the stores to check.

    THE TESTS FORM ONE FLOW AND RUN IN THE ORDER WRITTEN: each starts where the one before left both systems. Read the first
    failure first. Values later tests need are kept in $flow.

    A wait that runs out lists the sync events on both nodes and the node hosts' last log lines. To keep a run's stores,
    node host logs and the emulator host's proxy.log, set CASESYNC_KEEP to a folder: TestDrive is copied there at the end.

    Run it with ./build.ps1 -Task Test (in a fresh pwsh process), or after ./build.ps1 with:
        Invoke-Pester -Path tests/Pester/CaseSync.Tests.ps1 -Output Detailed
#>

Describe 'Case sync end to end (Salesforce on node A, Dynamics 365 on node B)' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')

        $nodeDll = Get-TestTool -Name Node
        $providers = Start-TestProviderEmulators
        $ready = $providers.Ready
        $control = $ready.Control
        $publicStore = Join-Path $TestDrive 'node-a.db'
        $privateStore = Join-Path $TestDrive 'node-b.db'
        $publicPort = Get-FreeLoopbackPort
        $customer = 'accounts(6f1c2d3e-0000-4000-8000-000000000001)'
        $terminals = @{}
        $nodeHosts = @{}

        function Invoke-Control {
            # The emulator host's control endpoints: what a person does in the org or the environment, and what the test reads.
            param([Parameter(Mandatory)] [string] $Method, [Parameter(Mandatory)] [string] $Path, [hashtable] $Body)
            $arguments = @{ Uri = "$control$Path"; Method = $Method; NoProxy = $true; ContentType = 'application/json' }
            if ($null -ne $Body) { $arguments.Body = $Body | ConvertTo-Json -Compress }
            try { Invoke-RestMethod @arguments }
            catch { if ($_.Exception.Response.StatusCode -eq 404) { throw } else { throw "$Method $Path failed: $($_.ErrorDetails.Message) $_" } }
        }

        function Get-SalesforceCase { param([Parameter(Mandatory)] [string] $Id) Invoke-Control -Method Get -Path "salesforce/cases/$Id" }

        function Find-Incident {
            # The incident made from a Salesforce case (its alternate key ct_partnerid is the case's Id), or null.
            param([Parameter(Mandatory)] [string] $CaseId)
            try { Invoke-Control -Method Get -Path "dataverse/incidents?partnerId=$CaseId" }
            catch { if ($_.Exception.Response.StatusCode -eq 404) { $null } else { throw } }
        }

        function Find-SalesforceCase {
            # The Salesforce case made from an incident (its External ID field is the incident's id), or null.
            param([Parameter(Mandatory)] [string] $ExternalId)
            try { Invoke-Control -Method Get -Path "salesforce/cases?externalId=$ExternalId" }
            catch { if ($_.Exception.Response.StatusCode -eq 404) { $null } else { throw } }
        }

        function Wait-Until {
            # Polls $Condition every 250 ms until it returns something true; fails naming what it waited for. Generous: a busy
            # machine slows the node hosts down, and a wait that succeeds costs only what it waited.
            param([Parameter(Mandatory)] [string] $Because, [Parameter(Mandatory)] [scriptblock] $Condition, [int] $TimeoutSeconds = 60)
            $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
            while ($true) {
                $value = & $Condition
                if ($value) { return $value }
                if ([DateTime]::UtcNow -gt $deadline) {
                    $events = foreach ($node in 'A', 'B') {
                        foreach ($direction in 'Outgoing', 'Incoming') {
                            foreach ($e in Get-Event -Node $node -Direction $direction) { "  node $node ${direction}: case $($e.CaseId) #$($e.Sequence) $($e.Status) $($e.ErrorId) $($e.Error)" }
                        }
                    }
                    $logs = foreach ($h in $nodeHosts.Values) { "--- $($h.Log):`n" + ((Get-Content -LiteralPath $h.Log -Tail 15 -ErrorAction SilentlyContinue) -join "`n") }
                    throw "Waited $TimeoutSeconds s in vain until $Because. The sync events:`n$($events -join "`n")`n$($logs -join "`n")"
                }
                Start-Sleep -Milliseconds 250
            }
        }

        function Start-AdminTerminal {
            # A long-lived pwsh for one node's admin: the module imported, the store connected, the providers' environment.
            # Not -NonInteractive: a device-code sign-in may prompt (the emulator host approves every code shown).
            param([Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [string] $StorePath)
            $start = [System.Diagnostics.ProcessStartInfo]::new($pwshPath)
            foreach ($argument in '-NoProfile', '-OutputFormat', 'Text', '-Command', '-') { $start.ArgumentList.Add($argument) }
            $start.UseShellExecute = $false
            $start.RedirectStandardInput = $true
            $start.RedirectStandardOutput = $true
            $start.RedirectStandardError = $true
            Set-StartEnvironment -Start $start -Environment $providers.Environment
            $start.Environment['NO_COLOR'] = '1'
            $start.Environment['POWERSHELL_TELEMETRY_OPTOUT'] = '1'
            $terminal = [pscustomobject]@{ Name = $Name; Process = [System.Diagnostics.Process]::Start($start); PendingOutput = $null; Errors = $null; Sent = $null }
            $terminal.Errors = $terminal.Process.StandardError.ReadToEndAsync()
            $terminals[$Name] = $terminal
            # Not waited for here: the next Receive-AdminTerminal waits for it and its own command, in order.
            Send-AdminTerminal -Terminal $terminal -Command @"
`$ProgressPreference = 'SilentlyContinue'; `$PSStyle.OutputRendering = 'PlainText'
Import-Module '$($manifestPath.Replace("'", "''"))'
`$null = Connect-ConnectionNode -StorePath '$($StorePath.Replace("'", "''"))' -Create
"@
            $terminal
        }

        function Send-AdminTerminal {
            # Starts $Command in the terminal, with $ErrorActionPreference Stop; Receive-AdminTerminal waits for what it printed.
            param([Parameter(Mandatory)] $Terminal, [Parameter(Mandatory)] [string] $Command)
            $marker = 'case-sync-done-' + [guid]::NewGuid().ToString('n')
            $file = Join-Path $TestDrive "$($Terminal.Name)-$marker.ps1"
            Set-Content -LiteralPath $file -Encoding utf8 -Value @"
`$ErrorActionPreference = 'Stop'
try { . { $Command } *>&1 | Out-String -Stream -Width 250 } catch { 'FAILED: ' + (`$_ | Out-String -Width 250) + `$_.ScriptStackTrace }
"@
            $Terminal.Process.StandardInput.WriteLine(". '$($file.Replace("'", "''"))'; '$marker'")
            $Terminal.Process.StandardInput.Flush()
            $Terminal.Sent = @{ Marker = $marker; Command = $Command }
        }

        function Receive-AdminTerminal {
            # What the command Send-AdminTerminal started printed (all streams, as text), once it is done; an error fails the
            # call with the terminal's output. A line 'RESULT:<json>' is parsed into .Result.
            param([Parameter(Mandatory)] $Terminal, [int] $TimeoutSeconds = 90)
            $marker = $Terminal.Sent.Marker
            $lines = [System.Collections.Generic.List[string]]::new()
            $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
            while ($true) {
                if ($null -eq $Terminal.PendingOutput) { $Terminal.PendingOutput = $Terminal.Process.StandardOutput.ReadLineAsync() }
                if ($Terminal.PendingOutput.Wait(100)) {
                    $line = $Terminal.PendingOutput.Result
                    $Terminal.PendingOutput = $null
                    if ($null -eq $line) { throw "Terminal $($Terminal.Name) exited: $($lines -join "`n") $(if ($Terminal.Errors.Wait(2000)) { $Terminal.Errors.Result })" }
                    if (($line -replace '\x1b\[[0-9;?]*[A-Za-z]', '') -eq $marker) { break }
                    $lines.Add($line)
                    continue
                }
                if ([DateTime]::UtcNow -gt $deadline) { throw "Terminal $($Terminal.Name) did not finish within $TimeoutSeconds s: $($lines -join "`n")" }
            }
            $output = $lines -join "`n"
            if ($output -match '(?m)^FAILED: ') { throw "In terminal $($Terminal.Name):`n$($Terminal.Sent.Command)`n---`n$output" }
            $resultLine = @($lines | Where-Object { $_.StartsWith('RESULT:') }) | Select-Object -Last 1
            [pscustomobject]@{ Output = $output; Result = if ($resultLine) { $resultLine.Substring(7) | ConvertFrom-Json } else { $null } }
        }

        function Invoke-AdminTerminal {
            # Runs $Command in the terminal and returns what it printed (Send-, then Receive-AdminTerminal).
            param([Parameter(Mandatory)] $Terminal, [Parameter(Mandatory)] [string] $Command, [int] $TimeoutSeconds = 90)
            Send-AdminTerminal -Terminal $Terminal -Command $Command
            Receive-AdminTerminal -Terminal $Terminal -TimeoutSeconds $TimeoutSeconds
        }

        function Stop-AdminTerminal {
            param($Terminal)
            if ($null -eq $Terminal) { return }
            try { $Terminal.Process.StandardInput.Close(); $null = $Terminal.Process.WaitForExit(10000) } catch { $null = $_ }
            if (-not $Terminal.Process.HasExited) { $Terminal.Process.Kill($true); $null = $Terminal.Process.WaitForExit(10000) }
        }

        function Start-CaseSyncNodeHost {
            # src/ConnectionTools.Node as a process of its own, with the providers' environment (it reaches the systems through
            # the proxy), a job poll of 1 s, and public on 127.0.0.1:$Port or --private with a round every second.
            param([Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [string] $StorePath, [int] $Port, [switch] $Private)
            $log = Join-Path $TestDrive "node-host-$Name.log"
            $arguments = @(('"' + $nodeDll + '"'), '--store', ('"' + $StorePath + '"'), '--job-poll', '1')
            $arguments += if ($Private) { @('--private', '--interval', '1') } else { @('--public-url', "http://127.0.0.1:$Port/", '--urls', "http://127.0.0.1:$Port") }
            $environment = @{}
            foreach ($key in $providers.Environment.Keys) { $environment[$key] = $providers.Environment[$key] }
            # Each log line with its time, to read a failure against the emulator host's proxy.log.
            $environment['Logging__Console__FormatterOptions__TimestampFormat'] = 'HH:mm:ss.fff '
            $process = Start-Process -FilePath 'dotnet' -ArgumentList $arguments -Environment $environment -PassThru -NoNewWindow -RedirectStandardOutput $log -RedirectStandardError "$log.err"
            $nodeHost = [pscustomobject]@{ Process = $process; Log = $log }
            $nodeHosts[$Name] = $nodeHost
            if (-not $Private) {
                $null = Wait-Until -Because "node host $Name listens on 127.0.0.1:$Port" -Condition {
                    if ($process.HasExited) { throw "Node host $Name exited: $(Get-Content -Raw -LiteralPath "$log.err" -ErrorAction SilentlyContinue) $(Get-Content -Raw -LiteralPath $log -ErrorAction SilentlyContinue)" }
                    $client = [System.Net.Sockets.TcpClient]::new()
                    try { $client.ConnectAsync([ipaddress]::Loopback, $Port).Wait(500) -and $client.Connected } catch { $false } finally { $client.Dispose() }
                }
            }
            $nodeHost
        }

        function Use-PublicAdmin { $null = Connect-ConnectionNode -StorePath $publicStore }
        function Use-PrivateAdmin { $null = Connect-ConnectionNode -StorePath $privateStore }

        function Get-Event {
            # The sync events of one side's private connection, as its admin lists them.
            param([Parameter(Mandatory)] [ValidateSet('A', 'B')] [string] $Node, [Parameter(Mandatory)] [string] $Direction)
            if ($Node -eq 'A') { Use-PublicAdmin; @(Get-ConnectionSyncEvent -Name partner-b -Direction $Direction) }
            else { Use-PrivateAdmin; @(Get-ConnectionSyncEvent -Name partner-a -Direction $Direction) }
        }

        function Start-Retrieval {
            # One run of a system connection's retrieval job, started by its node's admin (Start-ConnectionJob -Verbose); returns
            # its Status, Records and Queued: the verbose line that says how many sync events the run queued, and how many of
            # the changes it read were this node's own writes coming back.
            param([Parameter(Mandatory)] [ValidateSet('A', 'B')] [string] $Node)
            $name = if ($Node -eq 'A') { 'sf-prod' } else { 'd365' }
            $run = Invoke-AdminTerminal -Terminal $terminals[$Node] -Command @'
$all = @(Start-ConnectionJob -Name NAME -Verbose 4>&1)
$job = $all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] } | Select-Object -Last 1
$queued = @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'Queued *' } | ForEach-Object Message) -join "`n"
'RESULT:' + (@{ Status = "$($job.Status)"; Records = $job.Records; Queued = $queued } | ConvertTo-Json -Compress)
'@.Replace('NAME', $name)
            if ($run.Result.Status -ne 'Succeeded') { throw "The retrieval run of $name did not succeed: $($run.Output)" }
            $run.Result
        }

        # Both admins' terminals start at once; each signs in to its system meanwhile.
        $null = Start-AdminTerminal -Name A -StorePath $publicStore
        $null = Start-AdminTerminal -Name B -StorePath $privateStore
        # Node A, the public admin: the org, its job (a day apart: the test starts each run), the private connection bound to it.
        Send-AdminTerminal -Terminal $terminals.A -Command @"
Set-ConnectionNode -PublicUrl 'http://127.0.0.1:$publicPort/'
New-Connection -Name sf-prod -Type SalesforceProduction -InstanceUrl https://contoso.my.salesforce.com -ClientId '$($ready.SalesforceConsumerKey)' -UseDeviceCode -AcceptDataProcessingAgreement | Out-Null
Set-Connection -Name sf-prod -RetrievalInterval (New-TimeSpan -Days 1)
`$null = Start-ConnectionJob -Name sf-prod
`$null = New-PrivateConnection -Name partner-b -LocalInstanceName contoso -System sf-prod
'RESULT:' + (@{ Code = "`$(Get-InvitationCode -Name partner-b)"; Ready = @(Test-ConnectionSync -Name partner-b | ForEach-Object { `$_.Ready }) } | ConvertTo-Json -Compress)
"@
        # Node B, the private admin: the environment with its default customer (Dataverse makes incidents under a customer).
        Send-AdminTerminal -Terminal $terminals.B -Command @"
New-Connection -Name d365 -Type Dynamics365 -InstanceUrl https://contoso.crm.dynamics.com -UseDeviceCode -AcceptDataProcessingAgreement | Out-Null
Set-Connection -Name d365 -RetrievalInterval (New-TimeSpan -Days 1) -DefaultCustomer '$customer'
`$null = Start-ConnectionJob -Name d365
"@
        $setupA = Receive-AdminTerminal -Terminal $terminals.A
        $nodeHosts.A = Start-CaseSyncNodeHost -Name A -StorePath $publicStore -Port $publicPort
        $null = Receive-AdminTerminal -Terminal $terminals.B
        # The private admin accepts the invitation and binds it to the environment.
        $setupB = Invoke-AdminTerminal -Terminal $terminals.B -Command @"
`$null = Accept-ConnectionInvitation -InvitationCode '$($setupA.Result.Code)' -Name partner-a -LocalInstanceName fabrikam -System d365 -Confirm:`$false
'RESULT:' + (@{ Ready = @(Test-ConnectionSync -Name partner-a | ForEach-Object { `$_.Ready }) } | ConvertTo-Json -Compress)
"@
        $nodeHosts.B = Start-CaseSyncNodeHost -Name B -StorePath $privateStore -Private

        $flow = @{ CaseId = $null; IncidentId = $null; Existing = $null }
    }

    AfterAll {
        foreach ($name in 'B', 'A') {
            if ($null -ne $terminals -and $terminals.ContainsKey($name)) { Stop-AdminTerminal $terminals[$name] }
            if ($null -ne $nodeHosts -and $nodeHosts.ContainsKey($name)) { Stop-TestNodeHost $nodeHosts[$name] }
        }
        Stop-TestProviderEmulators $providers
        if ($env:CASESYNC_KEEP) { Copy-Item -Recurse -Force -Path $TestDrive -Destination $env:CASESYNC_KEEP }
        Close-TestSession
    }

    It 'both admins bound their systems: Test-ConnectionSync is Ready on both sides, and the connection is Active on both' {
        @($setupA.Result.Ready) | Should -Be @($true) -Because $setupA.Output
        @($setupB.Result.Ready) | Should -Be @($true) -Because $setupB.Output
        Use-PublicAdmin
        $a = Get-Connection -Name partner-b
        $a.Status | Should -Be 'Active'
        $a.System | Should -Be 'sf-prod'
        Use-PrivateAdmin
        $b = Get-Connection -Name partner-a
        $b.Status | Should -Be 'Active'
        $b.System | Should -Be 'd365'
        (Get-Connection -Name d365).DefaultCustomer | Should -Be $customer
        # The private node host's rounds run on their own.
        $null = Wait-Until -Because "node B's host made a sync round" -Condition { Use-PrivateAdmin; (Get-Connection -Name partner-a).LastSyncRoundAt }
    }

    It 'a case made in Salesforce appears in Dynamics 365 as an incident with its title, description and priority' {
        $case = Invoke-Control -Method Post -Path 'salesforce/cases' -Body @{ Subject = 'Printer jams on every page'; Description = 'Since Monday, on the 3rd floor.'; Priority = 'High' }
        $flow.CaseId = $case.Id
        # The org's 30 earlier cases waited in the queue since the first run, before partner-b was bound: they go too.
        $cases = $ready.SalesforceCases + 1
        (Start-Retrieval -Node A).Queued | Should -BeExactly "Queued $cases sync event(s) from $cases case(s) of 'sf-prod' for 'partner-b'."

        $incident = Wait-Until -Because "the case $($case.Id) is an incident in Dataverse" -Condition { Find-Incident -CaseId $case.Id }
        $incident.title | Should -Be 'Printer jams on every page'
        $incident.description | Should -Be 'Since Monday, on the 3rd floor.'
        $incident.prioritycode | Should -Be 1 -Because 'High is prioritycode 1'
        $incident._customerid_value | Should -Be '6f1c2d3e-0000-4000-8000-000000000001' -Because 'new incidents are made under the default customer'
        $flow.IncidentId = $incident.incidentid
        foreach ($number in 1, 30) {
            $existing = Get-SalesforceCase -Id ('5005g{0:D10}AAA' -f $number)
            (Wait-Until -Because "the org's case $number is an incident" -Condition { Find-Incident -CaseId $existing.Id }).title | Should -Be $existing.Subject
        }

        # Everything queued arrived and was applied: nothing waits on node B, and nothing failed.
        $null = Wait-Until -Because 'node B applied every incoming event' -Condition { (Get-Event -Node B -Direction Incoming).Count -eq 0 }
        Use-PrivateAdmin
        Get-ConnectionSyncError -Name partner-a | Should -BeNullOrEmpty
        (Get-Connection -Name d365).Status | Should -Be 'Active'
        # The case in Salesforce is untouched: the link is kept on node B, not written into the org.
        (Get-SalesforceCase -Id $case.Id).ConnectionTools_Partner_Id__c | Should -BeNullOrEmpty
    }

    It "the incident written by node B is not sent back: node B's next retrieval queues nothing for node A" {
        $run = Start-Retrieval -Node B
        $run.Records | Should -Be ($ready.SalesforceCases + 1) -Because 'the run reads the incidents node B wrote'
        $run.Queued | Should -BeExactly "Queued 0 sync event(s) from $($run.Records) case(s) of 'd365' for 'partner-a'; $($run.Records) change(s) were this node's own writes of partner cases coming back, not sent."
        Get-Event -Node B -Direction Outgoing | Should -BeNullOrEmpty
    }

    It 'a change made in Dynamics 365 shows in Salesforce, on the same case' {
        $null = Invoke-Control -Method Patch -Path "dataverse/incidents/$($flow.IncidentId)" -Body @{ description = 'Toner replaced; still jams.'; prioritycode = 3 }
        (Start-Retrieval -Node B).Queued | Should -BeLike "Queued 1 sync event(s) from * case(s) of 'd365' for 'partner-a'*"

        $case = Wait-Until -Because "the change reaches the Salesforce case $($flow.CaseId)" -Condition {
            $c = Get-SalesforceCase -Id $flow.CaseId
            if ($c.Description -eq 'Toner replaced; still jams.') { $c }
        }
        $case.Priority | Should -Be 'Low' -Because 'prioritycode 3 is Low'
        $case.Subject | Should -Be 'Printer jams on every page' -Because "the summary stays the creator's"
        # Applied as an update of the case it came from, which now carries the incident's id as its External ID: no case was made for it.
        (Find-SalesforceCase -ExternalId $flow.IncidentId).Id | Should -Be $flow.CaseId
        $null = Wait-Until -Because 'node A applied every incoming event' -Condition { (Get-Event -Node A -Direction Incoming).Count -eq 0 }

        # And node A's own write is not sent back either.
        (Start-Retrieval -Node A).Queued | Should -Match "^Queued 0 sync event\(s\) from \d+ case\(s\) of 'sf-prod' for 'partner-b'; \d+ change\(s\) were this node's own writes"
        Get-Event -Node A -Direction Outgoing | Should -BeNullOrEmpty
    }

    It 'paused (Suspend-Connection on node B): the changes on both sides stay queued, nothing reaches the other system' {
        $null = Invoke-AdminTerminal -Terminal $terminals.B -Command 'Suspend-Connection -Name partner-a'
        $null = Wait-Until -Because 'node A learned that partner-a is paused' -Condition { Use-PublicAdmin; (Get-Connection -Name partner-b).PeerStatus -eq 'Paused' }

        # In Salesforce the new case changes; in Dynamics 365 the incident of the org's first case (Priority Medium) does.
        $flow.OtherCaseId = '5005g0000000001AAA'
        (Get-SalesforceCase -Id $flow.OtherCaseId).Priority | Should -Be 'Medium'
        $flow.OtherIncidentId = (Find-Incident -CaseId $flow.OtherCaseId).incidentid
        $null = Invoke-Control -Method Patch -Path "salesforce/cases/$($flow.CaseId)" -Body @{ Description = 'Paper tray 2 is bent.' }
        $null = Invoke-Control -Method Patch -Path "dataverse/incidents/$($flow.OtherIncidentId)" -Body @{ prioritycode = 3 }
        (Start-Retrieval -Node A).Queued | Should -BeLike 'Queued 1 sync event(s) from *'
        (Start-Retrieval -Node B).Queued | Should -BeLike 'Queued 1 sync event(s) from *'
        @((Get-Event -Node A -Direction Outgoing).CaseId) | Should -Be @($flow.CaseId)
        @((Get-Event -Node B -Direction Outgoing).CaseId) | Should -Be @($flow.OtherIncidentId)

        # Two more rounds of node B's host: they exchange status, and move nothing.
        Use-PrivateAdmin
        $after = (Get-Connection -Name partner-a).LastSyncRoundAt
        $null = Wait-Until -Because 'node B made another round' -Condition { Use-PrivateAdmin; (Get-Connection -Name partner-a).LastSyncRoundAt -gt $after }
        $after = (Get-Connection -Name partner-a).LastSyncRoundAt
        $null = Wait-Until -Because 'node B made another round' -Condition { Use-PrivateAdmin; (Get-Connection -Name partner-a).LastSyncRoundAt -gt $after }

        @((Get-Event -Node A -Direction Outgoing).Status) | Should -Be @('Queued')
        @((Get-Event -Node B -Direction Outgoing).Status) | Should -Be @('Queued')
        Get-Event -Node A -Direction Incoming | Should -BeNullOrEmpty
        Get-Event -Node B -Direction Incoming | Should -BeNullOrEmpty
        (Find-Incident -CaseId $flow.CaseId).description | Should -Be 'Toner replaced; still jams.'
        (Get-SalesforceCase -Id $flow.OtherCaseId).Priority | Should -Be 'Medium'
        Use-PrivateAdmin
        (Get-Connection -Name partner-a).Status | Should -Be 'Paused'
    }

    It 'Resume-Connection on node B: both changes land' {
        $null = Invoke-AdminTerminal -Terminal $terminals.B -Command 'Resume-Connection -Name partner-a'
        $incident = Wait-Until -Because "Salesforce's change reaches the incident" -Condition {
            $i = Find-Incident -CaseId $flow.CaseId
            if ($i.description -eq 'Paper tray 2 is bent.') { $i }
        }
        $incident.prioritycode | Should -Be 3 -Because 'only the description changed'
        $case = Wait-Until -Because "Dynamics 365's change reaches the org's first case" -Condition {
            $c = Get-SalesforceCase -Id $flow.OtherCaseId
            if ($c.Priority -eq 'Low') { $c }
        }
        $case.Id | Should -Be $flow.OtherCaseId
        $null = Wait-Until -Because 'both nodes applied every incoming event' -Condition {
            (Get-Event -Node A -Direction Incoming).Count -eq 0 -and (Get-Event -Node B -Direction Incoming).Count -eq 0
        }
        Use-PrivateAdmin
        (Get-Connection -Name partner-a).PeerStatus | Should -Be 'Active'
        Get-ConnectionSyncError -Name partner-a | Should -BeNullOrEmpty
        Use-PublicAdmin
        (Get-Connection -Name partner-b).PeerStatus | Should -Be 'Active'
        Get-ConnectionSyncError -Name partner-b | Should -BeNullOrEmpty
    }

    It "the Dynamics 365 grant is revoked: node B's connection becomes Inactive, and the partner's changes are Held, in order" {
        $null = Invoke-Control -Method Post -Path 'entra/grants/revoke'

        $null = Invoke-Control -Method Patch -Path "salesforce/cases/$($flow.CaseId)" -Body @{ Description = 'Technician booked for Tuesday.' }
        $null = Start-Retrieval -Node A
        $null = Wait-Until -Because "node B's d365 became Inactive when it tried to write the change" -Condition { Use-PrivateAdmin; (Get-Connection -Name d365).Status -eq 'Inactive' }
        $held = Wait-Until -Because 'the change is Held on node B' -Condition { @(Get-Event -Node B -Direction Incoming | Where-Object Status -eq 'Held') }
        @($held).Count | Should -Be 1

        # A second change while Inactive arrives Held behind the first.
        $null = Invoke-Control -Method Patch -Path "salesforce/cases/$($flow.CaseId)" -Body @{ Description = 'Technician came; roller replaced.'; Priority = 'Medium' }
        $null = Start-Retrieval -Node A
        $held = Wait-Until -Because 'the second change is Held on node B too' -Condition { $e = @(Get-Event -Node B -Direction Incoming); if ($e.Count -eq 2) { $e } }
        @($held.Status) | Should -Be @('Held', 'Held')
        @($held.CaseId | Sort-Object -Unique) | Should -Be @($flow.CaseId)
        $held[1].Sequence | Should -Be ($held[0].Sequence + 1)
        Use-PrivateAdmin
        $d365 = Get-Connection -Name d365
        $d365.InactiveReason | Should -Be 'Revoked'
        (Get-ConnectionJob -Schedule -Connection d365).State | Should -Be 'Holding'
        (Find-Incident -CaseId $flow.CaseId).description | Should -Be 'Paper tray 2 is bent.' -Because 'nothing is written while the grant is refused'
    }

    It 'Update-ConnectionAuthorization (a device-code sign-in) makes it Active, and the held changes land in order' {
        $renewed = Invoke-AdminTerminal -Terminal $terminals.B -Command @'
'RESULT:' + (Update-ConnectionAuthorization -Name d365 -UseDeviceCode | Select-Object Name, @{ n = 'Status'; e = { "$($_.Status)" } } | ConvertTo-Json -Compress)
'@
        $renewed.Result.Status | Should -Be 'Active' -Because $renewed.Output
        # Applied one at a time, in sequence: the later change is what the incident holds.
        $incident = Wait-Until -Because 'the held changes reach the incident' -Condition {
            if ((Get-Event -Node B -Direction Incoming).Count -eq 0) { Find-Incident -CaseId $flow.CaseId }
        }
        $incident.description | Should -Be 'Technician came; roller replaced.'
        $incident.prioritycode | Should -Be 2 -Because 'Medium is prioritycode 2'
        Use-PrivateAdmin
        Get-ConnectionSyncError -Name partner-a | Should -BeNullOrEmpty
        (Get-Connection -Name d365).Status | Should -Be 'Active'

        # Re-authorized, d365's job is due at once and catches up: what node B wrote is not sent back, and both systems agree.
        $null = Wait-Until -Because "d365's catch-up run after re-authorization" -Condition {
            Use-PrivateAdmin; @(Get-ConnectionJob -Connection d365 -Last 1 | Where-Object { $_.Trigger -eq 'Schedule' -and $_.Status -eq 'Succeeded' })
        }
        $null = Wait-Until -Because 'no sync event waits on either node' -Condition {
            (Get-Event -Node A -Direction Outgoing).Count + (Get-Event -Node A -Direction Incoming).Count + (Get-Event -Node B -Direction Outgoing).Count + (Get-Event -Node B -Direction Incoming).Count -eq 0
        }
        $case = Get-SalesforceCase -Id $flow.CaseId
        $case.Description | Should -Be 'Technician came; roller replaced.'
        $case.Priority | Should -Be 'Medium'
        (Find-Incident -CaseId $flow.CaseId).description | Should -Be 'Technician came; roller replaced.'
    }
    It 'a field one side changes while the other side changes another field of the same case: both systems end with both changes' {
        # Node B's own base keeps the older description (A's write of B's change was an echo, never sent back), so B needs
        # A's base, sent with A's event, to see that only A changed the description since both last agreed.
        # Dynamics 365 changes the description, and it reaches Salesforce: both sides hold it.
        $null = Invoke-Control -Method Patch -Path "dataverse/incidents/$($flow.IncidentId)" -Body @{ description = 'Waiting for the roller.' }
        $null = Start-Retrieval -Node B
        $null = Wait-Until -Because 'the description reaches Salesforce' -Condition { (Get-SalesforceCase -Id $flow.CaseId).Description -eq 'Waiting for the roller.' }
        $null = Start-Retrieval -Node A

        # Paused, Salesforce then changes the description, and Dynamics 365 then the priority.
        $null = Invoke-AdminTerminal -Terminal $terminals.B -Command 'Suspend-Connection -Name partner-a'
        $null = Invoke-Control -Method Patch -Path "salesforce/cases/$($flow.CaseId)" -Body @{ Description = 'Roller arrived; printer fixed.' }
        Start-Sleep -Milliseconds 50
        $null = Invoke-Control -Method Patch -Path "dataverse/incidents/$($flow.IncidentId)" -Body @{ prioritycode = 3 }
        $null = Start-Retrieval -Node A
        $null = Start-Retrieval -Node B
        $null = Invoke-AdminTerminal -Terminal $terminals.B -Command 'Resume-Connection -Name partner-a'

        $null = Wait-Until -Because 'no sync event waits on either node' -Condition {
            (Get-Event -Node A -Direction Outgoing).Count + (Get-Event -Node A -Direction Incoming).Count + (Get-Event -Node B -Direction Outgoing).Count + (Get-Event -Node B -Direction Incoming).Count -eq 0
        }
        $null = Wait-Until -Because 'the priority reaches Salesforce' -Condition { (Get-SalesforceCase -Id $flow.CaseId).Priority -eq 'Low' }
        # Only Salesforce changed the description since both sides last held the same one: its change is the one both keep.
        (Get-SalesforceCase -Id $flow.CaseId).Description | Should -Be 'Roller arrived; printer fixed.'
        (Find-Incident -CaseId $flow.CaseId).description | Should -Be 'Roller arrived; printer fixed.'
    }
}
