using ConnectionTools.Testing;
using Xunit.Abstractions;

namespace ConnectionTools.Node.Tests;

/// <summary>
/// Case sync part 2's reliability run at reduced scale: 100 case changes by people in two emulated Salesforce orgs (creates and
/// edits, some cases made on one side and edited on the other, or, in the second run, edited on both sides at the same moment),
/// each org bound to a node host process on its own store; each node host
/// killed with kill -9 twice at random moments, one write in ten into either org failing with 429 or 500, one peer answer in
/// ten dropped. At the end both orgs hold every case exactly once with the values the rules say, and no event is left in
/// either store; the only Failed events were those the write faults provoked, retried as an admin would. The rig is
/// tests/Shared/SyncApplyFaultRig.cs; the full scale (1,000 changes, five kills per host) is the benchmark project's
/// syncapplyfaults suite.
/// </summary>
[Collection(SyncFaultCollection.Name)]
public sealed class SyncApplyFaultTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ct-sync-apply-faults-").FullName;
    private readonly ITestOutputHelper _output;

    public SyncApplyFaultTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Both_orgs_end_with_every_case_once_and_as_the_rules_say_while_node_hosts_are_killed_writes_fail_and_answers_are_lost(bool editedOnBothSidesAtOnce)
    {
        var result = await RunAsync(lines => new SyncApplyFaultOptions
        {
            Changes = 100,
            KillsPerHost = 2,
            // One write in ten fails at a random place in every ten; with this seed the first write into org A is one
            // (org B's sixth), so even a short run, whose writes are few large batches, meets a fault.
            Seed = 13,
            ChangePeriod = TimeSpan.FromSeconds(10),
            SettleLimit = TimeSpan.FromSeconds(60),
            ConcurrentEdits = editedOnBothSidesAtOnce,
            Log = lines,
        });
        Assert.True(result.DroppedAnswers > 0, result.ToString());
        Assert.True(result.ThrottledWrites + result.FailedWrites >= Math.Max(1, result.Writes / 10), result.ToString());
        Assert.True(result.EditedOnBothSides > 0, result.ToString());
        Assert.Equal(result.Cases, result.CasesInA);
        Assert.Equal(result.Cases, result.CasesInB);
    }

    /// <summary>
    /// Issue 20's reliability run at reduced scale: node A's store is a PostgreSQL database served by three node host processes
    /// behind the one URL the partner knows, each running jobs (A's retrieval is due every second). Two of them are killed with
    /// kill -9, one after the other, while the partner syncs; a replayed request goes to another host than the original. Every
    /// case ends once in both orgs, no event is left, and no two retrieval runs overlapped.
    /// </summary>
    [Fact]
    public async Task Three_node_hosts_on_one_PostgreSQL_store_lose_nothing_when_two_are_killed_one_after_the_other()
    {
        var database = PostgresTestServer.CreateDatabase();
        try
        {
            var result = await RunAsync(lines => new SyncApplyFaultOptions
            {
                Changes = 100,
                KillsPerHost = 2,
                Seed = 13,
                ChangePeriod = TimeSpan.FromSeconds(10),
                SettleLimit = TimeSpan.FromSeconds(90),
                PublicDatabase = database,
                PublicHosts = 3,
                // Cases edited on both sides at once: A's retrieval on one host reads cases another host's apply is writing.
                ConcurrentEdits = true,
                Log = lines,
            });
            Assert.True(result.ReplayedRequests > 0, result.ToString());
            Assert.True(result.JobRuns > 0, result.ToString());
            Assert.Equal(result.Cases, result.CasesInA);
            Assert.Equal(result.Cases, result.CasesInB);
        }
        finally
        {
            PostgresTestServer.DropDatabase(database);
        }
    }

    /// <summary>Runs the rig with the options <paramref name="options"/> makes (given where to log), shows its log and result, and checks what every run must end with.</summary>
    private async Task<SyncApplyFaultResult> RunAsync(Func<Action<string>, SyncApplyFaultOptions> options)
    {
        var lines = new List<string>();
        var result = await SyncApplyFaultRun.RunAsync(options(line => { lock (lines) { lines.Add(line); } }), _folder);
        foreach (var line in lines)
        {
            _output.WriteLine(line);
        }

        _output.WriteLine(result.ToString());
        Assert.True(result.Problems.Count == 0, result.ToString());
        Assert.NotNull(result.Converged);
        Assert.Equal((2, 2), (result.KillsA, result.KillsB));
        return result;
    }
}
