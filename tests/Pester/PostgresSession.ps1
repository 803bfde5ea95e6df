<#
    The PostgreSQL set-up of PostgreSql.Tests.ps1, dot-sourced in a Describe's BeforeAll after TestSession.ps1. The server is the
    one build.ps1 starts (tests/Shared/postgres-cluster.sh): CONNECTIONTOOLS_TEST_POSTGRES names it (Host=...;Port=...;Username=...;
    Database=postgres) and PGPASSFILE holds its password. Without them the suite fails: a PostgreSQL test is never skipped.

    Defines $pgHost, $pgPort, $pgUser, and New-TestDatabase (a fresh, empty database, dropped by Remove-TestDatabases),
    Invoke-Psql, Get-PostgresUri, New-TestRole (a role with a password, for -Credential) and Invoke-ModulePwsh (a child pwsh
    with the module imported).
#>

if ([string]::IsNullOrWhiteSpace($env:CONNECTIONTOOLS_TEST_POSTGRES) -or [string]::IsNullOrWhiteSpace($env:PGPASSFILE)) {
    throw 'The PostgreSQL tests need a server: CONNECTIONTOOLS_TEST_POSTGRES (Host=...;Port=...;Username=...;Database=postgres) and PGPASSFILE. ' +
        'build.ps1 -Task Test or -Task Pester starts one; by hand: tests/Shared/postgres-cluster.sh start /tmp/<folder>, then set both from its server.env.'
}

$pgSettings = @{}
foreach ($pair in $env:CONNECTIONTOOLS_TEST_POSTGRES.Split(';', [StringSplitOptions]::RemoveEmptyEntries)) {
    $name, $value = $pair.Split('=', 2)
    $pgSettings[$name.Trim()] = $value.Trim()
}
$pgHost = $pgSettings['Host']
$pgPort = [int]$pgSettings['Port']
$pgUser = $pgSettings['Username']

# Debian's postgresql-client: /usr/lib/postgresql/<version>/bin/psql (the /usr/bin one is a wrapper that wants a cluster config).
$psqlPath = @(Get-ChildItem -Path '/usr/lib/postgresql/*/bin/psql' -ErrorAction SilentlyContinue | Sort-Object { [int]$_.Directory.Parent.Name } -Descending | ForEach-Object FullName) + @((Get-Command psql -CommandType Application -ErrorAction SilentlyContinue).Source) |
    Where-Object { $_ } | Select-Object -First 1
if (-not $psqlPath) { throw 'psql is not on PATH or in /usr/lib/postgresql/*/bin: install postgresql-client.' }

$testDatabases = [System.Collections.Generic.List[string]]::new()
$testRoles = [System.Collections.Generic.List[string]]::new()

function Invoke-Psql {
    # Runs each statement of $Sql on its own (CREATE DATABASE cannot run in a transaction) in $Database as the test user,
    # and returns psql's unaligned, tuples-only output; throws with psql's error.
    param([Parameter(Mandatory)] [string[]] $Sql, [string] $Database = 'postgres')
    $arguments = @('-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', "host=$pgHost port=$pgPort user=$pgUser dbname=$Database")
    foreach ($statement in $Sql) { $arguments += @('-c', $statement) }
    $output = & $psqlPath @arguments 2>&1
    if ($LASTEXITCODE -ne 0) { throw "psql in '$Database' failed ($LASTEXITCODE): $($output -join ' ') SQL: $($Sql -join '; ')" }
    $output
}

function New-TestDatabase {
    # A fresh, empty database (ct_test_<guid>), owned by $Owner when given; Remove-TestDatabases drops it.
    param([string] $Owner)
    $name = 'ct_test_' + [guid]::NewGuid().ToString('n')
    $null = Invoke-Psql -Sql ("CREATE DATABASE $name" + $(if ($Owner) { " OWNER $Owner" } else { '' }))
    $testDatabases.Add($name)
    $name
}

function New-TestRole {
    # A login role with a password (only -Credential knows it: PGPASSFILE has no entry for it); dropped by Remove-TestDatabases.
    param([Parameter(Mandatory)] [string] $Password)
    $name = 'ct_role_' + [guid]::NewGuid().ToString('n').Substring(0, 12)
    $null = Invoke-Psql -Sql "CREATE ROLE $name LOGIN PASSWORD '$Password'"
    $testRoles.Add($name)
    $name
}

function Remove-TestDatabases {
    # WITH (FORCE): a node host or the session's pool may still hold a connection.
    foreach ($name in $testDatabases) { try { $null = Invoke-Psql -Sql "DROP DATABASE IF EXISTS $name WITH (FORCE)" } catch { Write-Warning $_ } }
    foreach ($name in $testRoles) { try { $null = Invoke-Psql -Sql "DROP ROLE IF EXISTS $name" } catch { Write-Warning $_ } }
    $testDatabases.Clear()
    $testRoles.Clear()
}

function Get-PostgresUri {
    param([Parameter(Mandatory)] [string] $Database, [string] $User = $pgUser, [int] $Port = $pgPort)
    "postgresql://$User@${pgHost}:$Port/$Database"
}

function Get-TableCount {
    # How many tables the database's schema public holds: 0 means nothing was created there.
    param([Parameter(Mandatory)] [string] $Database)
    [int](Invoke-Psql -Database $Database -Sql "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
}

function Invoke-ModulePwsh {
    # $Command in a fresh pwsh with the module imported (no store chosen yet); returns Output, Result (the last RESULT: line,
    # parsed from JSON) and ExitCode. The child inherits this process's environment (PGPASSFILE among it).
    param([Parameter(Mandatory)] [string] $Command, [int] $TimeoutSeconds = 120)
    $script = "`$ErrorActionPreference = 'Stop'; `$ProgressPreference = 'SilentlyContinue'; `$PSStyle.OutputRendering = 'PlainText'; " +
        "Import-Module '$($manifestPath.Replace("'", "''"))'`n$Command"
    $start = [System.Diagnostics.ProcessStartInfo]::new($pwshPath)
    foreach ($argument in '-NoProfile', '-NonInteractive', '-OutputFormat', 'Text', '-EncodedCommand', [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($script))) {
        $start.ArgumentList.Add($argument)
    }
    $start.UseShellExecute = $false
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $start.RedirectStandardInput = $true
    Invoke-ChildProcess -Start $start -TimeoutSeconds $TimeoutSeconds
}

function Get-ChildProcessIds {
    # The processes whose parent is $ParentId (Linux: /proc/<pid>/stat), to read a node host's own command line.
    param([Parameter(Mandatory)] [int] $ParentId)
    foreach ($folder in Get-ChildItem -Path '/proc' -Directory -ErrorAction SilentlyContinue | Where-Object Name -Match '^\d+$') {
        $stat = Get-Content -LiteralPath (Join-Path $folder.FullName 'stat') -Raw -ErrorAction SilentlyContinue
        # The name in parentheses may hold spaces: the parent id is the second field after its closing parenthesis.
        if ($stat -and ($stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')[1]) -eq "$ParentId") { [int]$folder.Name }
    }
}
