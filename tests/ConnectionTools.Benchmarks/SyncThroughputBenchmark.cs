using System.Diagnostics;
using System.Globalization;
using ConnectionTools.Testing;

/// <summary>
/// Issue 20's throughput figure: case changes made in both emulated orgs, every write request into an org answered after 50 ms
/// (an API's latency), node A's store in PostgreSQL served by one node host, then by three behind one URL; node B one host on
/// SQLite. No kills and no faults: the time from the first change until both orgs agree, and the changes per second, for each.
/// dotnet run -c Release --project tests/ConnectionTools.Benchmarks -- syncthroughput [CHANGES]
/// </summary>
public static class SyncThroughputBenchmark
{
    /// <summary>All cores' busy and total time so far (Linux /proc/stat), to tell a CPU-bound run from an I/O-bound one.</summary>
    private static (long Busy, long Total) CpuJiffies()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        var idle = fields[3] + fields[4];
        var total = fields.Sum();
        return (total - idle, total);
    }

    public static async Task RunAsync(int changes)
    {
        foreach (var hosts in new[] { 1, 3 })
        {
            var folder = Directory.CreateTempSubdirectory("ct-sync-throughput-").FullName;
            var database = PostgresTestServer.CreateDatabase();
            try
            {
                var cpuBefore = CpuJiffies();
                var clock = Stopwatch.StartNew();
                var result = await SyncApplyFaultRun.RunAsync(
                    new SyncApplyFaultOptions
                    {
                        Changes = changes,
                        KillsPerHost = 0,
                        WriteFaultRatio = 0,
                        Seed = 4711,
                        ChangePeriod = TimeSpan.FromSeconds(5),
                        SettleLimit = TimeSpan.FromMinutes(10),
                        WriteLatency = TimeSpan.FromMilliseconds(50),
                        PublicDatabase = database,
                        PublicHosts = hosts,
                        Log = line => Console.WriteLine("  " + line),
                    },
                    folder);
                var total = result.Changing + (result.Converged ?? TimeSpan.Zero);
                var cpu = CpuJiffies();
                var busy = (double)(cpu.Busy - cpuBefore.Busy) / Math.Max(1, cpu.Total - cpuBefore.Total);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Sync throughput, node A on PostgreSQL with {hosts} host(s), 50 ms per write request: {changes:N0} changes agreed in both orgs {total.TotalSeconds:0.0} s after the first ({changes / total.TotalSeconds:0.0} changes/s; the orgs answered {result.OrgTraffic.Requests:N0} requests and wrote {result.OrgTraffic.RecordsWritten:N0} records; the machine's {Environment.ProcessorCount} cores {busy:P0} busy; whole run with set-up {clock.Elapsed.TotalSeconds:0.0} s); {result}"));
            }
            finally
            {
                PostgresTestServer.DropDatabase(database);
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
