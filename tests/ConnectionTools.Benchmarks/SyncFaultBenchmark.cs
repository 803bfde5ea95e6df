using System.Diagnostics;
using ConnectionTools.Connections;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;
using ConnectionTools.Testing;

/// <summary>
/// Case sync's fault run at the issue's full scale (issue 16): 1,000 case changes (new cases, and cases changed up to five
/// times) flow from node A (the public node host) to node B (the private node host), both real processes, while each is killed
/// with kill -9 at least five times at random moments, and a proxy in front of A loses one answer in ten after A processed the
/// request and sends one request in seven twice. Then the connection is paused for 30 s on A, and then on B, while changes keep
/// being queued. Checks afterwards on B: each event id stored once; per case, sequence numbers 1, 2, 3... with no gap, stored in
/// that order; the last event of every case holds the latest version; nothing missing; nothing crossed while paused. A failed
/// check throws (non-zero exit). The CI-scale version is SyncFaultTests in ConnectionTools.Node.Tests.
/// </summary>
public static class SyncFaultBenchmark
{
    private const int Changes = 1_000;
    private const int MinKills = 5;
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SettleLimit = TimeSpan.FromMinutes(5);

    public static async Task RunAsync()
    {
        var folder = Directory.CreateTempSubdirectory("ct-sync-faults-bench-").FullName;
        var random = new Random(1616);
        var killRandom = new Random(1617);
        try
        {
            var aPath = Path.Combine(folder, "a.db");
            var bPath = Path.Combine(folder, "b.db");
            var aPort = NodeHostProcess.FreePort();
            await using var proxy = await FaultProxy.StartAsync(aPort);
            var stores = await PairAsync(aPath, bPath, aPort, proxy.Url);

            // New cases, each changed one to five times, until there are 1,000 changes; queued in small bursts as retrieval runs would.
            var changes = new List<(int Case, int Version)>();
            for (var c = 1; changes.Count < Changes; c++)
            {
                changes.AddRange(Enumerable.Range(1, 1 + random.Next(5)).Select(v => (c, v)).Take(Changes - changes.Count));
            }

            var cases = changes.Max(c => c.Case);
            var bursts = changes.OrderBy(c => c.Version).ThenBy(_ => random.Next()).Chunk(20).ToList();

            var nodeA = NodeHostProcess.Start(aPath, aPort);
            var nodeB = NodeHostProcess.StartPrivate(bPath);
            var kills = (A: 0, B: 0);
            var clock = Stopwatch.StartNew();
            try
            {
                using var queuing = new CancellationTokenSource();

                // kill -9 at random moments, on a random side, beside the queuing; on until the queue is done and each side was killed
                // five times. Each node host gets 1 to 4 s first: it takes about a second to start, and a node that never runs a
                // round tests nothing (its events would only pile up and coalesce).
                var killer = Task.Run(async () =>
                {
                    while (!queuing.IsCancellationRequested || kills.A < MinKills || kills.B < MinKills)
                    {
                        await Task.Delay(killRandom.Next(1000, 4000));
                        var killA = kills.A >= MinKills && queuing.IsCancellationRequested ? false
                            : kills.B >= MinKills && queuing.IsCancellationRequested ? true
                            : killRandom.Next(2) == 0;
                        if (killA)
                        {
                            await nodeA.DisposeAsync();
                            kills.A++;
                            nodeA = NodeHostProcess.Start(aPath, aPort);
                        }
                        else
                        {
                            await nodeB.DisposeAsync();
                            kills.B++;
                            nodeB = NodeHostProcess.StartPrivate(bPath);
                        }
                    }
                });

                using (var a = ConnectionNode.Open(new StoreLocation(aPath, StoreSource.Session, create: false), actor: "retrieval"))
                {
                    foreach (var burst in bursts)
                    {
                        stores.Queue(a, burst);
                        await Task.Delay(random.Next(100, 600));
                    }
                }

                var queued = clock.Elapsed;
                await queuing.CancelAsync();
                await killer;
                var killed = clock.Elapsed;
                var settled = await stores.SettleAsync(SettleLimit);
                var problems = stores.Problems();
                if (proxy.Dropped == 0 || proxy.Replayed == 0)
                {
                    problems.Add($"the proxy dropped {proxy.Dropped} answers and repeated {proxy.Replayed} requests: the faults did not happen");
                }

                if (settled is null)
                {
                    problems.Add($"not everything reached B within {SettleLimit.TotalMinutes:0} min of the last kill");
                }

                var events = stores.Incoming();
                Console.WriteLine(
                    $"Sync under faults, full scale: {changes.Count:N0} changes of {cases} cases queued on A in {bursts.Count} bursts over {queued.TotalSeconds:0.0} s; " +
                    $"node hosts killed with kill -9: A {kills.A} times, B {kills.B} times (the last {killed.TotalSeconds:0.0} s in); proxy: {proxy.Requests} requests, " +
                    $"{proxy.Dropped} answers dropped, {proxy.Replayed} requests replayed; settled {(settled is null ? "never" : $"{settled.Value.TotalSeconds:0.0} s after the last kill")}; " +
                    $"B holds {events.Count} events of {events.Select(e => e.CaseId).Distinct().Count()} cases (the other changes coalesced on A before they were sent), " +
                    $"up to #{(events.Count == 0 ? 0 : events.Max(e => e.Sequence))} per case; " +
                    (problems.Count == 0 ? "checks passed (each event id once, per case 1..n in order with no gap, latest version last, nothing missing)" : $"{problems.Count} problem(s)"));
                Fail("the fault run", problems);

                // Pauses with both node hosts up (and the proxy still faulty): changes keep coming, nothing crosses until resumed.
                var next = cases + 1;
                foreach (var onA in new[] { true, false })
                {
                    // New cases, and cases of the fault run changed again (versions above any queued before).
                    var during = Enumerable.Range(next, 50).Select(c => (c, 1))
                        .Concat(Enumerable.Range(0, 50).Select(_ => random.Next(1, cases + 1)).Distinct().Select(c => (c, stores.Latest[NumberedCase(c)] + 1)))
                        .ToList();
                    next += 50;
                    var phase = await stores.PauseAsync(onA, Pause, during, SettleLimit);
                    Console.WriteLine($"Pause for {Pause.TotalSeconds:0} s, {phase}");
                    Fail($"the pause on {phase.Side}", phase.Problems);
                }
            }
            finally
            {
                await nodeA.DisposeAsync();
                await nodeB.DisposeAsync();
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string NumberedCase(int number) => SyncFaultStores.CaseId(number);

    private static void Fail(string what, List<string> problems)
    {
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"Sync fault benchmark: {what} failed its checks:\n  " + string.Join("\n  ", problems.Take(20)));
        }
    }

    /// <summary>Pairs B with A through the proxy (A's node host up for the invitation), and binds A's side to a Salesforce connection.</summary>
    private static async Task<SyncFaultStores> PairAsync(string aPath, string bPath, int aPort, string proxyUrl)
    {
        using var a = ConnectionNode.Open(new StoreLocation(aPath, StoreSource.Session, create: true), actor: "bench");
        using var b = ConnectionNode.Open(new StoreLocation(bPath, StoreSource.Session, create: true), actor: "bench");
        var code = "";
        new NodeCommands(a, new BenchHost()).SetPublicUrl(proxyUrl, passThru: false);
        new InvitationCommands(a, new BenchHost { OnObject = o => code = ((PrivateConnectionInvitation)o).InvitationCode })
            .New(new NewPrivateConnectionRequest { Name = "partner", LocalInstanceName = "a" });
        var system = a.Store.Create(new Connection { Id = Guid.NewGuid(), Name = "sf", Type = ConnectionType.SalesforceProduction, Status = ConnectionStatus.Active }, "bench");
        await using (var nodeA = NodeHostProcess.Start(aPath, aPort))
        {
            await nodeA.WaitUntilListeningAsync();
            new PeerCommands(b, new BenchHost()).Accept(code, null, "b");
        }

        var id = b.Store.FindByName("partner")!.Id;
        a.Store.Change(id, LifecycleAction.Edit, c => c.With(x => x.SystemConnectionId = system.Id), "bench");
        return new SyncFaultStores(aPath, bPath, id, system);
    }

    private sealed class BenchHost : ConnectionTools.Hosting.IHostContext
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
