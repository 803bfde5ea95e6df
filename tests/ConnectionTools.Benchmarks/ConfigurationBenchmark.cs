using System.Diagnostics;
using System.Text;
using ConnectionTools.Configuration;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;

/// <summary>
/// Connections as code at scale: 10,000 declared private connections (public side, so no network) applied to an empty
/// store, then Test and a no-change plan against the same 10,000, counting store writes and network calls.
/// </summary>
public static class ConfigurationBenchmark
{
    public static void Run()
    {
        var folder = Path.Combine(Path.GetTempPath(), "ct-bench-config-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var storePath = Path.Combine(folder, "store.db");
            using var node = ConnectionNode.Open(new StoreLocation(storePath, StoreSource.Session, create: true), actor: "bench");
            new NodeCommands(node, new CountingHost()).SetPublicUrl("https://node.contoso.example/", passThru: false);

            var yaml = new StringBuilder("apiVersion: connectiontools/v1\nname: fleet\nconnections:\n");
            for (var i = 0; i < 10_000; i++)
            {
                yaml.Append("  - name: peer-").Append(i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture))
                    .Append("\n    type: Private\n    side: Public\n    mode: Basic\n    localInstanceName: contoso-public\n    description: benchmark\n");
            }

            var path = Path.Combine(folder, "fleet.yaml");
            File.WriteAllText(path, yaml.ToString());
            Console.WriteLine($"Configuration: 10,000 declared connections, {new FileInfo(path).Length / 1024:N0} KB");

            var calls = new CountingHandler();
            using var http = new HttpClient(calls);
            var services = new ConfigurationServices { Peers = new PeerClient(http, TimeSpan.FromSeconds(5)) };
            var host = new CountingHost();

            var clock = Stopwatch.StartNew();
            new ConfigurationCommands(node, host, services).Invoke(path, prune: false);
            clock.Stop();
            Console.WriteLine($"Invoke-ConnectionConfiguration, 10,000 creations into an empty store: {clock.Elapsed.TotalMilliseconds:0} ms (target: under 10,000 ms)");
            Console.WriteLine($"  connections: {node.Store.CountByStatus().Values.Sum():N0}, audit entries: {node.Store.AuditCount():N0}, network calls: {calls.Count}");

            Figures.Report("  of which loading and validating the file (ConfigurationLoader.Load)", Figures.Measure(runs: 10, () => ConfigurationLoader.Load(path, new List<ConfigurationIssue>())), "");
            Figures.Report("  of which reading the store (10,000 connections)", Figures.Measure(runs: 10, () => node.Store.List(new ConnectionFilter())), "");
            var audit = node.Store.AuditCount();
            var wal = new FileInfo(storePath + "-wal").Length;
            var test = new CountingHost();
            Figures.Report("Test-ConnectionConfiguration, 10,000 declared against the same 10,000", Figures.Measure(runs: 10, () => new ConfigurationCommands(node, test, services).Test(path)), "target: under 1,000 ms");
            var plan = new CountingHost();
            Figures.Report("Invoke-ConnectionConfiguration with nothing to change (plan all None)", Figures.Measure(runs: 10, () => new ConfigurationCommands(node, plan, services).Invoke(path, prune: false)), "target: under 1,000 ms");
            Console.WriteLine($"  store writes during 30 Test and no-change runs: {node.Store.AuditCount() - audit} audit entries, WAL grew {new FileInfo(storePath + "-wal").Length - wal} bytes; network calls: {calls.Count}");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class CountingHandler : HttpMessageHandler
    {
        public int Count { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Count++;
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable));
        }
    }
}
