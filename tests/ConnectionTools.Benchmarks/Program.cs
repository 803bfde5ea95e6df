using System.Diagnostics;
using System.Globalization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

// Figures measured through Core against real stores on disk and real HTTP on loopback.
// dotnet run -c Release --project tests/ConnectionTools.Benchmarks [store|invitation|peer|config|retrieval|reauthorize|jobs|rules|sync|soak|syncfaults|syncapply]
// syncapply (case changes from one emulated Salesforce org to another, end to end: retrieval, rules, transport, apply) runs only when named;
// syncapply-dv is the same from Salesforce on node A into Dataverse (Dynamics 365 incidents) on node B.
// syncapplyfaults (1,000 case changes on both sides while both node hosts, bound to emulated orgs, are killed five times each and
// writes fail; a few minutes) runs only when named.
// soak (30 s of real processes on one store, then again with kill -9 of the node host) and syncfaults (case sync at full scale
// with both node hosts killed again and again, then paused on each side for 30 s; a few minutes) run only when asked for by name.
var suites = args.Length == 0 ? new[] { "store", "invitation", "peer", "config", "retrieval", "reauthorize", "jobs", "rules", "sync" } : args;
if (args.Length == 2 && args[0] == "sync-count")
{
    // One count of the sync suite, in a process of its own (SyncBenchmark starts it).
    await SyncBenchmark.RunCountAsync(int.Parse(args[1], CultureInfo.InvariantCulture));
    return;
}

if (args.Length == 2 && args[0] == "syncapply-count")
{
    // One count of the syncapply suite, in a process of its own (SyncApplyBenchmark starts it).
    await SyncApplyBenchmark.RunCountAsync(int.Parse(args[1], CultureInfo.InvariantCulture));
    return;
}

if (args.Length == 2 && args[0] == "syncapply-dv-count")
{
    // One count of the syncapply-dv suite (org B a Dataverse environment), in a process of its own.
    await SyncApplyBenchmark.RunCountAsync(int.Parse(args[1], CultureInfo.InvariantCulture), dataverse: true);
    return;
}

if (args.Length == 3 && args[0] == "engines-first")
{
    // One fresh process's first Get-Connection (StoreEnginesBenchmark starts it).
    StoreEnginesBenchmark.FirstCall(args[1], args[2]);
    return;
}

if (args.Length >= 1 && args[0] == "syncthroughput")
{
    // One host against three on one PostgreSQL store, 50 ms per write request; runs only when named.
    await SyncThroughputBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000);
    return;
}

if (suites.Contains("engines"))
{
    // Get-Connection over 10,000 connections on SQLite and PostgreSQL, side by side; runs only when named.
    StoreEnginesBenchmark.Run();
    return;
}

if (suites.Contains("syncapply"))
{
    await SyncApplyBenchmark.RunAsync();
}

if (args.Length >= 1 && args[0] == "syncapplyfaults")
{
    // Full scale by default; "syncapplyfaults CHANGES KILLS" for another; "... concurrent" also edits cases on both sides at once.
    await SyncApplyFaultBenchmark.RunAsync(
        args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000,
        args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5,
        args.Contains("concurrent"),
        args.Contains("pg3") ? 3 : 0);
    return;
}

if (suites.Contains("syncapply-dv"))
{
    await SyncApplyBenchmark.RunAsync(dataverse: true);
}

if (suites.Contains("sync"))
{
    await SyncBenchmark.RunAsync();
}

if (suites.Contains("rules"))
{
    RulesBenchmark.Run();
}

if (suites.Contains("soak"))
{
    await SoakBenchmark.RunAsync();
}

if (suites.Contains("syncfaults"))
{
    await SyncFaultBenchmark.RunAsync();
}

if (suites.Contains("config"))
{
    ConfigurationBenchmark.Run();
}

if (suites.Contains("reauthorize"))
{
    await ReauthorizeBenchmark.RunAsync();
}

if (suites.Contains("jobs"))
{
    await JobsBenchmark.RunAsync();
}

if (suites.Contains("retrieval"))
{
    await RetrievalBenchmark.RunAsync();
}

if (suites.Contains("invitation"))
{
    InvitationBenchmark.Run();
}

if (suites.Contains("peer"))
{
    await PeerBenchmark.RunAsync();
}

