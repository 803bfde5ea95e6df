using System;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;

namespace ConnectionTools.Testing;

/// <summary>
/// The real PostgreSQL server the tests run against. build.ps1 starts one for the whole run and names it in
/// CONNECTIONTOOLS_TEST_POSTGRES; a test run without it (an IDE, a bare dotnet test) starts a throwaway cluster with
/// tests/Shared/postgres-cluster.sh, once per test process, and stops it when the process exits. There is no skipping:
/// without a server, the PostgreSQL tests fail and say why.
/// </summary>
/// <remarks>
/// The password never appears in a connection string: psql (and Npgsql) read it from the file in PGPASSFILE. Only the
/// BCL is used, so any test project can compile this file without a PostgreSQL driver.
/// </remarks>
internal static class PostgresTestServer
{
    private const string ServerVariable = "CONNECTIONTOOLS_TEST_POSTGRES";
    private const string DatabasePrefix = "ct_test_";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan PsqlTimeout = TimeSpan.FromMinutes(2);

    private static readonly Lazy<string> Server = new(FindOrStartServer, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<string> Psql = new(FindPsql, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// The server's connection string (Host, Port, Username, Database=postgres; no password): CONNECTIONTOOLS_TEST_POSTGRES
    /// when set, else the one of a cluster started for this process on first use. A failed start throws on every use,
    /// with the script's reason, rather than starting again for each test.
    /// </summary>
    public static string BaseConnectionString => Server.Value;

    /// <summary>Where psql is: PATH, then Debian's /usr/lib/postgresql/&lt;version&gt;/bin (highest version first).</summary>
    public static string PsqlPath => Psql.Value;

    /// <summary>
    /// Runs <paramref name="sql"/> (one or more statements, each on its own, so CREATE DATABASE works) with psql in
    /// <paramref name="database"/> on the test server, and returns psql's unaligned, tuples-only output. The first
    /// failing statement stops it and throws with psql's error.
    /// </summary>
    public static string RunPsql(string database, string sql)
    {
        ArgumentException.ThrowIfNullOrEmpty(database);
        ArgumentNullException.ThrowIfNull(sql);
        var server = Parse(BaseConnectionString);
        var start = new ProcessStartInfo(PsqlPath);
        foreach (var argument in new[]
        {
            "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
            "-h", Get(server, "127.0.0.1", "Host", "Server"),
            "-p", Get(server, "5432", "Port"),
            "-U", Get(server, Environment.UserName, "Username", "User Id", "User Name", "UserId", "User"),
            "-d", database,
            "-f", "-",
        })
        {
            start.ArgumentList.Add(argument);
        }

        // The password comes from PGPASSFILE; a PGPASSWORD left in the environment would win over it, so only one the
        // connection string names is passed on. A server that does not answer fails the test instead of hanging it.
        start.Environment.Remove("PGPASSWORD");
        var password = Get(server, string.Empty, "Password");
        if (password.Length > 0)
        {
            start.Environment["PGPASSWORD"] = password;
        }

        start.Environment["PGCONNECT_TIMEOUT"] = "10";
        var result = Run(start, sql, PsqlTimeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"psql in database '{database}' exited with code {result.ExitCode}: {result.Error.Trim()}{Environment.NewLine}SQL: {sql}");
        }

        return result.Output;
    }

    /// <summary>
    /// A fresh, empty database <c>ct_test_&lt;guid&gt;</c> on the test server, so that each test owns its data; returns its
    /// connection string (the base one with Database replaced). Drop it with <see cref="DropDatabase"/>.
    /// </summary>
    public static string CreateDatabase() => CreateDatabase(null);

    /// <summary>
    /// As <see cref="CreateDatabase()"/>, but a copy of <paramref name="template"/> (a database <see cref="CreateDatabase()"/>
    /// made, with no session open on it): a store already at the latest schema costs a file copy instead of its migrations.
    /// </summary>
    public static string CreateDatabase(string? template)
    {
        var name = DatabasePrefix + Guid.NewGuid().ToString("N");
        var from = template is null ? "" : " TEMPLATE " + QuoteIdentifier(Get(Parse(template), string.Empty, "Database", "DB"));
        RunPsql(BaseDatabase(), $"CREATE DATABASE {QuoteIdentifier(name)}{from};");
        // By hand rather than with DbConnectionStringBuilder, which writes every other key in lower case.
        var kept = BaseConnectionString.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Where(part => part.Split('=', 2)[0].Trim() is var key
                && !key.Equals("Database", StringComparison.OrdinalIgnoreCase) && !key.Equals("DB", StringComparison.OrdinalIgnoreCase));
        return string.Join(';', kept.Append("Database=" + name));
    }

    /// <summary>
    /// Drops a database <see cref="CreateDatabase"/> made, WITH (FORCE) so that pooled connections still open to it do
    /// not keep it alive. Only <c>ct_test_</c> databases: a base connection string passed by mistake must not drop postgres.
    /// </summary>
    public static void DropDatabase(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        var name = Get(Parse(connectionString), string.Empty, "Database", "DB");
        if (!name.StartsWith(DatabasePrefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a database CreateDatabase made (those are named {DatabasePrefix}...); not dropping it.", nameof(connectionString));
        }

        RunPsql(BaseDatabase(), $"DROP DATABASE IF EXISTS {QuoteIdentifier(name)} WITH (FORCE);");
    }

    private static string FindOrStartServer()
    {
        var configured = Environment.GetEnvironmentVariable(ServerVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        if (OperatingSystem.IsWindows())
        {
            throw new InvalidOperationException(
                $"The PostgreSQL tests need a server: set {ServerVariable} (Host=...;Port=...;Username=...;Database=postgres) and PGPASSFILE or PGPASSWORD. tests/Shared/postgres-cluster.sh, which starts one, runs on Linux only.");
        }

        var script = Path.Combine(FindRepositoryRoot(), "tests", "Shared", "postgres-cluster.sh");
        var folder = Path.Combine(Path.GetTempPath(), "connectiontools-postgres-" + Guid.NewGuid().ToString("N"));
        var started = RunScript(script, "start", folder);
        if (started.ExitCode != 0)
        {
            // Nothing runs after a failed start; stop removes the folder it left.
            RunScript(script, "stop", folder);
            throw new InvalidOperationException(
                $"The PostgreSQL test server did not start (postgres-cluster.sh start exited with code {started.ExitCode}): {(started.Error + started.Output).Trim()}");
        }

        // Registered before anything else can fail, so that the server never outlives the test process it serves.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAtExit(script, folder);

        var settings = File.ReadAllLines(Path.Combine(folder, "server.env"))
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal);
        if (!settings.TryGetValue(ServerVariable, out var connectionString) || !settings.TryGetValue("PGPASSFILE", out var passFile))
        {
            throw new InvalidOperationException($"{Path.Combine(folder, "server.env")} does not name {ServerVariable} and PGPASSFILE.");
        }

        // psql, Npgsql and the processes the tests start find the password here; the server too, so that those
        // processes use this one instead of starting their own.
        Environment.SetEnvironmentVariable("PGPASSFILE", passFile);
        Environment.SetEnvironmentVariable(ServerVariable, connectionString);
        return connectionString;
    }

    private static void StopAtExit(string script, string folder)
    {
        try
        {
            RunScript(script, "stop", folder);
        }
#pragma warning disable CA1031 // The process is ending: an exception here would only turn a finished run into a crash.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            Console.Error.WriteLine($"postgres-cluster.sh stop {folder} failed: {exception.Message}");
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder != null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "ConnectionTools.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No folder above {AppContext.BaseDirectory} holds ConnectionTools.sln, so tests/Shared/postgres-cluster.sh cannot be found to start a PostgreSQL server; set {ServerVariable} instead.");
    }

    private static string FindPsql()
    {
        var name = OperatingSystem.IsWindows() ? "psql.exe" : "psql";
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name));
        // Debian's postgresql-client puts it in /usr/lib/postgresql/<version>/bin, with /usr/bin/psql a wrapper only
        // when postgresql-client-common is there too.
        var debian = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(folder => int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version : -1)
                .Select(folder => Path.Combine(folder, "bin", name))
            : Enumerable.Empty<string>();
        return onPath.Concat(debian).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("psql is not on PATH or in /usr/lib/postgresql/*/bin: install Debian's package postgresql-client (or postgresql).", name);
    }

    private static string BaseDatabase() => Get(Parse(BaseConnectionString), "postgres", "Database", "DB");

    private static DbConnectionStringBuilder Parse(string connectionString) => new() { ConnectionString = connectionString };

    private static string Get(DbConnectionStringBuilder builder, string fallback, params string[] keys)
    {
        foreach (var key in keys)
        {
            if (builder.TryGetValue(key, out var value) && value is not null && !string.IsNullOrEmpty(value.ToString()))
            {
                return Convert.ToString(value, CultureInfo.InvariantCulture)!;
            }
        }

        return fallback;
    }

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static ProcessResult RunScript(string script, string command, string folder)
    {
        var start = new ProcessStartInfo("bash");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(command);
        start.ArgumentList.Add(folder);
        return Run(start, null, StartTimeout);
    }

    private static ProcessResult Run(ProcessStartInfo start, string? input, TimeSpan timeout)
    {
        start.UseShellExecute = false;
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start.");
        // Both streams read at once: a full stderr pipe would otherwise block the process while we wait on stdout.
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input != null)
        {
            process.StandardInput.Write(input);
        }

        process.StandardInput.Close();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not finish within {timeout.TotalSeconds} s.");
        }

        return new ProcessResult(process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }

    private sealed record ProcessResult(int ExitCode, string Output, string Error);

    /// <summary>
    /// A server of one test's own (its "postgres" database empty), which the test can halt as a crash would and start again
    /// on the same port: the shared server must never go down under other tests. The password is read from its pgpass file
    /// into <see cref="Password"/>, for a NetworkCredential, since PGPASSFILE names the shared server's.
    /// </summary>
    public sealed class OwnServer : IDisposable
    {
        private readonly string _script = Path.Combine(FindRepositoryRoot(), "tests", "Shared", "postgres-cluster.sh");

        public OwnServer()
        {
            Folder = Path.Combine(Path.GetTempPath(), "connectiontools-own-postgres-" + Guid.NewGuid().ToString("N"));
            Script("start");
            var passLine = File.ReadAllText(Path.Combine(Folder, "pgpass")).Trim().Split(':');
            Port = int.Parse(passLine[1], CultureInfo.InvariantCulture);
            Password = passLine[4];
            ConnectionString = $"Host=127.0.0.1;Port={Port};Username=connectiontools;Database=postgres";
        }

        public string Folder { get; }

        public int Port { get; }

        public string Password { get; }

        /// <summary>The server's empty "postgres" database, without the password.</summary>
        public string ConnectionString { get; }

        /// <summary>Stops the server at once (pg_ctl -m immediate): open sessions end as in a crash.</summary>
        public void Halt() => Script("halt");

        /// <summary>Starts the halted server again on the same port.</summary>
        public void Resume() => Script("resume");

        public void Dispose() => RunScript(_script, "stop", Folder);

        private void Script(string command)
        {
            var result = RunScript(_script, command, Folder);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"postgres-cluster.sh {command} exited with code {result.ExitCode}: {(result.Error + result.Output).Trim()}");
            }
        }
    }
}
