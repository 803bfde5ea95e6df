using System.Diagnostics;
using System.Globalization;
using ConnectionTools.Connections;
using ConnectionTools.Invitations;
using ConnectionTools.Node;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;
using ConnectionTools.Sync;
using ConnectionTools.SyncRules;
using Microsoft.Extensions.Logging;

/// <summary>
/// Case sync's figures (issue 16): queued case changes from node A (the public node host) to node B (the private store) on
/// loopback, through the outgoing rule and the transport, each count in a fresh process so its peak working set is its own
/// (the issue asks for memory independent of the count); and how soon one changed case reaches B when B polls every second.
/// </summary>
public static class SyncBenchmark
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>100 cases through first, untimed, so every count pays JIT and the rule's parse alike.</summary>
    private const int WarmUp = 100;

    public static async Task RunAsync()
    {
        foreach (var count in new[] { 2_000, 10_000 })
        {
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ConnectionTools.Benchmarks.dll"));
            start.ArgumentList.Add("sync-count");
            start.ArgumentList.Add(count.ToString(CultureInfo.InvariantCulture));
            using var child = Process.Start(start)!;
            await child.WaitForExitAsync();
            if (child.ExitCode != 0)
            {
                throw new InvalidOperationException($"The sync benchmark for {count:N0} changes failed (exit code {child.ExitCode}).");
            }
        }

        await LatencyAsync();
    }

    /// <summary>One count, in a process of its own (Program.cs runs it for "sync-count N").</summary>
    public static async Task RunCountAsync(int count)
    {
        await using var pair = await Pair.StartAsync();
        Queue(pair.A, pair.System, Enumerable.Range(0, WarmUp));
        OutgoingEvents.Produce(pair.A, pair.System);
        while (pair.Incoming() < WarmUp)
        {
            pair.Peers.Sync(null, passThru: false);
        }

        var peakWarm = PeakMiB();
        Queue(pair.A, pair.System, Enumerable.Range(WarmUp, count));
        var peakQueued = PeakMiB();
        var clock = Stopwatch.StartNew();
        OutgoingEvents.Produce(pair.A, pair.System);
        var produced = clock.Elapsed;
        var peakProduced = PeakMiB();
        while (pair.Incoming() < WarmUp + count)
        {
            pair.Peers.Sync(null, passThru: false);
        }

        var total = clock.Elapsed;
        Console.WriteLine(
            $"{count:N0} queued case changes from A to B on loopback: {Ms(total)} ms in all (outgoing rule and events on A {Ms(produced)} ms, transport {Ms(total - produced)} ms; " +
            $"target: under 5,000 ms for 10,000); peak working set {PeakMiB()} MiB (a process of its own; target: the same within 20% for any count; " +
            $"after warming up {peakWarm} MiB, after queuing the changes on A {peakQueued} MiB, after the rule {peakProduced} MiB), GC heap {GC.GetGCMemoryInfo().HeapSizeBytes / (1024 * 1024)} MiB at the end" +
            ResidentSplit());
    }

    /// <summary>
    /// On Linux, what the resident set is made of at the end: process memory (anonymous: heaps, SQLite's page caches) and the
    /// store files' pages that SQLite reads through its memory map, which grow with the files and which the OS can drop.
    /// </summary>
    internal static string ResidentSplit()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return "";
        }

        var lines = File.ReadAllLines(status);
        string Field(string name) => lines.FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal)) is { } line
            ? (name == "Threads" ? line.Split('\t', ' ').Last() : (long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).ToString(CultureInfo.InvariantCulture))
            : "?";
        var gc = GC.GetGCMemoryInfo();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var live = GC.GetTotalMemory(forceFullCollection: true) / (1024 * 1024);
        return $"; resident now: {Field("RssAnon")} MiB process memory, {Field("RssFile")} MiB of files (store pages read through SQLite's memory map, and the loaded assemblies); " +
            $"GC committed {gc.TotalCommittedBytes / (1024 * 1024)} MiB, live objects after a full collection {live} MiB, {Field("Threads")} threads";
    }

    private static long PeakMiB()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / (1024 * 1024);
    }

    /// <summary>One changed case, from queued on A to stored on B, with B polling every second as the --private node host does.</summary>
    private static async Task LatencyAsync()
    {
        await using var pair = await Pair.StartAsync();
        var caseNumber = 0;
        using var stop = new CancellationTokenSource();
        var poller = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            while (await timer.WaitForNextTickAsync(stop.Token))
            {
                pair.Peers.Sync(null, passThru: false);
            }
        });
        var latencies = new List<double>();
        for (var i = 0; i < 11; i++)
        {
            var before = pair.Incoming();
            await Task.Delay(Random.Shared.Next(0, 1000));
            Queue(pair.A, pair.System, new[] { caseNumber++ });
            var clock = Stopwatch.StartNew();
            OutgoingEvents.Produce(pair.A, pair.System);
            while (pair.Incoming() == before)
            {
                await Task.Delay(5);
            }

            latencies.Add(clock.Elapsed.TotalMilliseconds);
        }

        await stop.CancelAsync();
        await poller.ContinueWith(_ => { }, TaskScheduler.Default);
        Figures.Report("One changed case, queued on A to stored on B (B polls every 1 s)", latencies, "target: median under 2,000 ms");
    }

    /// <summary>Queues the cases as the retrieval job does: a page of at most 2,000 per transaction.</summary>
    private static void Queue(ConnectionNode node, Connection system, IEnumerable<int> cases)
    {
        foreach (var page in cases.Chunk(2_000))
        {
            node.Store.Write(tx =>
            {
                JobRows.CommitPage(tx, system.Id, 0, "Case",
                    page.Select(n => ($"500{n:D12}", Start.AddMilliseconds(n), $$"""{"Id":"500{{n:D12}}","CaseNumber":"{{n}}","Subject":"Case {{n}}","Status":"New","Priority":"High","Description":"A case for the benchmark."}""")).ToList(),
                    Start);
                return 0;
            });
        }
    }

    private static string Ms(TimeSpan span) => span.TotalMilliseconds.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A public node host (A, in this process) and a private store (B) paired on loopback, A's side bound to a Salesforce connection.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private readonly string _folder;
        private readonly Microsoft.AspNetCore.Builder.WebApplication _app;

        private Pair(string folder, Microsoft.AspNetCore.Builder.WebApplication app, ConnectionNode a, ConnectionNode b)
        {
            _folder = folder;
            _app = app;
            A = a;
            B = b;
            var host = new SilentHost();
            new NodeCommands(a, host).SetPublicUrl(app.Urls.First(), passThru: false);
            var code = "";
            var collector = new SilentHost { OnObject = o => code = ((PrivateConnectionInvitation)o).InvitationCode };
            new InvitationCommands(a, collector).New(new NewPrivateConnectionRequest { Name = "partner", LocalInstanceName = "a" });
            Peers = new PeerCommands(b, host);
            Peers.Accept(code, null, "b");
            Id = b.Store.FindByName("partner")!.Id;
            System = a.Store.Create(new Connection { Id = Guid.NewGuid(), Name = "sf", Type = ConnectionType.SalesforceProduction, Status = ConnectionStatus.Active }, "bench");
            a.Store.Change(Id, LifecycleAction.Edit, c => c.With(x => x.SystemConnectionId = System.Id), "bench");
        }

        public ConnectionNode A { get; }

        public ConnectionNode B { get; }

        public PeerCommands Peers { get; }

        public Guid Id { get; }

        public Connection System { get; }

        public static async Task<Pair> StartAsync()
        {
            var folder = Path.Combine(Path.GetTempPath(), "ct-sync-bench-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            var publicPath = Path.Combine(folder, "a.db");
            var app = NodeHost.BuildPublic(new[] { "--urls", "http://127.0.0.1:0" }, new NodeOptions(publicPath, null, false, TimeSpan.FromSeconds(1)) { Create = true, RunJobs = false }, b => b.Logging.ClearProviders());
            await app.StartAsync();
            var a = ConnectionNode.Open(new StoreLocation(publicPath, StoreSource.Session, create: true), actor: "bench");
            var b = ConnectionNode.Open(new StoreLocation(Path.Combine(folder, "b.db"), StoreSource.Session, create: true), actor: "bench");
            return new Pair(folder, app, a, b);
        }

        public long Incoming() => B.Store.Read(db => SyncEventRows.Count(db, Id, SyncDirection.Incoming));

        public async ValueTask DisposeAsync()
        {
            A.Dispose();
            B.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_folder, recursive: true);
        }
    }

    private sealed class SilentHost : ConnectionTools.Hosting.IHostContext
    {
        public Action<object>? OnObject { get; init; }

        public CancellationToken CancellationToken => CancellationToken.None;

        public void WriteObject(object value) => OnObject?.Invoke(value);

        public void WriteError(ConnectionTools.Errors.ConnectionToolsException error) => throw error;

        public void WriteWarning(string message)
        {
        }

        public void WriteVerbose(string message)
        {
        }

        public void WriteProgress(ConnectionTools.Hosting.ProgressInfo progress)
        {
        }

        public bool ShouldProcess(string target, string action) => true;
    }
}
