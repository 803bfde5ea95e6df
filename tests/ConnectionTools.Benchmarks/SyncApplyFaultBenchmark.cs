using System.Globalization;
using ConnectionTools.Testing;

/// <summary>
/// Case sync part 2's reliability run at the full scale: 1,000 case changes by people in two emulated Salesforce orgs
/// (creates and edits, some cases made on one side and edited on the other), each org bound to a node host process on its own store, each
/// node host killed with kill -9 five times at random moments, one write in ten into either org failing with 429 or 500, one peer
/// answer in ten dropped. Prints the counts (kills, dropped answers, failed writes, replays, Failed events retried), the time to
/// converge and the final counts; a failed check throws (non-zero exit). The rig is tests/Shared/SyncApplyFaultRig.cs; the
/// CI-scale version is SyncApplyFaultTests in ConnectionTools.Node.Tests. "syncapplyfaults CHANGES KILLS" runs another scale;
/// "syncapplyfaults CHANGES KILLS concurrent" also edits cases on both sides at the same moment (see the note in SyncApplyFaultRig.cs);
/// "syncapplyfaults CHANGES KILLS [concurrent] pg3" puts node A's store in a PostgreSQL database served by three node hosts
/// behind one URL, killed one after another (issue 20); SYNCAPPLYFAULTS_HOSTLOG=1 prints the node hosts' log lines.
/// </summary>
public static class SyncApplyFaultBenchmark
{
    public static async Task RunAsync(int changes = 1_000, int killsPerHost = 5, bool concurrentEdits = false, int postgresHosts = 0)
    {
        var folder = Directory.CreateTempSubdirectory("ct-sync-apply-faults-bench-").FullName;
        var database = postgresHosts > 0 ? PostgresTestServer.CreateDatabase() : null;
        try
        {
            var result = await SyncApplyFaultRun.RunAsync(
                new SyncApplyFaultOptions
                {
                    Changes = changes,
                    KillsPerHost = killsPerHost,
                    Seed = 4711,

                    // About ten changes a second, as in the CI-scale run; the kills fall in the same period.
                    ChangePeriod = TimeSpan.FromSeconds(Math.Max(10, changes / 10)),
                    SettleLimit = TimeSpan.FromMinutes(3),
                    Log = line => Console.WriteLine("  " + line),
                    HostOutput = Environment.GetEnvironmentVariable("SYNCAPPLYFAULTS_HOSTLOG") == "1",
                    ConcurrentEdits = concurrentEdits,
                    PublicDatabase = database,
                    PublicHosts = Math.Max(1, postgresHosts),
                },
                folder);
            var nodeA = database is null ? "node A" : $"node A (PostgreSQL, {postgresHosts} hosts)";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Sync apply under faults, Salesforce org A <-> {nodeA} <-> node B <-> Salesforce org B, node hosts as processes: {result}"));
            if (result.Problems.Count > 0 || result.Converged is null)
            {
                throw new InvalidOperationException("The sync apply fault run failed its checks: " + string.Join("; ", result.Problems));
            }
        }
        finally
        {
            if (database != null)
            {
                PostgresTestServer.DropDatabase(database);
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                if (Environment.GetEnvironmentVariable("SYNCAPPLYFAULTS_KEEP") == "1")
                {
                    Console.WriteLine("  stores kept in " + folder);
                }
                else
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
            catch (IOException)
            {
            }
        }
    }
}
