using System.Diagnostics;
using ConnectionTools.Connections;
using ConnectionTools.Invitations;
using ConnectionTools.Node;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

/// <summary>Issue 3's figures: accept round trip, one status exchange, and how soon a change on one side is seen on the other.</summary>
public static class PeerBenchmark
{
    public static async Task RunAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "ct-peer-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var publicPath = Path.Combine(folder, "public.db");
        var app = NodeHost.BuildPublic(new[] { "--urls", "http://127.0.0.1:0" }, new NodeOptions(publicPath, null, false, TimeSpan.FromSeconds(1)), b => b.Logging.ClearProviders());
        await app.StartAsync();
        try
        {
            using var publicNode = ConnectionNode.Open(new StoreLocation(publicPath, StoreSource.Session, create: true), actor: "bench");
            using var privateNode = ConnectionNode.Open(new StoreLocation(Path.Combine(folder, "private.db"), StoreSource.Session, create: true), actor: "bench");
            var host = new CountingHost();
            new NodeCommands(publicNode, host).SetPublicUrl(app.Urls.First(), passThru: false);
            var invitations = new InvitationCommands(publicNode, host);
            var peers = new PeerCommands(privateNode, host);

            var accepts = new List<double>();
            for (var i = 0; i < 101; i++)
            {
                var collector = new CollectingHost();
                new InvitationCommands(publicNode, collector).New(new NewPrivateConnectionRequest { Name = $"peer-{i:000}", LocalInstanceName = "bench-public" });
                var code = collector.Invitations.Single().InvitationCode;
                var clock = Stopwatch.StartNew();
                peers.Accept(code, null, "bench-private");
                accepts.Add(clock.Elapsed.TotalMilliseconds);
            }

            Figures.Report("Accept round trip on loopback (decode, HTTP, both stores)", accepts.Skip(1).ToList(), "target: median under 50 ms");

            var target = new[] { ConnectionTarget.ByName("peer-000") };
            var exchanges = Figures.Measure(runs: 500, () => peers.Sync(target, passThru: false));
            Figures.Report("One status exchange (Sync-Connection of one connection)", exchanges, "target: median under 10 ms");

            // A private side that runs continuously: exchanges every second, as the node host's --private mode does.
            using var stop = new CancellationTokenSource();
            var poller = Task.Run(async () =>
            {
                using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    peers.Sync(target, passThru: false);
                }
            });
            var visible = new List<double>();
            var commands = new ConnectionCommands(publicNode, host);
            for (var round = 0; round < 6; round++)
            {
                var suspend = round % 2 == 0;
                var expected = suspend ? ConnectionStatus.Paused : ConnectionStatus.Active;
                var clock = Stopwatch.StartNew();
                if (suspend)
                {
                    commands.Suspend(target, passThru: false);
                }
                else
                {
                    commands.Resume(target, passThru: false);
                }

                while (privateNode.Store.FindByName("peer-000")!.PeerStatus != expected)
                {
                    await Task.Delay(10);
                }

                visible.Add(clock.Elapsed.TotalMilliseconds);
            }

            stop.Cancel();
            await poller.ContinueWith(_ => { }, TaskScheduler.Default);
            Figures.Report("Suspend/resume on the public side seen on the private side (polling every 1 s)", visible, "target: under 2,000 ms");
            Console.WriteLine($"  worst: {visible.Max():0} ms");
        }
        finally
        {
            await app.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class CollectingHost : ConnectionTools.Hosting.IHostContext
    {
        public List<PrivateConnectionInvitation> Invitations { get; } = new();

        public CancellationToken CancellationToken => CancellationToken.None;

        public void WriteObject(object value) => Invitations.Add((PrivateConnectionInvitation)value);

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
