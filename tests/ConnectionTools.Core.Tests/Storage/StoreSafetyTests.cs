using System.Security.Cryptography;
using ConnectionTools.Configuration;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Testing;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Core.Tests;

/// <summary>
/// One store shared by several users in a process and by other processes: nothing but SQLite touches the file, damaged and
/// foreign files are named for what they are and left unchanged, and no command writes over a store.
/// </summary>
[Collection(ProcessWidePools.Name)]
// The SQLite file itself: its header, journal, permissions and damage.
[Trait("Store", "SqliteFile")]
public sealed class StoreSafetyTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "ct-safety-" + Guid.NewGuid().ToString("N"));

    public StoreSafetyTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private string PathOf(string name) => Path.Combine(_folder, name);

    /// <summary>Hashed by another process (sha256sum): reading the file in this one is what must never happen to an open store.</summary>
    private static string HashElsewhere(string path)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sha256sum", new[] { path }) { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output.Split(' ')[0];
    }

    private static async Task<string> RunTestProcess(params string[] args)
    {
        using var process = TestProcess.Start(args);
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(process.ExitCode == 0, $"test process {string.Join(' ', args)} failed: {error}");
        return output.Trim();
    }

    [Fact]
    public async Task A_second_open_in_this_process_keeps_its_locks_so_another_process_closing_the_store_cannot_take_the_WAL_away()
    {
        // The defect: each open read the file's header with a FileStream, and closing it dropped every POSIX lock this process held
        // on the file. Another process that closed the store then thought itself the last user, checkpointed, and deleted the WAL
        // that this process went on writing into. Its later changes were lost to everyone else.
        var path = PathOf("shared.db");
        using var first = ConnectionStore.Open(path);
        var crm = Seeding.Add(first, "crm", ConnectionType.Private, ConnectionStatus.Active, InactiveReason.Revoked, "tester");
        using var second = ConnectionStore.Open(path);

        await RunTestProcess("seed", path, "other", "Private", "Active");
        first.Change(crm.Id, LifecycleAction.Suspend, c => c.With(c => { c.Status = ConnectionStatus.Paused; }), "tester");

        Assert.Equal($"Paused {crm.Version + 1}", await RunTestProcess("status", path, "crm"));
        if (OperatingSystem.IsLinux())
        {
            var deleted = Directory.GetFiles("/proc/self/fd")
                .Select(fd => new FileInfo(fd).LinkTarget)
                .Where(target => target != null && target.StartsWith(path, StringComparison.Ordinal) && target.EndsWith("(deleted)", StringComparison.Ordinal))
                .ToList();
            Assert.Empty(deleted);
        }
    }

    [Fact]
    public void Users_of_one_file_share_one_store_whatever_the_spelling_and_the_last_one_closes_it()
    {
        var path = PathOf("one.db");
        var link = PathOf("link.db");
        var real = Platform.UnixFile.RealPath(path);
        using (var first = ConnectionStore.Open(path))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.CreateSymbolicLink(link, path);
            }

            using var second = ConnectionStore.Open(OperatingSystem.IsWindows() ? path : link);
            using var third = ConnectionStore.Open(Path.Combine(_folder, ".", "one.db"));
            Assert.Equal(3, StoreRegistry.UsersOf(real));
            Assert.Equal(first.NodeId, second.NodeId);
            second.Dispose();
            second.Dispose();
            Assert.Equal(2, StoreRegistry.UsersOf(real));
        }

        Assert.Equal(0, StoreRegistry.UsersOf(real));
    }

    [Fact]
    public void A_new_store_carries_the_application_id_and_a_store_from_before_it_is_given_one()
    {
        var path = PathOf("ids.db");
        using (ConnectionStore.Open(path))
        {
        }

        SqliteConnection.ClearAllPools();
        Assert.Equal((long)ConnectionStore.ApplicationId, Scalar(path, "PRAGMA application_id;"));

        // As stores written before this version are: our tables, no application id.
        Scalar(path, "PRAGMA application_id = 0;");
        using (var store = ConnectionStore.Open(path))
        {
            Assert.Empty(store.List(new ConnectionFilter()));
        }

        SqliteConnection.ClearAllPools();
        Assert.Equal((long)ConnectionStore.ApplicationId, Scalar(path, "PRAGMA application_id;"));
    }

    [Theory]
    [InlineData("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('mine');", "none of a ConnectionTools store's tables")]
    [InlineData("PRAGMA application_id = 1179403647; CREATE TABLE t (x);", "application id is 0x464C457F")]
    [InlineData("PRAGMA user_version = 3;", "none of a ConnectionTools store's tables")]
    public void Another_applications_database_is_refused_and_left_byte_for_byte_unchanged(string sql, string reason)
    {
        var path = PathOf("other-app.db");
        Scalar(path, sql);
        SqliteConnection.ClearAllPools();
        var hash = HashElsewhere(path);

        var error = Assert.Throws<ConnectionToolsException>(() => ConnectionStore.Open(path));

        Assert.Equal(ErrorIds.StoreForeignDatabase, error.ErrorId);
        Assert.Contains(reason, error.Message);
        Assert.Contains("It was not changed", error.Message);
        SqliteConnection.ClearAllPools();
        Assert.Equal(hash, HashElsewhere(path));
        Assert.False(File.Exists(path + "-wal"));
        Assert.Equal(0, StoreRegistry.UsersOf(Platform.UnixFile.RealPath(path)));
    }

    [Fact]
    public void A_store_with_a_damaged_page_is_called_damaged_and_left_unchanged()
    {
        var path = FilledStore("damaged.db");
        // Page 2 is the root of the first table the schema creates.
        FlipPage(path, page: 2);
        var hash = HashElsewhere(path);

        var error = Assert.Throws<ConnectionToolsException>(() =>
        {
            using var store = ConnectionStore.Open(path);
            store.List(new ConnectionFilter());
        });

        Assert.Equal(ErrorIds.StoreCorrupt, error.ErrorId);
        Assert.Contains("is damaged", error.Message);
        Assert.Contains(".recover", error.RecommendedAction);
        SqliteConnection.ClearAllPools();
        Assert.Equal(hash, HashElsewhere(path));
    }

    [Fact]
    public void Once_SQLite_has_found_damage_nothing_more_is_written_to_the_store()
    {
        var path = FilledStore("damaged-late.db");
        FlipPage(path, page: (int)(new FileInfo(path).Length / 4096));
        var hash = HashElsewhere(path);

        using (var store = ConnectionStore.Open(path))
        {
            var findings = store.Check(full: true);
            Assert.False(ConnectionStore.IsIntact(findings));

            var write = Assert.Throws<ConnectionToolsException>(() => store.Create(new Connection { Id = Guid.NewGuid(), Name = "after", Type = ConnectionType.Private }, "t"));
            Assert.Equal(ErrorIds.StoreCorrupt, write.ErrorId);
            Assert.Equal(ErrorIds.StoreCorrupt, Assert.Throws<ConnectionToolsException>(() => store.EnsureIntact()).ErrorId);
        }

        SqliteConnection.ClearAllPools();
        Assert.Equal(hash, HashElsewhere(path));
    }

    /// <summary>A store of 300 connections with everything checkpointed into the file, closed.</summary>
    private string FilledStore(string name)
    {
        var path = PathOf(name);
        using (var store = ConnectionStore.Open(path))
        {
            for (var i = 0; i < 300; i++)
            {
                store.Create(new Connection { Id = Guid.NewGuid(), Name = $"c{i:000}", Description = new string('d', 200), Type = ConnectionType.Private }, "t");
            }
        }

        SqliteConnection.ClearAllPools();
        Scalar(path, "PRAGMA wal_checkpoint(TRUNCATE);");
        SqliteConnection.ClearAllPools();
        return path;
    }

    [Fact]
    public void A_truncated_store_is_called_damaged_and_left_unchanged()
    {
        var path = FilledStore("truncated.db");
        using (var stream = new FileStream(path, FileMode.Open))
        {
            stream.SetLength(stream.Length / 2);
        }

        var hash = HashElsewhere(path);

        var error = Assert.Throws<ConnectionToolsException>(() =>
        {
            using var store = ConnectionStore.Open(path);
            store.EnsureIntact();
        });

        Assert.Equal(ErrorIds.StoreCorrupt, error.ErrorId);
        SqliteConnection.ClearAllPools();
        Assert.Equal(hash, HashElsewhere(path));
    }

    [Fact]
    public void A_short_text_file_is_not_a_store_and_stays_as_it_is()
    {
        var path = PathOf("short.txt");
        File.WriteAllText(path, "hello");
        var hash = HashElsewhere(path);

        var error = Assert.Throws<ConnectionToolsException>(() => ConnectionStore.Open(path));

        Assert.Equal(ErrorIds.StoreNotAStore, error.ErrorId);
        SqliteConnection.ClearAllPools();
        Assert.Equal(hash, HashElsewhere(path));
    }

    [Fact]
    public void A_new_store_and_its_WAL_are_the_owners_alone_and_so_is_a_folder_made_for_it()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var path = Path.Combine(_folder, "made", "store.db");
        using var store = ConnectionStore.Open(path);
        store.Create(new Connection { Id = Guid.NewGuid(), Name = "x", Type = ConnectionType.Private }, "t");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    [Fact]
    public void Export_refuses_to_write_over_the_store_its_companions_or_any_SQLite_database()
    {
        using var test = new TestStore();
        test.Add("partner");
        var other = PathOf("other.db");
        Scalar(other, "CREATE TABLE t (x);");
        SqliteConnection.ClearAllPools();
        var otherHash = HashElsewhere(other);
        var host = new RecordingHost();
        var commands = new ConfigurationCommands(test.Node, host);

        foreach (var target in new[] { test.Path_, test.Path_ + "-wal", test.Path_ + "-shm", test.Path_ + ".key", other })
        {
            var error = Assert.Throws<ConnectionToolsException>(() => commands.Export(target));
            Assert.Equal(ErrorIds.ConfigurationProtectedPath, error.ErrorId);
            Assert.Contains("Nothing was written", error.Message);
        }

        Assert.Single(test.Store.List(new ConnectionFilter()));
        Assert.Equal(otherHash, HashElsewhere(other));
        commands.Export(PathOf("node.yaml"));
        Assert.Contains("apiVersion: connectiontools/v1", File.ReadAllText(PathOf("node.yaml")));
    }

    private static object? Scalar(string path, string sql)
    {
        using var raw = new SqliteConnection($"Data Source={path};Pooling=False");
        raw.Open();
        using var command = raw.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void FlipPage(string path, int page)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var pageSize = 4096;
        stream.Position = (long)(page - 1) * pageSize;
        var buffer = new byte[pageSize];
        stream.ReadExactly(buffer);
        for (var i = 0; i < buffer.Length; i++)
        {
            buffer[i] ^= 0x5A;
        }

        stream.Position = (long)(page - 1) * pageSize;
        stream.Write(buffer);
    }
}
