#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    A PostgreSQL store through the built module, the way an admin uses one: Connect-ConnectionNode -ConnectionString against
    the real test server (build.ps1 starts it; see PostgresSession.ps1), a real node host process serving it, a private side on
    SQLite in another pwsh, the assemblies a session loads, and bad input. Each Describe works in databases of its own.

    The tests in 'The lifecycle on a PostgreSQL store' form one flow and run in the order written.
#>

Describe 'The lifecycle on a PostgreSQL store' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')
        . (Join-Path $PSScriptRoot 'PostgresSession.ps1')

        # The public side signs in as a role only -Credential knows the password of: the node host started from this session
        # can reach the store only through the PGPASSWORD it is given.
        $ownerPassword = 'Owner-' + [guid]::NewGuid().ToString('n')
        $owner = New-TestRole -Password $ownerPassword
        $database = New-TestDatabase -Owner $owner
        $credential = [pscredential]::new($owner, (ConvertTo-SecureString -String $ownerPassword -AsPlainText -Force))
        $keyFile = Join-Path $TestDrive 'public.key'
        $uri = Get-PostgresUri -Database $database -User $owner
        $flow = @{ Code = $null; Host = $null; Verbose = '' }
        $privateStore = Join-Path $TestDrive 'private/store.db'
    }

    AfterAll {
        if ($flow.Host) { $flow.Host | Stop-ConnectionNodeHost -ErrorAction SilentlyContinue }
        Close-TestSession
        Remove-TestDatabases
    }

    It 'Connect-ConnectionNode -ConnectionString -Credential -KeyFile -Create makes the store and shows Engine and Server without a password' {
        $node = Connect-ConnectionNode -ConnectionString $uri -Credential $credential -KeyFile $keyFile -Create -InformationVariable notices
        $node.Engine | Should -Be 'PostgreSQL'
        $node.Server | Should -Be "${pgHost}:$pgPort/$database as $owner"
        $node.StorePath | Should -Be $uri
        $node.StoreSource | Should -Be 'Session'
        "$notices" | Should -Match ([regex]::Escape("Created a new, empty store at '$uri'"))
        Test-Path -LiteralPath $keyFile -PathType Leaf | Should -BeTrue
        Get-TableCount -Database $database | Should -BeGreaterThan 0

        $shown = Get-ConnectionNode
        $shown.Engine | Should -Be 'PostgreSQL'
        $text = ($shown | Format-List | Out-String -Width 200) + ($shown | Format-Table | Out-String -Width 80)
        $text | Should -Match 'Engine\s+: PostgreSQL'
        $text | Should -Match ([regex]::Escape("Server           : ${pgHost}:$pgPort/$database as $owner"))
        $text | Should -Not -Match ([regex]::Escape($ownerPassword))
    }

    It 'New-PrivateConnection and Get-InvitationCode work on it' {
        $port = Get-FreeLoopbackPort
        $flow.Port = $port
        $null = Set-ConnectionNode -PublicUrl "http://127.0.0.1:$port/"
        $invitation = @(New-PrivateConnection -Name 'pg-eu' -LocalInstanceName 'contoso-pg')
        $invitation.Count | Should -Be 1
        $invitation[0].Status | Should -Be 'Pending'
        $flow.Code = $invitation[0].InvitationCode
        (Get-InvitationCode -Name 'pg-eu').InvitationCode | Should -Be $flow.Code
        (Get-Connection -Name 'pg-eu').Status | Should -Be 'Pending'
    }

    It 'Start-ConnectionNodeHost -Background serves the store, its password only in the host''s environment' {
        $flow.Host = Start-ConnectionNodeHost -Port $flow.Port -Background -Verbose 4>&1 | ForEach-Object {
            if ($_ -is [System.Management.Automation.VerboseRecord]) { $flow.Verbose += $_.Message + "`n" } else { $_ }
        }
        $flow.Host.Running | Should -BeTrue
        $flow.Host.StorePath | Should -Be $uri
        (Invoke-RestMethod "http://127.0.0.1:$($flow.Port)/readyz").status | Should -Be 'ready'
        $flow.Verbose | Should -Match ([regex]::Escape('--key-file'))
        $flow.Verbose | Should -Not -Match ([regex]::Escape($ownerPassword))
        # The host is a child of setsid; its own command line is what `ps` shows every user.
        $commandLines = foreach ($id in @($flow.Host.ProcessId) + @(Get-ChildProcessIds -ParentId $flow.Host.ProcessId)) {
            $file = "/proc/$id/cmdline"
            if (Test-Path -LiteralPath $file) { (Get-Content -LiteralPath $file -Raw) -replace "`0", ' ' }
        }
        "$commandLines" | Should -Match ([regex]::Escape("--store $uri"))
        "$commandLines" | Should -Not -Match ([regex]::Escape($ownerPassword))
        Get-Content -LiteralPath $flow.Host.LogPath -Raw | Should -Not -Match ([regex]::Escape($ownerPassword))
    }

    It 'a private side on SQLite in another pwsh accepts the invitation; both sides are Active' {
        $command = "`$null = Connect-ConnectionNode -StorePath '$privateStore' -Create`n" +
            "`$accepted = '$($flow.Code)' | Approve-ConnectionInvitation -LocalInstanceName 'fabrikam-sqlite'`n" +
            "'RESULT:' + (@{ Status = [string]`$accepted.Status; Engine = (Get-ConnectionNode).Engine; Peer = [string]`$accepted.RemoteInstanceName } | ConvertTo-Json -Compress)"
        $child = Invoke-ModulePwsh -Command $command
        $child.ExitCode | Should -Be 0 -Because $child.Output
        $child.Result.Status | Should -Be 'Active'
        $child.Result.Engine | Should -Be 'SQLite'
        $child.Result.Peer | Should -Be 'contoso-pg'

        $onPublic = Get-Connection -Name 'pg-eu'
        $onPublic.Status | Should -Be 'Active'
        $onPublic.RemoteInstanceName | Should -Be 'fabrikam-sqlite'
    }

    It 'Suspend-Connection and Resume-Connection change it, and the private side sees it after Sync-Connection' {
        Suspend-Connection -Name 'pg-eu' -ErrorAction Stop
        (Get-Connection -Name 'pg-eu').Status | Should -Be 'Paused'
        $child = Invoke-ModulePwsh -Command ("`$null = Connect-ConnectionNode -StorePath '$privateStore'; Sync-Connection; " +
            "'RESULT:' + (@{ PeerStatus = [string](Get-Connection -Name 'pg-eu').PeerStatus } | ConvertTo-Json -Compress)")
        $child.ExitCode | Should -Be 0 -Because $child.Output
        $child.Result.PeerStatus | Should -Be 'Paused'

        Resume-Connection -Name 'pg-eu' -ErrorAction Stop
        (Get-Connection -Name 'pg-eu').Status | Should -Be 'Active'
    }

    It 'Set-Connection renames and describes it' {
        Set-Connection -Name 'pg-eu' -NewName 'pg-europe' -Description 'Fabrikam on PostgreSQL' -ErrorAction Stop
        $renamed = Get-Connection -Name 'pg-europe'
        $renamed.Description | Should -Be 'Fabrikam on PostgreSQL'
        @(Get-Connection -Name 'pg-eu' -ErrorAction SilentlyContinue).Count | Should -Be 0
    }

    It 'a second session on the same store (no -Create, the same key file) sees the same node' {
        $nodeId = (Get-ConnectionNode).NodeId
        $child = Invoke-ModulePwsh -Command ("`$cred = [pscredential]::new('$owner', (ConvertTo-SecureString '$ownerPassword' -AsPlainText -Force)); " +
            "`$node = Connect-ConnectionNode -ConnectionString '$uri' -Credential `$cred -KeyFile '$keyFile'; " +
            "'RESULT:' + (@{ NodeId = [string]`$node.NodeId; Names = @(Get-Connection | ForEach-Object Name) } | ConvertTo-Json -Compress)")
        $child.ExitCode | Should -Be 0 -Because $child.Output
        $child.Result.NodeId | Should -Be ([string]$nodeId)
        $child.Result.Names | Should -Be @('pg-europe')
    }

    It 'Remove-Connection removes it, and its history is kept' {
        Remove-Connection -Name 'pg-europe' -Confirm:$false -ErrorAction Stop
        @(Get-Connection).Count | Should -Be 0
        (Get-Connection -IncludeRemoved | Where-Object Name -EQ 'pg-europe').Status | Should -Be 'Removed'
        $actions = @(Get-ConnectionHistory -Name 'pg-europe' | ForEach-Object { [string]$_.Action })
        foreach ($action in 'Create', 'Accept', 'Suspend', 'Resume', 'Edit', 'Remove') { $actions | Should -Contain $action }
    }

    It 'New-ConnectionNodeService refuses a PostgreSQL store, naming how to run the host instead, and writes nothing' {
        $unit = Join-Path $TestDrive 'pg.service'
        $failure = { New-ConnectionNodeService -Port $flow.Port -Path $unit -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.NodeHost.InvalidOption,*' -PassThru
        ($failure | Out-String -Width 300) + $failure.ErrorDetails.RecommendedAction | Should -Match ([regex]::Escape("--store $uri --key-file $keyFile"))
        ($failure | Out-String -Width 300) | Should -Not -Match ([regex]::Escape($ownerPassword))
        Test-Path -LiteralPath $unit | Should -BeFalse
    }

    It 'the node host stops cleanly' {
        $flow.Host | Stop-ConnectionNodeHost
        $flow.Host.Running | Should -BeFalse
        (Get-ConnectionNode).Engine | Should -Be 'PostgreSQL'
    }
}

