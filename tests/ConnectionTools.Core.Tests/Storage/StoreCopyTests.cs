using System.Data.Common;
using System.Diagnostics;
using System.Text.Json;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Jobs;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Sync;
using ConnectionTools.SyncRules;
using ConnectionTools.SystemConnections;
using ConnectionTools.Testing;
using Xunit.Abstractions;

namespace ConnectionTools.Core.Tests;

/// <summary>
/// Copy-ConnectionStore's engine: a node seeded through the real commands moves from a SQLite file to a PostgreSQL database
/// and back, and each destination serves the same connections, history, jobs, queues and secrets under the same node id.
/// </summary>
public sealed class StoreCopyTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly ITestOutputHelper _output;
    private readonly List<TestStore> _stores = new();
    private readonly RecordingHost _host = new();

    public StoreCopyTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }
    }

    private TestStore NewStore(string? engine = null)
    {
        var store = new TestStore(engine: engine ?? "sqlite");
        _stores.Add(store);
        return store;
    }

    [Fact]
    public void A_node_moves_from_SQLite_to_PostgreSQL_and_back_with_everything_it_holds()
    {
        var source = NewStore();
        var seeded = Seed(source);
        var before = Snapshot(source, seeded);

        var postgres = NewStore("postgresql");
        var postgresOwnId = postgres.Store.NodeId;
        var there = StoreCopy.Copy(source.Node, postgres.Node);
        var back = NewStore();
        var backAgain = StoreCopy.Copy(postgres.Node, back.Node);

        Assert.NotEqual(postgresOwnId, source.Store.NodeId);
        foreach (var (copy, result) in new[] { (postgres, there), (back, backAgain) })
        {
            Assert.Equal(source.Store.NodeId, copy.Store.NodeId);
            Assert.Equal(source.Store.NodeId.ToString("D"), copy.Store.GetNodeSetting("node_id"));
            Assert.Equal(before, Snapshot(copy, seeded));

            // The secrets read through the destination's own key, with the real commands.
            var host = new RecordingHost();
            new InvitationCommands(copy.Node, host).Get(new[] { ConnectionTarget.ByName("crm-eu") }, renew: false, NewPrivateConnectionRequest.DefaultLifetime);
            Assert.Empty(host.Errors);
            Assert.Equal(seeded.InvitationCode, Assert.Single(host.OutputOf<PrivateConnectionInvitation>()).InvitationCode);
            Assert.Equal("refresh-token-of-sf-prod", GrantVault.ReadOrNull(copy.Node, seeded.System)!.RefreshToken);
            Assert.Equal(seeded.PeerKey, copy.Node.Secrets.Unprotect(copy.Store.Read(db => PeerRows.FindKey(db, seeded.Private.Id))!));

            // Encrypted again, not carried over: the source's key cannot read the copy's grant.
            var copied = copy.Store.Read(db => GrantRows.Find(db, seeded.System.Id))!;
            Assert.NotEqual(source.Store.Read(db => GrantRows.Find(db, seeded.System.Id)), copied);
            Assert.Equal(ErrorIds.SecretUnreadable, Assert.Throws<ConnectionToolsException>(() => source.Node.Secrets.Unprotect(copied)).ErrorId);

            // Two invitation codes, the grant and the peer key.
            Assert.Equal(4, result.SecretsReencrypted);
            Assert.Equal(result.Tables.Sum(t => t.Rows), result.TotalRows);
            Assert.Equal(source.Store.AuditCount(), result.Tables.Single(t => t.Table == "audit").Rows);
            Assert.Equal(source.Store.List(new ConnectionFilter { IncludeRemoved = true }).Count, result.Tables.Single(t => t.Table == "connections").Rows);
        }

        // Both copies hold the same rows, so the checksums over their canonical text agree across the engines.
        Assert.Equal(there.Tables.Select(t => (t.Table, t.Rows, t.Checksum)), backAgain.Tables.Select(t => (t.Table, t.Rows, t.Checksum)));
        Assert.Contains(there.Tables, t => t.Table == "sync_events" && t.Rows == 2);
        Assert.Contains(there.Tables, t => t.Table == "outbound_queue" && t.Rows == 1);
        Assert.DoesNotContain(there.Tables, t => t.Table is "sqlite_sequence" or "connectiontools_store");
        Assert.Equal(("SQLite", "PostgreSQL"), (there.SourceEngine, there.DestinationEngine));

        // The source is unchanged.
        Assert.Equal(before, Snapshot(source, seeded));
    }

    [Fact]
    public void The_PostgreSQL_copy_goes_on_from_the_copied_ids_and_opens_again_with_its_own_key()
    {
        var source = NewStore();
        var seeded = Seed(source);
        var postgres = NewStore("postgresql");
        StoreCopy.Copy(source.Node, postgres.Node);
        var lastSeq = source.Store.History(null, null, null, null).Max(e => e.Sequence);

        // Identity columns continue past the copied values rather than colliding with them.
        new ConnectionCommands(postgres.Node, _host).Suspend(new[] { ConnectionTarget.ByName("active-1") }, passThru: false);
        Assert.Empty(_host.Errors);
        var suspended = postgres.Store.History(postgres.Get("active-1").Id);
        Assert.Equal(lastSeq + 1, suspended[^1].Sequence);
        var run = postgres.Store.Write(tx => JobRows.StartRun(tx, seeded.System, JobTrigger.Manual, Start.AddHours(1), null));
        Assert.Equal(seeded.RunId + 1, run);

        // The store keeps its own key check: the node opens again with the key file it was created with.
        var location = StoreLocation.ForDatabase(postgres.Database!, StoreSource.Session, create: false, credential: null, keyFile: Path.Combine(postgres.Folder, "store.key"));
        postgres.Node.Dispose();
        using var reopened = ConnectionNode.Open(location, actor: "tester");
        Assert.Equal(source.Store.NodeId, reopened.Store.NodeId);
        Assert.Equal("refresh-token-of-sf-prod", GrantVault.ReadOrNull(reopened, seeded.System)!.RefreshToken);
    }

    [Fact]
    public void A_destination_that_holds_data_is_refused_and_left_as_it_was()
    {
        var source = NewStore();
        Seed(source);
        var destination = NewStore();
        destination.Add("already-here");
        var ownId = destination.Store.NodeId;
        var audit = destination.Store.AuditCount();

        var error = Assert.Throws<ConnectionToolsException>(() => StoreCopy.Copy(source.Node, destination.Node));

        Assert.Equal(ErrorIds.StoreCopyTargetNotEmpty, error.ErrorId);
        Assert.Contains("connections (1 row(s))", error.Message);
        Assert.Equal(ownId, destination.Store.NodeId);
        Assert.Equal(ownId.ToString("D"), destination.Store.GetNodeSetting("node_id"));
        Assert.Equal(new[] { "already-here" }, destination.Store.List(new ConnectionFilter { IncludeRemoved = true }).Select(c => c.Name));
        Assert.Equal(audit, destination.Store.AuditCount());
    }

    [Fact]
    public void A_copy_into_itself_into_a_store_missing_a_table_or_at_another_schema_version_is_refused_before_anything_is_written()
    {
        var source = NewStore();
        Seed(source);
        Assert.Equal(ErrorIds.StoreCopySameStore, Assert.Throws<ConnectionToolsException>(() => StoreCopy.Copy(source.Node, source.Node)).ErrorId);

        var destination = NewStore();
        destination.Store.Write(tx => tx.Execute("DROP TABLE sync_own_cases;"));
        var ownId = destination.Store.NodeId;

        var error = Assert.Throws<ConnectionToolsException>(() => StoreCopy.Copy(source.Node, destination.Node));

        Assert.Equal(ErrorIds.StoreCopySchemaMismatch, error.ErrorId);
        Assert.Contains("sync_own_cases", error.Message);
        Assert.Equal(ownId.ToString("D"), destination.Store.GetNodeSetting("node_id"));
        Assert.Equal(0, destination.Store.AuditCount());

        // A store that says it is at an older schema version (the file was changed since this process opened it).
        var older = NewStore();
        older.Store.Write(tx => tx.Execute($"PRAGMA user_version = {ConnectionStore.SchemaVersion - 1};"));
        var versions = Assert.Throws<ConnectionToolsException>(() => StoreCopy.Copy(source.Node, older.Node));
        Assert.Equal(ErrorIds.StoreCopySchemaMismatch, versions.ErrorId);
        Assert.Contains($"the destination at {ConnectionStore.SchemaVersion - 1}", versions.Message);
        Assert.Equal(0, older.Store.AuditCount());
    }

    [Theory]
    [InlineData("postgresql")]
    [InlineData("sqlite")]
    public void A_failure_partway_leaves_the_destination_as_empty_as_it_was(string engine)
    {
        var source = NewStore();
        Seed(source);
        var destination = NewStore(engine);
        var ownId = destination.Store.NodeId;

        // The destination's server refuses rows of a table copied after connections, audit, grants and jobs.
        if (engine == "postgresql")
        {
            var database = (string)new DbConnectionStringBuilder { ConnectionString = destination.Database }["Database"];
            PostgresTestServer.RunPsql(database, $"SET search_path TO {destination.Schema};\n" + """
                CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
                CREATE TRIGGER refuse BEFORE INSERT ON outbound_queue FOR EACH ROW EXECUTE FUNCTION refuse();
                """);
        }
        else
        {
            destination.Store.Write(tx => tx.Execute("CREATE TRIGGER refuse BEFORE INSERT ON outbound_queue BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"));
        }

        var error = Assert.Throws<ConnectionToolsException>(() => StoreCopy.Copy(source.Node, destination.Node));

        Assert.Equal(ErrorIds.StoreFailed, error.ErrorId);
        Assert.Contains("refused by the test", error.Message);
        Assert.Equal(ownId, destination.Store.NodeId);
        Assert.Equal(ownId.ToString("D"), destination.Store.GetNodeSetting("node_id"));
        Assert.Empty(destination.Store.List(new ConnectionFilter { IncludeRemoved = true }));
        Assert.Equal(0, destination.Store.AuditCount());
        Assert.Equal(0L, destination.Store.Read(db => db.Scalar("SELECT COUNT(*) FROM grants;")));
        Assert.Equal(0L, destination.Store.Read(db => db.Scalar("SELECT COUNT(*) FROM job_runs;")));
        Assert.Null(destination.Store.GetNodeSetting(ConnectionNode.PublicUrlSetting));
    }

    [Fact]
    public void A_destination_that_stores_something_else_than_it_was_given_fails_the_verification_naming_the_table()
    {
        var source = NewStore();
        Seed(source);
        var destination = NewStore("postgresql");
        var database = (string)new DbConnectionStringBuilder { ConnectionString = destination.Database }["Database"];
        PostgresTestServer.RunPsql(database, $"SET search_path TO {destination.Schema};\n" + """
            CREATE FUNCTION reword() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.actor := 'someone else'; RETURN NEW; END $$;
            CREATE TRIGGER reword BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION reword();
            """);

        var error = Assert.Throws<ConnectionToolsException>(() => StoreCopy.Copy(source.Node, destination.Node));

        Assert.Equal(ErrorIds.StoreCopyVerificationFailed, error.ErrorId);
        Assert.Equal("audit", error.Target);
        Assert.Contains("table 'audit'", error.Message);
    }

    [Fact]
    public void The_cmdlet_s_entry_asks_first_and_creates_nothing_under_WhatIf()
    {
        var source = NewStore();
        Seed(source);
        var path = Path.Combine(source.Folder, "moved", "store.db");
        var location = new StoreLocation(path, StoreSource.Session, create: true, origin: "-DestinationPath");

        StoreCopy.CopyTo(source.Node, location, new RecordingHost { Proceed = false });
        Assert.False(File.Exists(path));

        StoreCopy.CopyTo(source.Node, location, _host);

        var result = Assert.Single(_host.OutputOf<StoreCopyResult>());
        Assert.Equal(path, result.Destination);
        Assert.Equal(source.Store.NodeId, result.NodeId);
        using var moved = ConnectionNode.Open(new StoreLocation(path, StoreSource.Session), actor: "tester");
        Assert.Equal(source.Store.NodeId, moved.Store.NodeId);
        Assert.Equal(source.Store.AuditCount(), moved.Store.AuditCount());
    }

    [Fact]
    public void A_secret_the_source_cannot_read_stops_the_copy_and_the_new_file_is_removed()
    {
        var source = NewStore();
        var seeded = Seed(source);
        // A grant that the source's key did not encrypt (restored from another node's backup, say).
        source.Store.Write(tx =>
        {
            GrantRows.Save(tx, seeded.System.Id, new byte[64], Start);
            return 0;
        });
        var path = Path.Combine(source.Folder, "moved", "store.db");

        var error = Assert.Throws<ConnectionToolsException>(() => StoreCopy.CopyTo(source.Node, new StoreLocation(path, StoreSource.Session, create: true), _host));

        Assert.Equal(ErrorIds.SecretUnreadable, error.ErrorId);
        Assert.Empty(_host.OutputOf<StoreCopyResult>());
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void Ten_thousand_connections_with_their_audit_copy_in_seconds()
    {
        const int count = 10_000;
        var source = NewStore();
        source.Store.Write(tx =>
        {
            for (var i = 0; i < count; i++)
            {
                var created = source.Store.CreateIn(tx, new Connection { Id = Guid.NewGuid(), Name = $"conn-{i:D5}", Description = "bulk", Type = ConnectionType.Private, Status = ConnectionStatus.Pending }, "tester", null);
                if (i % 2 == 0)
                {
                    source.Store.ChangeIn(tx, created.Id, LifecycleAction.Accept, c => c.With(x => x.Status = ConnectionStatus.Active), "tester", null);
                }
            }

            return 0;
        });
        var audit = source.Store.AuditCount();

        var postgres = NewStore("postgresql");
        var clock = Stopwatch.StartNew();
        var there = StoreCopy.Copy(source.Node, postgres.Node);
        var toPostgres = clock.Elapsed;
        var back = NewStore();
        clock.Restart();
        var backAgain = StoreCopy.Copy(postgres.Node, back.Node);
        var toSqlite = clock.Elapsed;

        _output.WriteLine($"{count} connections and {audit} audit entries ({there.TotalRows} rows): SQLite -> PostgreSQL {toPostgres.TotalSeconds:0.00} s, PostgreSQL -> SQLite {toSqlite.TotalSeconds:0.00} s (each with its verification).");
        Assert.Equal(count, there.Tables.Single(t => t.Table == "connections").Rows);
        Assert.Equal(audit, backAgain.Tables.Single(t => t.Table == "audit").Rows);
        Assert.Equal(there.Tables.Select(t => t.Checksum), backAgain.Tables.Select(t => t.Checksum));
        Assert.Equal(count, back.Store.List(new ConnectionFilter { IncludeRemoved = true }).Count);
    }

    /// <summary>
    /// A node with a bit of everything, written by the real commands and row classes: private connections in every status
    /// with their audit, a node setting, an invitation (encrypted code), a peer key, a system connection with its grant and
    /// retrieval job, a finished job run, outgoing sync events and a retrieved case still queued.
    /// </summary>
    private Seeded Seed(TestStore store)
    {
        var node = new NodeCommands(store.Node, _host);
        node.SetPublicUrl("https://node.contoso.example/", passThru: false);
        foreach (var status in new[] { ConnectionStatus.Active, ConnectionStatus.Paused, ConnectionStatus.Inactive, ConnectionStatus.Pending, ConnectionStatus.Removed })
        {
            store.Add(status.ToString().ToLowerInvariant() + "-1", status);
        }

        var invitations = new InvitationCommands(store.Node, _host);
        invitations.New(new NewPrivateConnectionRequest { Name = "crm-eu", LocalInstanceName = "contoso" });
        var code = _host.OutputOf<PrivateConnectionInvitation>().Last().InvitationCode;
        invitations.New(new NewPrivateConnectionRequest { Name = "crm-us", LocalInstanceName = "contoso" });
        Assert.Empty(_host.Errors);

        var system = Seeding.Add(store.Store, "sf-prod", ConnectionType.SalesforceProduction, ConnectionStatus.Active, InactiveReason.Revoked, "tester");
        var grant = GrantVault.Protect(store.Node, new GrantMaterial { Flow = AuthorizationFlow.Interactive, ClientId = "client", RefreshToken = "refresh-token-of-sf-prod" });
        var peerKey = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        var crm = Seeding.Bind(store.Store, store.Get("crm-us").Id, system.Id);
        var runId = store.Store.Write(tx =>
        {
            GrantRows.Save(tx, system.Id, grant, Start);
            JobRows.Create(tx, system, Start);
            PeerRows.SaveKey(tx, crm.Id, store.Node.Secrets.Protect(peerKey));
            var id = JobRows.StartRun(tx, system, JobTrigger.Manual, Start, null);
            JobRows.CommitPage(tx, system.Id, id, "Case", new[]
            {
                ("5001", Start.AddMinutes(1), """{"Id":"5001","CaseNumber":"00001","Subject":"Printer jams","Status":"New","Priority":"High","Description":"d"}"""),
                ("5002", Start.AddMinutes(2), """{"Id":"5002","CaseNumber":"00002","Subject":"VPN down","Status":"New","Priority":"Low","Description":"d"}"""),
            }, Start);
            JobRows.FinishRun(tx, id, JobRunStatus.Succeeded, Start.AddMinutes(3), null, null);
            return id;
        });
        Assert.Equal(2, OutgoingEvents.Produce(store.Node, system));
        store.Store.Write(tx =>
        {
            JobRows.CommitPage(tx, system.Id, runId, "Case", new[] { ("5003", Start.AddMinutes(4), """{"Id":"5003","CaseNumber":"00003","Subject":"Mail","Status":"New","Priority":"Low","Description":"d"}""") }, Start.AddMinutes(4));
            return 0;
        });

        return new Seeded(code, system, crm, peerKey, runId);
    }

    /// <summary>What a user of the node sees, as text: connections, the whole history, job runs, queues and sync events.</summary>
    private static string Snapshot(TestStore store, Seeded seeded)
    {
        var options = new JsonSerializerOptions { IncludeFields = true };
        return JsonSerializer.Serialize(new
        {
            Connections = store.Store.List(new ConnectionFilter { IncludeRemoved = true }),
            History = store.Store.History(null, null, null, null),
            Runs = store.Store.Read(db => JobRows.Runs(db, seeded.System.Id, null, null)),
            Job = store.Store.Read(db => JobRows.Find(db, seeded.System.Id))?.ToString(),
            Queue = store.Store.Read(db => SyncEventRows.ReadOutbound(db, seeded.System.Id, 100)),
            Events = store.Store.Read(db => SyncEventRows.List(db, seeded.Private.Id, SyncDirection.Outgoing)),
            PublicUrl = store.Store.GetNodeSetting(ConnectionNode.PublicUrlSetting),
        }, options);
    }

    private sealed record Seeded(string InvitationCode, Connection System, Connection Private, byte[] PeerKey, long RunId);
}
