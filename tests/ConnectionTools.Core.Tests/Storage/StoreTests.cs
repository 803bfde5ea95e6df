using System.Runtime.InteropServices;
using System.Security.Cryptography;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Storage;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Core.Tests;

[Collection(ProcessWidePools.Name)]
// The SQLite file itself: its header, journal, permissions and damage.
[Trait("Store", "SqliteFile")]
public sealed class StoreTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "ct-store-" + Guid.NewGuid().ToString("N"));

    public StoreTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private string PathOf(string name) => Path.Combine(_folder, name);

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void A_new_store_uses_WAL_and_the_latest_schema_and_keeps_its_node_id()
    {
        var path = PathOf("new.db");
        Guid nodeId;
        using (var store = ConnectionStore.Open(path))
        {
            nodeId = store.NodeId;
        }

        using (var raw = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            raw.Open();
            using var command = raw.CreateCommand();
            command.CommandText = "PRAGMA journal_mode;";
            Assert.Equal("wal", command.ExecuteScalar());
            command.CommandText = "PRAGMA user_version;";
            Assert.Equal((long)ConnectionStore.SchemaVersion, command.ExecuteScalar());
        }

        using var reopened = ConnectionStore.Open(path);
        Assert.Equal(nodeId, reopened.NodeId);
    }

    [Fact]
    public void The_folder_of_a_new_store_is_created()
    {
        var path = Path.Combine(_folder, "a", "b", "store.db");

        using var store = ConnectionStore.Open(path);

        Assert.True(File.Exists(path));
    }

    [Fact]
    public void A_directory_is_refused_and_left_alone()
    {
        var error = Assert.Throws<ConnectionToolsException>(() => ConnectionStore.Open(_folder));

        Assert.Equal(ErrorIds.StorePathIsDirectory, error.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("is a directory", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_folder));
    }

    [Fact]
    public void A_file_that_is_not_SQLite_is_refused_and_not_modified()
    {
        var path = PathOf("notes.txt");
        File.WriteAllText(path, "these are my notes, not a database, and they are long enough to have a header");
        var hash = Hash(path);

        var error = Assert.Throws<ConnectionToolsException>(() => ConnectionStore.Open(path));

        Assert.Equal(ErrorIds.StoreNotAStore, error.ErrorId);
        Assert.Contains("It was not changed", error.Message);
        Assert.Equal(hash, Hash(path));
        Assert.False(File.Exists(path + "-wal"));
    }

    [Fact]
    public void A_store_with_a_newer_schema_is_refused_and_not_modified()
    {
        var path = PathOf("future.db");
        using (ConnectionStore.Open(path))
        {
        }

        using (var raw = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            raw.Open();
            using var command = raw.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = DELETE; PRAGMA user_version = 99;";
            command.ExecuteNonQuery();
        }

        SqliteConnection.ClearAllPools();
        var hash = Hash(path);

        var error = Assert.Throws<ConnectionToolsException>(() => ConnectionStore.Open(path));

        Assert.Equal(ErrorIds.StoreSchemaTooNew, error.ErrorId);
        Assert.Contains("schema version 99", error.Message);
        Assert.Contains("Update the ConnectionTools module", error.RecommendedAction);
        SqliteConnection.ClearAllPools();
        Assert.Equal(hash, Hash(path));
    }

    [NotRootFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void An_unreadable_store_is_refused_and_not_modified()
    {
        var path = PathOf("locked.db");
        using (ConnectionStore.Open(path))
        {
        }

        SqliteConnection.ClearAllPools();
        var hash = Hash(path);
        File.SetUnixFileMode(path, UnixFileMode.None);
        try
        {
            var error = Assert.Throws<ConnectionToolsException>(() => ConnectionStore.Open(path));
            Assert.Equal(ErrorIds.StoreAccessDenied, error.ErrorId);
            Assert.Equal(ErrorKind.PermissionDenied, error.Kind);
        }
        finally
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        Assert.Equal(hash, Hash(path));
    }

    [Fact]
    public void A_store_under_a_file_instead_of_a_folder_is_a_clear_error()
    {
        var file = PathOf("plain-file");
        File.WriteAllText(file, "x");

        var error = Assert.Throws<ConnectionToolsException>(() => ConnectionStore.Open(Path.Combine(file, "store.db")));

        Assert.Contains(error.ErrorId, new[] { ErrorIds.StoreUnavailable, ErrorIds.StoreAccessDenied });
        Assert.Contains("plain-file", error.Message);
    }

    [Fact]
    public void An_empty_file_becomes_a_new_store()
    {
        var path = PathOf("empty.db");
        File.WriteAllBytes(path, Array.Empty<byte>());

        using var store = ConnectionStore.Open(path);

        Assert.Empty(store.List(new ConnectionFilter()));
    }

    [Fact]
    public void Reads_go_through_one_query_with_filters_in_SQL()
    {
        using var store = ConnectionStore.Open(PathOf("q.db"));
        for (var i = 0; i < 20; i++)
        {
            store.Create(new Connection { Id = Guid.NewGuid(), Name = $"c{i:00}", Type = i % 2 == 0 ? ConnectionType.Private : ConnectionType.Dynamics365 }, "t");
        }

        var dynamics = store.List(new ConnectionFilter { Types = new[] { ConnectionType.Dynamics365 } });
        var named = store.List(new ConnectionFilter { ExactNames = new[] { "C03", "c04" } });

        Assert.Equal(10, dynamics.Count);
        Assert.Equal(new[] { "c03", "c04" }, named.Select(c => c.Name));
    }

    [Fact]
    public void Connections_round_trip_every_field()
    {
        using var store = ConnectionStore.Open(PathOf("rt.db"));
        var created = store.Create(new Connection { Id = Guid.NewGuid(), Name = "Ünïcode 'name'", Description = "line1\nline2 \"quoted\"", Type = ConnectionType.SalesforceSandbox, Status = ConnectionStatus.Pending }, "me");
        var changed = store.Change(created.Id, LifecycleAction.Accept, c => c.With(c => { c.Status = ConnectionStatus.Active; }), "you").After;
        var inactive = store.Change(created.Id, LifecycleAction.Deactivate, c => c.With(c => { c.Status = ConnectionStatus.Inactive; c.InactiveReason = InactiveReason.OrgChanged; }), "system").After;

        Assert.Equal(inactive, store.Find(created.Id));
        Assert.Equal(("me", "you", "system"), (created.CreatedBy, changed.ModifiedBy, inactive.ModifiedBy));
        Assert.Equal("Status: Active -> Inactive (OrgChanged)", store.History(created.Id).Last().Summary);
    }

    [Fact]
    public void Store_location_prefers_session_then_environment_then_the_user_folder()
    {
        var env = new Dictionary<string, string?> { ["CONNECTIONTOOLS_STORE"] = PathOf("env.db"), ["XDG_DATA_HOME"] = "/xdg", ["HOME"] = "/home/u" };
        string? Get(string name) => env.TryGetValue(name, out var v) ? v : null;

        Assert.Equal((PathOf("s.db"), StoreSource.Session), Pick(StoreLocation.Resolve(PathOf("s.db"), Get)));
        Assert.Equal((PathOf("env.db"), StoreSource.Environment), Pick(StoreLocation.Resolve(null, Get)));

        env.Remove("CONNECTIONTOOLS_STORE");
        var fallback = StoreLocation.Resolve(null, Get);
        Assert.Equal(StoreSource.Default, fallback.Source);
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            Assert.Equal("/xdg/connectiontools/store.db", fallback.Path);
            env.Remove("XDG_DATA_HOME");
            Assert.Equal("/home/u/.local/share/connectiontools/store.db", StoreLocation.Resolve(null, Get).Path);
        }

        static (string, StoreSource) Pick(StoreLocation l) => (l.Path, l.Source);
    }

    [Fact]
    public void A_named_path_that_holds_no_store_is_refused_unless_create_is_said_and_nothing_is_created()
    {
        foreach (var (source, origin) in new[] { (StoreSource.Session, "-StorePath"), (StoreSource.Environment, "CONNECTIONTOOLS_STORE"), (StoreSource.Session, "--store") })
        {
            var path = PathOf(Path.Combine("typo", "store.db"));
            var location = origin == "--store" ? new StoreLocation(path, source, origin: "--store") : new StoreLocation(path, source);
            var e = Assert.Throws<ConnectionToolsException>(() => ConnectionTools.Nodes.ConnectionNode.Open(location));
            Assert.Equal(ErrorIds.StoreNotFound, e.ErrorId);
            Assert.Contains(path, e.Message);
            Assert.Contains(origin, e.Message);
            Assert.Contains(origin == "--store" ? "--create" : "-Create", e.RecommendedAction);
            Assert.False(File.Exists(path));
            Assert.False(Directory.Exists(PathOf("typo")));
        }

        var created = PathOf(Path.Combine("new", "store.db"));
        using (var node = ConnectionTools.Nodes.ConnectionNode.Open(new StoreLocation(created, StoreSource.Session, create: true)))
        {
            Assert.True(node.Store.Created);
            Assert.Contains(created, node.TakeCreatedNotice());
            Assert.Null(node.TakeCreatedNotice());
        }

        // Existing stores open without -Create, and say nothing about creating.
        using (var node = ConnectionTools.Nodes.ConnectionNode.Open(new StoreLocation(created, StoreSource.Environment)))
        {
            Assert.Null(node.TakeCreatedNotice());
        }

        // The per-user default is created on first use, and says where once.
        var fallback = PathOf(Path.Combine("default", "store.db"));
        using (var node = ConnectionTools.Nodes.ConnectionNode.Open(new StoreLocation(fallback, StoreSource.Default)))
        {
            Assert.True(File.Exists(fallback));
            Assert.Contains(fallback, node.TakeCreatedNotice());
        }
    }

    [Fact]
    public void A_relative_XDG_DATA_HOME_is_ignored_as_the_spec_says()
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            return;
        }

        var path = StoreLocation.Resolve(null, n => n switch { "XDG_DATA_HOME" => "relative/dir", "HOME" => "/home/u", _ => null }).Path;

        Assert.Equal("/home/u/.local/share/connectiontools/store.db", path);
    }
}

/// <summary>A fact that cannot be checked as root, who reads every file regardless of its mode.</summary>
public sealed class NotRootFactAttribute : FactAttribute
{
    public NotRootFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "File modes are a Unix test.";
        }
        else if (Environment.UserName == "root" || geteuid() == 0)
        {
            Skip = "Root can read a file with mode 000, so this cannot be checked as root.";
        }
    }

    [DllImport("libc")]
    private static extern uint geteuid();
}
