using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Errors;
using ConnectionTools.Jobs;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;
using ConnectionTools.Testing;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// A retrieval run holds its job by a lease that every committed page renews. A host that cannot be checked (another machine on
/// a shared store) holds the job until its lease runs out; then another host's run resumes from the watermark, and the first
/// host's run, if it still goes on, commits nothing more. The two-process version (kill -9) is JobLeaseProcessTests.
/// </summary>
public sealed class JobLeaseTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly RecordingHost _host = new();
    private TestStore _store = null!;
    private SalesforceOrg _org = null!;
    private TimeSpan _clockShift;

    public async Task InitializeAsync()
    {
        _org = await SalesforceOrg.StartAsync();
        _store = new TestStore(clock: () => DateTimeOffset.UtcNow + _clockShift, clients: _org.NodeClients());
        // A free loopback port for the interactive redirect, never the default 1717: other test classes sign in at the same time.
        _store.Store.SetNodeSetting(Nodes.ConnectionNode.SalesforceRedirectSetting, "0/OauthRedirect", "tester");
        new SystemConnectionCommands(_store.Node, _host).New(_org.InteractiveConnection("support"));
        Assert.Empty(_host.Errors);
        _org.Emulator.AddCases(1000, Start, TimeSpan.FromSeconds(2));
    }

    public async Task DisposeAsync()
    {
        _store.Dispose();
        await _org.DisposeAsync();
    }

    private Connection Support => _store.Get("support");

    private string Claim => "job:" + ConnectionStore.FormatId(Support.Id);

    private Task<JobRun> RunNow() => new RetrievalRunner(_store.Node) { PageSize = 200 }.RunAsync(Support, JobTrigger.Manual, _ => { }, CancellationToken.None);

    private long Queued() => _store.Store.Read(db => JobRows.QueueCount(db, Support.Id));

    [Fact]
    public async Task A_job_held_by_a_host_on_another_machine_waits_for_its_lease_and_the_next_run_resumes_from_the_watermark()
    {
        // A host on another machine started a run and committed pages up to a watermark, then went silent.
        var watermark = Start + TimeSpan.FromSeconds(2 * 399);
        _store.Store.Write(tx =>
        {
            var run = JobRows.StartRun(tx, Support, JobTrigger.Schedule, _store.Node.Clock(), null);
            JobRows.CommitPage(tx, Support.Id, run, "Case", Array.Empty<(string, DateTimeOffset, string)>(), _store.Node.Clock(), watermark);
            ProcessClaims.Hold(tx, Claim, "other-machine|4242|638000000000000000|run " + run, _store.Node.Clock() + RetrievalRunner.JobLease);
            return 0;
        });

        var busy = await Assert.ThrowsAsync<ConnectionToolsException>(RunNow);
        Assert.Equal(ErrorIds.JobAlreadyRunning, busy.ErrorId);

        _clockShift = RetrievalRunner.JobLease + TimeSpan.FromSeconds(1);
        var resumed = await RunNow();

        Assert.Equal(JobRunStatus.Succeeded, resumed.Status);
        Assert.InRange(resumed.Records, 1, 999); // from the watermark on, not from the beginning
        Assert.Equal(resumed.Records, Queued());
        var history = _store.Store.Read(db => JobRows.Runs(db, Support.Id, null, null));
        Assert.Contains(history, r => r.Status == JobRunStatus.Failed && r.ErrorId == ErrorIds.JobInterrupted);
        Assert.Null(_store.Store.Read(db => ProcessClaims.Lease(db, Claim))); // released at the end
    }

    [Fact]
    public async Task A_run_whose_lease_another_host_took_over_stops_and_commits_no_more_pages()
    {
        _org.Emulator.Latency = TimeSpan.FromMilliseconds(400);
        var running = RunNow();
        while (_store.Store.Read(db => JobRows.Runs(db, Support.Id, null, null)).All(r => r.Pages < 1) && !running.IsCompleted)
        {
            await Task.Delay(10);
        }

        // Another host took the job over (this run's lease ran out, say, while the org answered slowly).
        _store.Store.Write(tx =>
        {
            ProcessClaims.Hold(tx, Claim, "other-machine|4242|638000000000000000|run 99", _store.Node.Clock() + RetrievalRunner.JobLease);
            return 0;
        });
        var queuedAtTakeOver = Queued();

        var lost = await Assert.ThrowsAsync<JobFailedException>(() => running);
        Assert.Equal(ErrorIds.JobLeaseLost, lost.Error.ErrorId);
        Assert.Equal(queuedAtTakeOver, Queued());
        Assert.InRange(queuedAtTakeOver, 200, 800);
        Assert.Equal(lost.Run.Records, queuedAtTakeOver);
        Assert.StartsWith("other-machine|", _store.Store.Read(db => ProcessClaims.Lease(db, Claim))!.Value.Owner); // the other host still holds it
    }
}
