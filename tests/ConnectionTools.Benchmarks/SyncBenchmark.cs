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
/// loopback, through the outgoing rule and the transport, with the peak working set for two counts; and how soon one changed
/// case reaches B when B polls every second.
/// </summary>
public static class SyncBenchmark
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    public static async Task RunAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "ct-sync-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var publicPath = Path.Combine(folder, "a.db");
        var app = NodeHost.BuildPublic(new[] { "--urls", "http://127.0.0.1:0" }, new NodeOptions(publicPath, null, false, TimeSpan.FromSeconds(1)) { Create = true, RunJobs = false }, b => b.Logging.ClearProviders());
        await app.StartAsync();
        try
        {
            using var a = ConnectionNode.Open(new StoreLocation(publicPath, StoreSource.Session, create: true), actor: "bench");
            using var b = ConnectionNode.Open(new StoreLocation(Path.Combine(folder, "b.db"), StoreSource.Session, create: true), actor: "bench");
            var host = new SilentHost();
            new NodeCommands(a, host).SetPublicUrl(app.Urls.First(), passThru: false);
            var code = "";
            var collector = new SilentHost { OnObject = o => code = ((PrivateConnectionInvitation)o).InvitationCode };
            new InvitationCommands(a, collector).New(new NewPrivateConnectionRequest { Name = "partner", LocalInstanceName = "a" });
            var peers = new PeerCommands(b, host);
            peers.Accept(code, null, "b");
            var id = b.Store.FindByName("partner")!.Id;
            var system = a.Store.Create(new Connection { Id = Guid.NewGuid(), Name = "sf", Type = ConnectionType.SalesforceProduction, Status = ConnectionStatus.Active }, "bench");
            a.Store.Change(id, LifecycleAction.Edit, c => c.With(x => x.SystemConnectionId = system.Id), "bench");

            var caseNumber = 0;
            foreach (var count in new[] { 2_000, 10_000 })
            {
                Queue(a, system, Enumerable.Range(caseNumber, count));
                caseNumber += count;
                var clock = Stopwatch.StartNew();
                OutgoingEvents.Produce(a, system);
                var produced = clock.Elapsed;
                var before = Incoming(b, id);
                while (Incoming(b, id) < before + count)
                {
                    peers.Sync(null, passThru: false);
                }

                var total = clock.Elapsed;
                using var process = Process.GetCurrentProcess();
                process.Refresh();
                Console.WriteLine(
                    $"{count:N0} queued case changes from A to B on loopback: {Ms(total)} ms in all (outgoing rule and events on A {Ms(produced)} ms, transport {Ms(total - produced)} ms; " +
                    $"target: under 5,000 ms for 10,000); peak working set so far {process.PeakWorkingSet64 / (1024 * 1024)} MiB");
            }

            // One changed case, from queued on A to stored on B, with B polling every second as the --private node host does.
            using var stop = new CancellationTokenSource();
            var poller = Task.Run(async () =>
            {
                using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    peers.Sync(null, passThru: false);
                }
            });
            var latencies = new List<double>();
            for (var i = 0; i < 11; i++)
            {
                var before = Incoming(b, id);
                await Task.Delay(Random.Shared.Next(0, 1000));
                Queue(a, system, new[] { caseNumber++ });
                var clock = Stopwatch.StartNew();
                OutgoingEvents.Produce(a, system);
                while (Incoming(b, id) == before)
                {
                    await Task.Delay(5);
                }

                latencies.Add(clock.Elapsed.TotalMilliseconds);
            }

            stop.Cancel();
            await poller.ContinueWith(_ => { }, TaskScheduler.Default);
            Figures.Report("One changed case, queued on A to stored on B (B polls every 1 s)", latencies, "target: median under 2,000 ms");
        }
        finally
        {
            await app.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void Queue(ConnectionNode node, Connection system, IEnumerable<int> cases) => node.Store.Write(tx =>
    {
        JobRows.CommitPage(tx, system.Id, 0, "Case",
            cases.Select(n => ($"500{n:D12}", Start.AddMilliseconds(n), $$"""{"Id":"500{{n:D12}}","CaseNumber":"{{n}}","Subject":"Case {{n}}","Status":"New","Priority":"High","Description":"A case for the benchmark."}""")).ToList(),
            Start);
        return 0;
    });

    private static long Incoming(ConnectionNode node, Guid id) => node.Store.Read(db => SyncEventRows.Count(db, id, SyncDirection.Incoming));

    private static string Ms(TimeSpan span) => span.TotalMilliseconds.ToString("N0", CultureInfo.InvariantCulture);

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
