using ConnectionTools.Connections;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Testing;

namespace ConnectionTools.Core.Tests;

/// <summary>
/// A real store in a fresh temporary folder, deleted afterwards: a SQLite file, or with CONNECTIONTOOLS_TEST_ENGINE=postgresql
/// (or <paramref name="engine"/>) a fresh database on the test PostgreSQL server, dropped afterwards. One fixture, so the same
/// tests run against both engines.
/// </summary>
internal sealed class TestStore : IDisposable
{
    public const string EngineVariable = "CONNECTIONTOOLS_TEST_ENGINE";

    public TestStore(Func<DateTimeOffset>? clock = null, StoreOptions? options = null, NodeClients? clients = null, string? engine = null)
    {
        Folder = Path.Combine(Path.GetTempPath(), "ct-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        Path_ = System.IO.Path.Combine(Folder, "store.db");
        options ??= new StoreOptions();
        if (clock != null)
        {
            options.Clock = clock;
        }

        engine ??= Environment.GetEnvironmentVariable(EngineVariable);
        StoreLocation location;
        if (string.Equals(engine, "postgresql", StringComparison.OrdinalIgnoreCase))
        {
            // A schema of its own in the process's test database: a store is the tables of its schema (search path), and making
            // one is a statement, where a database per test cost a few hundred milliseconds of psql and file copies.
            _schema = "ct_store_" + Guid.NewGuid().ToString("N");
            RunOnServer($"CREATE SCHEMA {_schema};");
            Database = PostgresDatabase.Value + ";Search Path=" + _schema;
            location = StoreLocation.ForDatabase(Database, StoreSource.Session, create: true, credential: null, keyFile: System.IO.Path.Combine(Folder, "store.key"));
        }
        else
        {
            location = new StoreLocation(Path_, StoreSource.Session, create: true);
        }

        Node = ConnectionNode.Open(location, options, actor: "tester", clients);
    }

    /// <summary>The database this test process's PostgreSQL stores live in, one schema each; dropped when the process ends.</summary>
    private static readonly Lazy<string> PostgresDatabase = new(() =>
    {
        var database = PostgresTestServer.CreateDatabase();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => PostgresTestServer.DropDatabase(database);
        return database;
    });

    private readonly string? _schema;

    /// <summary>The PostgreSQL schema that holds this store's tables (its search path); null for a SQLite store.</summary>
    public string? Schema => _schema;

    private static void RunOnServer(string sql)
    {
        using var connection = new Npgsql.NpgsqlConnection(PostgresDatabase.Value);
        connection.Open();
        using var command = new Npgsql.NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    /// <summary>The PostgreSQL database's connection string; null for a SQLite store.</summary>
    public string? Database { get; }

    public string Folder { get; }

    public string Path_ { get; }

    public ConnectionNode Node { get; }

    public ConnectionStore Store => Node.Store;

    public ConnectionCommands Commands(RecordingHost host) => new(Node, host);

    /// <summary>Creates a connection and walks it through the real lifecycle to <paramref name="status"/>.</summary>
    public Connection Add(string name, ConnectionStatus status = ConnectionStatus.Active, ConnectionType type = ConnectionType.Private) =>
        Seeding.Add(Store, name, type, status, InactiveReason.Revoked, "tester");

    public Connection Get(string name) => Store.FindByName(name) ?? throw new InvalidOperationException("no " + name);

    public void Dispose()
    {
        Node.Dispose();
        if (_schema != null)
        {
            RunOnServer($"DROP SCHEMA {_schema} CASCADE;");
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A killed child process may still hold a handle for a moment; the temp folder is not worth failing a test over.
        }
    }
}