Describe 'Assemblies a PostgreSQL store loads' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')
        . (Join-Path $PSScriptRoot 'PostgresSession.ps1')
        $database = New-TestDatabase
        $report = @'
$loaded = foreach ($context in [System.Runtime.Loader.AssemblyLoadContext]::All) {
    foreach ($assembly in $context.Assemblies) {
        if ($assembly.GetName().Name -in 'Npgsql', 'ConnectionTools.Storage.PostgreSql', 'System.Diagnostics.DiagnosticSource', 'ConnectionTools.Core') {
            @{ Name = $assembly.GetName().Name; Version = $assembly.GetName().Version.ToString(); Context = $context.Name; Location = $assembly.Location }
        }
    }
}
# The DiagnosticSource each side binds to, asked of the module's context with the version each references: MSAL (Core's
# sign-in) and, when loaded, Npgsql. One copy means both get the same assembly.
$module = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'ConnectionTools'
$bindings = foreach ($name in 'Microsoft.Identity.Client', 'Npgsql') {
    $referrer = $module.Assemblies | Where-Object { $_.GetName().Name -eq $name }
    if (-not $referrer -and $name -eq 'Microsoft.Identity.Client') { $referrer = $module.LoadFromAssemblyName([System.Reflection.AssemblyName]::new($name)) }
    if ($referrer) {
        $asked = $referrer.GetReferencedAssemblies() | Where-Object Name -EQ 'System.Diagnostics.DiagnosticSource'
        $bound = $module.LoadFromAssemblyName($asked)
        @{ Referrer = $name; Asked = $asked.Version.ToString(); Location = $bound.Location; Version = $bound.GetName().Version.ToString(); Context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($bound).Name }
    }
}
'RESULT:' + (ConvertTo-Json -Compress -Depth 4 -InputObject @{ Loaded = @($loaded); Bindings = @($bindings) })
'@
       $dependencies = Join-Path $moduleFolder 'dependencies'
    }

    AfterAll {
        Close-TestSession
        Remove-TestDatabases
    }

    It 'after using a PostgreSQL store, Npgsql and the engine come from the module''s load context, and Core and Npgsql share one DiagnosticSource' {
        $command = "`$null = Connect-ConnectionNode -ConnectionString '$(Get-PostgresUri -Database $database)' -KeyFile '$(Join-Path $TestDrive 'a.key')' -Create`n" +
            "`$null = Get-Connection`n$report"
        $child = Invoke-ModulePwsh -Command $command
        $child.ExitCode | Should -Be 0 -Because $child.Output
        $loaded = @($child.Result.Loaded)
        foreach ($name in 'Npgsql', 'ConnectionTools.Storage.PostgreSql') {
            $copies = @($loaded | Where-Object Name -EQ $name)
            $copies.Count | Should -Be 1 -Because "$name is loaded once"
            $copies[0].Context | Should -Be 'ConnectionTools'
            $copies[0].Location | Should -Be (Join-Path $dependencies "$name.dll")
        }

        $shipped = [System.Reflection.AssemblyName]::GetAssemblyName((Join-Path $dependencies 'System.Diagnostics.DiagnosticSource.dll')).Version
        $shipped | Should -BeGreaterOrEqual ([version]'9.0.0.0') -Because 'Npgsql needs DiagnosticSource 9 or later'
        $bindings = @($child.Result.Bindings)
        @($bindings.Referrer) | Should -Be @('Microsoft.Identity.Client', 'Npgsql')
        @($bindings.Location | Select-Object -Unique).Count | Should -Be 1 -Because "MSAL (asks $($bindings[0].Asked)) and Npgsql (asks $($bindings[1].Asked)) get the same copy: $($bindings.Location -join ', ')"
        $bound = $bindings[0]
        if ($bound.Context -eq 'ConnectionTools') {
            $bound.Location | Should -Be (Join-Path $dependencies 'System.Diagnostics.DiagnosticSource.dll')
            [version]$bound.Version | Should -Be $shipped
        }
        else {
            # The runtime's copy serves both only when it is at least the one shipped (ModuleLoadContext.PreferFramework).
            [version]$bound.Version | Should -BeGreaterOrEqual $shipped
        }
        # The module's context holds no second copy (the runtime's own libraries keep the runtime's, outside it).
        @($loaded | Where-Object { $_.Name -eq 'System.Diagnostics.DiagnosticSource' -and $_.Context -eq 'ConnectionTools' }).Count | Should -BeLessOrEqual 1
        @($loaded | Where-Object Name -EQ 'System.Diagnostics.DiagnosticSource').Location | Should -Contain $bound.Location
    }

    It 'a session that only uses SQLite never loads Npgsql or the engine' {
        $command = "`$null = Connect-ConnectionNode -StorePath '$(Join-Path $TestDrive 'sqlite-only.db')' -Create`n`$null = Get-Connection`n$report"
        $child = Invoke-ModulePwsh -Command $command
        $child.ExitCode | Should -Be 0 -Because $child.Output
        $loaded = @($child.Result.Loaded)
        @($loaded | Where-Object Name -EQ 'ConnectionTools.Core').Count | Should -Be 1 -Because 'the report sees the module''s assemblies'
        @($loaded | Where-Object Name -In 'Npgsql', 'ConnectionTools.Storage.PostgreSql').Count | Should -Be 0
    }
}

