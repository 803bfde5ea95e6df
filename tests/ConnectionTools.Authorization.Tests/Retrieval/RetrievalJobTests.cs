using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Errors;
using ConnectionTools.Jobs;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;
using ConnectionTools.Testing;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// Retrieval jobs end to end: a real store, the real Salesforce provider and case source, and the Salesforce emulator on
/// loopback. What is checked is what the outbound queue and the job's watermark hold afterwards.
/// </summary>
public sealed class RetrievalJobTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(2);

    private TestStore _store = null!;
    private readonly RecordingHost _host = new();
    private SalesforceOrg _org = null!;

    public async Task InitializeAsync()
    {
        _org = await SalesforceOrg.StartAsync();
        _store = new TestStore(clients: _org.NodeClients());
        // A free loopback port for the interactive redirect, never the default 1717: other test classes sign in at the same time.
        _store.Store.SetNodeSetting(Nodes.ConnectionNode.SalesforceRedirectSetting, "0/OauthRedirect", "tester");
        new SystemConnectionCommands(_store.Node, _host).New(_org.InteractiveConnection("support"));
        Assert.Empty(_host.Errors);
    }

    public async Task DisposeAsync()
    {
        _store.Dispose();
        await _org.DisposeAsync();
    }

    private RetrievalRunner Runner => new(_store.Node) { PageSize = 200 };

    private Connection Support => _store.Get("support");

    private Task<JobRun> RunNow() => Runner.RunAsync(Support, JobTrigger.Manual, _ => { }, CancellationToken.None);

    private (long Rows, long Distinct, long Newest) Queue() => _store.Store.Read(db =>
    {
        using var command = db.Command("SELECT COUNT(*), COUNT(DISTINCT record_id), COALESCE(MAX(modified_at), 0) FROM outbound_queue;");
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    });

    private ConnectionJob Schedule()
    {
        var host = new RecordingHost();
        new JobCommands(_store.Node, host).Get(new JobQuery { Schedule = true, Connections = new[] { "support" } });
        return Assert.Single(host.OutputOf<ConnectionJob>());
    }

    [Fact]
    public async Task A_run_retrieves_every_changed_case_once_and_the_next_run_only_what_changed_since()
    {
        _org.Emulator.AddCases(1000, Start, Step);

        var first = await RunNow();

        Assert.Equal((JobRunStatus.Succeeded, 1000L, 5), (first.Status, first.Records, first.Pages));
        var queue = Queue();
        Assert.Equal((1000L, 1000L), (queue.Rows, queue.Distinct));
        Assert.Equal(queue.Newest, Schedule().Watermark!.Value.ToUnixTimeMilliseconds());

        var touched = Start.AddDays(1);
        _org.Emulator.TouchCase(SalesforceEmulatorCaseId(10), touched);
        var second = await RunNow();

        // The case at the watermark comes back too (the filter is inclusive); storing it again changes nothing.
        Assert.InRange(second.Records, 1, 3);
        Assert.Equal((1000L, 1000L, touched.ToUnixTimeMilliseconds()), Queue());
    }

    [Fact]
    public async Task A_failure_on_page_7_of_25_keeps_what_was_committed_and_the_rerun_ends_with_every_record_exactly_once()
    {
        _org.Emulator.AddCases(5000, Start, Step);
        _org.Emulator.FailOnPage = 7;

        var failed = await Assert.ThrowsAsync<JobFailedException>(RunNow);

        Assert.Equal(JobRunStatus.Failed, failed.Run.Status);
        Assert.Equal("ConnectionTools.Job.SourceFailed", failed.Error.ErrorId);
        Assert.Equal((1200L, 6), (failed.Run.Records, failed.Run.Pages));
        Assert.Equal(1200L, Queue().Rows);

        _org.Emulator.FailOnPage = null;
        var rerun = await RunNow();

        Assert.Equal(JobRunStatus.Succeeded, rerun.Status);
        var queue = Queue();
        Assert.Equal((5000L, 5000L), (queue.Rows, queue.Distinct));
        var newest = _store.Store.Read(db => JobRows.Find(db, Support.Id))!.Value.Watermark!.Value;
        Assert.Equal(queue.Newest, newest.ToUnixTimeMilliseconds());
        Assert.Equal(Start + Step * (5000 - 1 - (5000 - 1) / 4), newest);
    }

    [Fact]
    public async Task Pause_means_no_run_and_a_revoked_grant_makes_the_connection_inactive_and_the_job_hold_until_reauthorized()
    {
        _org.Emulator.AddCases(400, Start, Step);
        await RunNow();

        _store.Commands(_host).Suspend(new[] { ConnectionTarget.ByName("support") }, passThru: false);
        var paused = await Assert.ThrowsAsync<ConnectionToolsException>(RunNow);
        Assert.Equal(ErrorIds.JobConnectionPaused, paused.ErrorId);
        Assert.Empty(await Runner.RunDueAsync(4, _ => { }, CancellationToken.None));
        _store.Commands(_host).Resume(new[] { ConnectionTarget.ByName("support") }, passThru: false);

        _org.Emulator.RevokeGrantsForUser(SalesforceOrg.Username);
        var refused = await Assert.ThrowsAsync<JobFailedException>(RunNow);
        Assert.Equal(ErrorIds.AuthorizationExpired, refused.Error.ErrorId);
        Assert.Equal((ConnectionStatus.Inactive, (InactiveReason?)InactiveReason.Expired), (Support.Status, Support.InactiveReason));
        Assert.Equal(JobState.Holding, Schedule().State);

        // Cases change while the connection is inactive; none may be lost.
        for (var i = 0; i < 50; i++)
        {
            _org.Emulator.TouchCase(SalesforceEmulatorCaseId((i * 7) + 1), Start.AddDays(2).AddMinutes(i));
        }

        new SystemConnectionCommands(_store.Node, _host).Update(new[] { ConnectionTarget.ByName("support") }, new UpdateAuthorizationRequest { Interactive = true });
        Assert.Equal(ConnectionStatus.Active, Support.Status);
        Assert.Equal(JobState.Scheduled, Schedule().State);

        var caughtUp = Assert.Single(await Runner.RunDueAsync(4, _ => { }, CancellationToken.None));

        Assert.Equal(JobRunStatus.Succeeded, caughtUp.Status);
        var queue = Queue();
        Assert.Equal((400L, 400L, Start.AddDays(2).AddMinutes(49).ToUnixTimeMilliseconds()), queue);
        Assert.Equal(50L, _store.Store.Read(db =>
            (long)db.Scalar("SELECT COUNT(*) FROM outbound_queue WHERE modified_at >= $since;", ("$since", Start.AddDays(2).ToUnixTimeMilliseconds()))!));
    }

    [Fact]
    public async Task Removing_the_connection_cancels_its_job_and_keeps_its_history()
    {
        _org.Emulator.AddCases(10, Start, Step);
        var run = await RunNow();
        _store.Commands(_host).Remove(new[] { ConnectionTarget.ByName("support") }, passThru: false);

        var host = new RecordingHost();
        new JobCommands(_store.Node, host).Get(new JobQuery { Connections = new[] { "support" } });

        Assert.Equal(run.Id, Assert.Single(host.OutputOf<JobRun>()).Id);
        Assert.Empty(host.Errors);
        var removed = await Assert.ThrowsAsync<ConnectionToolsException>(() => Runner.RunAsync(_store.Store.Find(run.ConnectionId)!, JobTrigger.Manual, _ => { }, CancellationToken.None));
        Assert.Equal(ErrorIds.ConnectionRemoved, removed.ErrorId);
    }

    [Fact]
    public async Task A_run_turns_the_cases_it_queued_into_outgoing_events_for_each_bound_private_connection()
    {
        new Nodes.NodeCommands(_store.Node, _host).SetPublicUrl("https://node.contoso.example/", passThru: false);
        new Invitations.InvitationCommands(_store.Node, _host).New(new Invitations.NewPrivateConnectionRequest { Name = "partner", LocalInstanceName = "contoso" });
        var partner = Seeding.Bind(_store.Store, _store.Get("partner").Id, Support.Id);
        _org.Emulator.AddCases(300, Start, Step);

        await RunNow();

        var events = _store.Store.Read(db => SyncEventRows.List(db, partner.Id, SyncRules.SyncDirection.Outgoing));
        Assert.Equal(300, events.Count);
        Assert.Equal(Enumerable.Range(1, 300).Select(SalesforceEmulatorCaseId), events.Select(e => e.CaseId));
        Assert.All(events, e => Assert.Equal((Sync.SyncEventStatus.Queued, 1L), (e.Status, e.Sequence)));
        Assert.Equal(0L, Queue().Rows);

        // A case changed in the org while its event is unsent: still one event for it, now with the latest version.
        _org.Emulator.TouchCase(SalesforceEmulatorCaseId(10), Start.AddDays(1));
        await RunNow();
        var after = _store.Store.Read(db => SyncEventRows.List(db, partner.Id, SyncRules.SyncDirection.Outgoing));
        Assert.Equal(300, after.Count);
        Assert.Equal(events.Single(e => e.CaseId == SalesforceEmulatorCaseId(10)).EventId, after.Single(e => e.CaseId == SalesforceEmulatorCaseId(10)).EventId);
    }

    [Fact]
    public void An_initial_load_queues_the_existing_cases_for_one_connection_only_and_leaves_the_job_alone()
    {
        new Nodes.NodeCommands(_store.Node, _host).SetPublicUrl("https://node.contoso.example/", passThru: false);
        var invitations = new Invitations.InvitationCommands(_store.Node, _host);
        invitations.New(new Invitations.NewPrivateConnectionRequest { Name = "new-partner", LocalInstanceName = "contoso" });
        invitations.New(new Invitations.NewPrivateConnectionRequest { Name = "old-partner", LocalInstanceName = "contoso" });
        var fresh = Seeding.Bind(_store.Store, _store.Get("new-partner").Id, Support.Id);
        var old = Seeding.Bind(_store.Store, _store.Get("old-partner").Id, Support.Id);
        _org.Emulator.AddCases(250, Start, Step);
        var loads = new Sync.InitialLoadCommands(_store.Node, _host);

        var since = RetrievalRig.ExpectedModifiedAt(201, Start, Step);
        loads.Start(new[] { ConnectionTarget.ByName("new-partner") }, since, passThru: false);
        Assert.Empty(_host.Errors);
        var changedSince = Enumerable.Range(1, 250).Count(n => RetrievalRig.ExpectedModifiedAt(n, Start, Step) >= since);
        Assert.InRange(changedSince, 50, 52);
        Assert.Equal(changedSince, _store.Store.Read(db => SyncEventRows.Count(db, fresh.Id, SyncRules.SyncDirection.Outgoing)));

        loads.Start(new[] { ConnectionTarget.ByName("new-partner") }, since: null, passThru: false);
        var events = _store.Store.Read(db => SyncEventRows.List(db, fresh.Id, SyncRules.SyncDirection.Outgoing));
        Assert.Equal(Enumerable.Range(1, 250).Select(SalesforceEmulatorCaseId).Order(), events.Select(e => e.CaseId).Order());
        Assert.Equal(0L, _store.Store.Read(db => SyncEventRows.Count(db, old.Id, SyncRules.SyncDirection.Outgoing)));
        Assert.Null(Schedule().Watermark);
        Assert.Equal(0L, Queue().Rows);
    }

    [Fact]
    public void An_initial_load_on_a_connection_that_is_not_bound_says_how_to_bind_it()
    {
        new Nodes.NodeCommands(_store.Node, _host).SetPublicUrl("https://node.contoso.example/", passThru: false);
        new Invitations.InvitationCommands(_store.Node, _host).New(new Invitations.NewPrivateConnectionRequest { Name = "unbound", LocalInstanceName = "contoso" });

        new Sync.InitialLoadCommands(_store.Node, _host).Start(new[] { ConnectionTarget.ByName("unbound"), ConnectionTarget.ByName("support") }, since: null, passThru: false);

        Assert.Equal(new[] { ErrorIds.SyncNotBound, ErrorIds.SyncNotBound }, _host.Errors.Select(e => e.ErrorId));
        Assert.Contains("Set-Connection -Name 'unbound' -System", _host.Errors[0].RecommendedAction);
    }

    private static string SalesforceEmulatorCaseId(int number) => Emulators.SalesforceEmulator.CaseId(number);
}