if (!suites.Contains("store"))
{
    return;
}

var folder = Path.Combine(Path.GetTempPath(), "ct-bench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(folder);
try
{
    using var node = ConnectionNode.Open(new StoreLocation(Path.Combine(folder, "store.db"), StoreSource.Session, create: true), actor: "bench");
    Seed(node.Store, 10_000);

    // Get-Connection over 10,000 connections: one query, every row mapped and written to the host.
    var host = new CountingHost();
    var commands = new ConnectionCommands(node, host);
    var gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
    var listTimes = Figures.Measure(runs: 30, () => commands.Get(new ConnectionQuery()));
    // Rows are streamed to the host: they should die young, with no gen1 or gen2 collections during listings.
    Console.WriteLine($"  garbage collections during 35 listings: gen0 {GC.CollectionCount(0) - gcBefore.Item1}, gen1 {GC.CollectionCount(1) - gcBefore.Item2}, gen2 {GC.CollectionCount(2) - gcBefore.Item3}");
    Figures.Report("Get-Connection, 10,000 connections", listTimes, "target: median under 50 ms");
    Console.WriteLine($"  rows per call: {host.Objects / 35}");

    Figures.Report("  for comparison, the same rows collected into a list (ConnectionStore.List)", Figures.Measure(runs: 30, () => node.Store.List(new ConnectionFilter())), "");

    var wildcardTimes = Figures.Measure(runs: 30, () => commands.Get(new ConnectionQuery { Names = new[] { "conn-01*" } }));
    Figures.Report("Get-Connection -Name conn-01*, 10,000 connections", wildcardTimes, "");

    // The same listing with 20,000 sync events queued over the private connections: their counts come from one grouped query.
    var privates = node.Store.List(new ConnectionFilter { Types = new[] { ConnectionType.Private } });
    node.Store.Write(tx =>
    {
        for (var i = 0; i < 20_000; i++)
        {
            var failed = i % 10 == 0;
            SyncEventRows.QueueOutgoing(tx, privates[i % privates.Count].Id, $"case-{i}", "{}", failed ? null : "{}", failed ? "ConnectionTools.SyncRule.Failed" : null, failed ? "bench" : null, DateTimeOffset.UtcNow);
        }

        return 0;
    });
    Figures.Report("Get-Connection, 10,000 connections, 20,000 sync events counted", Figures.Measure(runs: 30, () => commands.Get(new ConnectionQuery())), "target: median under 50 ms");

    // 1,000 sequential state changes: suspend/resume, each its own transaction with an audit entry.
    var targets = new[] { ConnectionTarget.ByName("conn-00042") };
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < 500; i++)
    {
        commands.Suspend(targets, passThru: false);
        commands.Resume(targets, passThru: false);
    }

    clock.Stop();
    Console.WriteLine($"1,000 sequential state changes (suspend/resume): {clock.Elapsed.TotalMilliseconds:0} ms total, {clock.Elapsed.TotalMilliseconds / 1000:0.00} ms each (target: under 2,000 ms total)");
    Console.WriteLine($"  audit entries: {node.Store.AuditCount():N0}");
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(folder, recursive: true);
}

static void Seed(ConnectionStore store, int count)
{
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < count; i++)
    {
        var created = store.Create(new Connection { Id = Guid.NewGuid(), Name = $"conn-{i:00000}", Type = (ConnectionType)(i % 4), Status = ConnectionStatus.Pending, Description = "benchmark" }, "bench");
        store.Change(created.Id, LifecycleAction.Accept, c => c.With(c => { c.Status = ConnectionStatus.Active; }), "bench");
    }

    Console.WriteLine($"Seeded {count:N0} connections in {clock.Elapsed.TotalSeconds:0.0} s");
}

public sealed class CountingHost : IHostContext
{
    public long Objects { get; private set; }

    public CancellationToken CancellationToken => CancellationToken.None;

    public void WriteObject(object value) => Objects++;

    public void WriteError(ConnectionToolsException error) => throw error;

    public void WriteWarning(string message)
    {
    }

    public void WriteVerbose(string message)
    {
    }

    public void WriteProgress(ProgressInfo progress)
    {
    }

    public bool ShouldProcess(string target, string action) => true;
}