Describe 'Bad input for a PostgreSQL store' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')
        . (Join-Path $PSScriptRoot 'PostgresSession.ps1')
        $savedKeyVariable = $env:CONNECTIONTOOLS_KEY_FILE
        $env:CONNECTIONTOOLS_KEY_FILE = $null

        function Get-ConnectFailure {
            # Connect-ConnectionNode with $Arguments; returns its error record and all the text a user could see of it
            # (the message, the recommendation, the target, and the error as PowerShell shows it), for the password check.
            param([Parameter(Mandatory)] [hashtable] $Arguments)
            try {
                $null = Connect-ConnectionNode @Arguments -ErrorAction Stop
            }
            catch {
                $record = $_
                $text = ($record | Out-String -Width 300) + ($record | Format-List * -Force | Out-String -Width 300) +
                    $record.Exception.ToString() + "$($record.TargetObject)" + "$($record.ErrorDetails.RecommendedAction)" + ($Error | Out-String -Width 300)
                return [pscustomobject]@{ Record = $record; Text = $text }
            }
            throw "Connect-ConnectionNode did not fail: $($Arguments | Out-String)"
        }
    }

    AfterAll {
        $env:CONNECTIONTOOLS_KEY_FILE = $savedKeyVariable
        Close-TestSession
        Remove-TestDatabases
    }

    It 'a password in the connection string (<Form>) is refused and not repeated; nothing is created' -ForEach @(
        @{ Form = 'Npgsql keywords' }
        @{ Form = 'postgresql URI' }
    ) {
        $database = New-TestDatabase
        $secret = 'Pw-' + [guid]::NewGuid().ToString('n')
        $key = Join-Path $TestDrive "pw-$database.key"
        $connectionString = if ($Form -eq 'postgresql URI') { "postgresql://${pgUser}:$secret@${pgHost}:$pgPort/$database" } else { "Host=$pgHost;Port=$pgPort;Username=$pgUser;Password=$secret;Database=$database" }
        $failure = Get-ConnectFailure @{ ConnectionString = $connectionString; KeyFile = $key; Create = $true }
        $failure.Record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.PasswordInConnectionString,*'
        $failure.Text | Should -Not -Match ([regex]::Escape($secret))
        Get-TableCount -Database $database | Should -Be 0
        Test-Path -LiteralPath $key | Should -BeFalse
        # The session is left without a store, and says so without the string either.
        $later = { Get-Connection -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.Store.NotConnected,*' -PassThru
        ($later | Out-String -Width 300) | Should -Not -Match ([regex]::Escape($secret))
    }

    It 'the node host refuses a password in --store, without repeating it, before it opens anything' {
        $database = New-TestDatabase
        $secret = 'Pw-' + [guid]::NewGuid().ToString('n')
        $output = & dotnet (Join-Path $moduleFolder 'node/ConnectionTools.Node.dll') --store "Host=$pgHost;Port=$pgPort;Username=$pgUser;Password=$secret;Database=$database" --key-file (Join-Path $TestDrive 'node.key') --create --urls "http://127.0.0.1:$(Get-FreeLoopbackPort)" 2>&1
        $LASTEXITCODE | Should -Be 2
        "$output" | Should -Match 'ConnectionTools.Store.PasswordInConnectionString'
        "$output" | Should -Not -Match ([regex]::Escape($secret))
        Get-TableCount -Database $database | Should -Be 0
    }

    It 'a wrong password given with -Credential fails with AuthenticationFailed and is not repeated' {
        $role = New-TestRole -Password ('Right-' + [guid]::NewGuid().ToString('n'))
        $database = New-TestDatabase -Owner $role
        $wrong = 'Wrong-' + [guid]::NewGuid().ToString('n')
        $credential = [pscredential]::new($role, (ConvertTo-SecureString -String $wrong -AsPlainText -Force))
        $key = Join-Path $TestDrive "auth-$database.key"
        $failure = Get-ConnectFailure @{ ConnectionString = (Get-PostgresUri -Database $database -User $role); Credential = $credential; KeyFile = $key; Create = $true }
        $failure.Record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.AuthenticationFailed,*'
        $failure.Text | Should -Not -Match ([regex]::Escape($wrong))
        Get-TableCount -Database $database | Should -Be 0
        Test-Path -LiteralPath $key | Should -BeFalse
    }

    It 'connecting again with a wrong password is refused, even while this session has the store open' {
        $right = 'Right-' + [guid]::NewGuid().ToString('n')
        $role = New-TestRole -Password $right
        $database = New-TestDatabase -Owner $role
        $uri = Get-PostgresUri -Database $database -User $role
        $key = Join-Path $TestDrive "again-$database.key"
        $good = [pscredential]::new($role, (ConvertTo-SecureString -String $right -AsPlainText -Force))
        (Connect-ConnectionNode -ConnectionString $uri -Credential $good -KeyFile $key -Create).Engine | Should -Be 'PostgreSQL'
        $wrong = 'Wrong-' + [guid]::NewGuid().ToString('n')
        $bad = [pscredential]::new($role, (ConvertTo-SecureString -String $wrong -AsPlainText -Force))
        $failure = Get-ConnectFailure @{ ConnectionString = $uri; Credential = $bad; KeyFile = $key }
        $failure.Record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.AuthenticationFailed,*'
        $failure.Text | Should -Not -Match ([regex]::Escape($wrong))
    }

    It 'a server nothing listens on fails with ServerUnreachable' {
        $closedPort = Get-FreeLoopbackPort
        $key = Join-Path $TestDrive 'unreachable.key'
        $failure = Get-ConnectFailure @{ ConnectionString = "Host=127.0.0.1;Port=$closedPort;Username=$pgUser;Database=nowhere"; KeyFile = $key; Create = $true }
        $failure.Record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.ServerUnreachable,*'
        Test-Path -LiteralPath $key | Should -BeFalse
    }

    It 'a database that holds other tables is not taken for a store, even with -Create' {
        $database = New-TestDatabase
        $null = Invoke-Psql -Database $database -Sql 'CREATE TABLE invoices (id int PRIMARY KEY)'
        $failure = Get-ConnectFailure @{ ConnectionString = (Get-PostgresUri -Database $database); KeyFile = (Join-Path $TestDrive "foreign-$database.key"); Create = $true }
        $failure.Record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.ForeignDatabase,*'
        Invoke-Psql -Database $database -Sql "SELECT string_agg(table_name, ',') FROM information_schema.tables WHERE table_schema = 'public'" | Should -Be 'invoices'
    }

    It 'a store with a newer schema fails with SchemaTooNew and is left as it was' {
        $database = New-TestDatabase
        $key = Join-Path $TestDrive "newer-$database.key"
        # Made in another process, so this one holds no open store of it when it is changed under it.
        $child = Invoke-ModulePwsh -Command "`$null = Connect-ConnectionNode -ConnectionString '$(Get-PostgresUri -Database $database)' -KeyFile '$key' -Create"
        $child.ExitCode | Should -Be 0 -Because $child.Output
        $null = Invoke-Psql -Database $database -Sql 'UPDATE connectiontools_store SET version = 999'
        $failure = Get-ConnectFailure @{ ConnectionString = (Get-PostgresUri -Database $database); KeyFile = $key }
        $failure.Record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.SchemaTooNew,*'
        Invoke-Psql -Database $database -Sql 'SELECT version FROM connectiontools_store' | Should -Be '999'
    }

    It 'a database that does not exist fails with DatabaseNotFound and is not created' {
        $missing = 'ct_test_missing_' + [guid]::NewGuid().ToString('n')
        $failure = Get-ConnectFailure @{ ConnectionString = (Get-PostgresUri -Database $missing); KeyFile = (Join-Path $TestDrive 'missing.key'); Create = $true }
        $failure.Record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.DatabaseNotFound,*'
        Invoke-Psql -Sql "SELECT count(*) FROM pg_database WHERE datname = '$missing'" | Should -Be '0'
    }

    It 'an empty database without -Create fails with NotFound and stays empty' {
        $database = New-TestDatabase
        $key = Join-Path $TestDrive "empty-$database.key"
        $failure = Get-ConnectFailure @{ ConnectionString = (Get-PostgresUri -Database $database); KeyFile = $key }
        $failure.Record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.NotFound,*'
        Get-TableCount -Database $database | Should -Be 0
        Test-Path -LiteralPath $key | Should -BeFalse
    }

    It 'a role without CREATE on schema public fails with PrivilegesMissing and creates nothing' {
        # PostgreSQL 15 and later grant CREATE on public to the database owner only: this role may connect, not create.
        $password = 'Limited-' + [guid]::NewGuid().ToString('n')
        $role = New-TestRole -Password $password
        $database = New-TestDatabase
        $null = Invoke-Psql -Sql "GRANT CONNECT ON DATABASE $database TO $role"
        $credential = [pscredential]::new($role, (ConvertTo-SecureString -String $password -AsPlainText -Force))
        $key = Join-Path $TestDrive "privileges-$database.key"
        $failure = Get-ConnectFailure @{ ConnectionString = (Get-PostgresUri -Database $database -User $role); Credential = $credential; KeyFile = $key; Create = $true }
        $failure.Record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.PrivilegesMissing,*'
        $failure.Text | Should -Not -Match ([regex]::Escape($password))
        Get-TableCount -Database $database | Should -Be 0
    }

    It 'no key file (no -KeyFile, no CONNECTIONTOOLS_KEY_FILE) fails with KeyRequired and creates nothing' {
        $database = New-TestDatabase
        $failure = Get-ConnectFailure @{ ConnectionString = (Get-PostgresUri -Database $database); Create = $true }
        $failure.Record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.KeyRequired,*'
        Get-TableCount -Database $database | Should -Be 0
    }

    It 'CONNECTIONTOOLS_KEY_FILE is the default key file, relative to the PowerShell location' {
        $database = New-TestDatabase
        $folder = Join-Path $TestDrive 'key-variable'
        $null = New-Item -ItemType Directory -Path $folder
        Push-Location -LiteralPath $folder
        $env:CONNECTIONTOOLS_KEY_FILE = 'variable.key'
        try {
            $node = Connect-ConnectionNode -ConnectionString (Get-PostgresUri -Database $database) -Create
        }
        finally {
            $env:CONNECTIONTOOLS_KEY_FILE = $null
            Pop-Location
        }
        $node.Engine | Should -Be 'PostgreSQL'
        Test-Path -LiteralPath (Join-Path $folder 'variable.key') -PathType Leaf | Should -BeTrue
    }

    It 'another store''s key file fails with KeyMismatch and changes neither' {
        $first = New-TestDatabase
        $second = New-TestDatabase
        $firstKey = Join-Path $TestDrive "first-$first.key"
        $secondKey = Join-Path $TestDrive "second-$second.key"
        $null = Connect-ConnectionNode -ConnectionString (Get-PostgresUri -Database $first) -KeyFile $firstKey -Create
        $null = Connect-ConnectionNode -ConnectionString (Get-PostgresUri -Database $second) -KeyFile $secondKey -Create
        $secondKeyBefore = Get-FileHash -LiteralPath $secondKey
        $failure = Get-ConnectFailure @{ ConnectionString = (Get-PostgresUri -Database $first); KeyFile = $secondKey }
        $failure.Record.FullyQualifiedErrorId | Should -BeLike 'ConnectionTools.Store.KeyMismatch,*'
        (Get-FileHash -LiteralPath $secondKey).Hash | Should -Be $secondKeyBefore.Hash
        # The right key still opens it.
        (Connect-ConnectionNode -ConnectionString (Get-PostgresUri -Database $first) -KeyFile $firstKey).Engine | Should -Be 'PostgreSQL'
    }
}
