using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Sync;
using ConnectionTools.SyncRules;
using ConnectionTools.Testing;

namespace ConnectionTools.Core.Tests;

/// <summary>
/// What admins see and do with sync events: list them (filters, trace ids), list the errors with the rule's line, retry a
/// Failed event once its rule is fixed, discard one with an entry in the history, and Get-Connection's counts.
/// </summary>
public sealed class SyncEventCommandsTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private const string FailingRule = "replica.summary = entity.summary\nif (entity.summary === 'bad') { throw new Error('no bad cases') }\n";

    private readonly TestStore _store = new();
    private readonly RecordingHost _host = new();
    private readonly Connection _system;

    public SyncEventCommandsTests()
    {
        new NodeCommands(_store.Node, _host).SetPublicUrl("https://node.contoso.example/", passThru: false);
        _system = Seeding.Add(_store.Store, "sf-prod", ConnectionType.SalesforceProduction, ConnectionStatus.Active, InactiveReason.Revoked, "tester");
    }

    public void Dispose() => _store.Dispose();

    private SyncEventCommands Commands(RecordingHost? host = null) => new(_store.Node, host ?? _host);

    private Connection Private(string name, string? outgoingRule = null)
    {
        new InvitationCommands(_store.Node, _host).New(new NewPrivateConnectionRequest { Name = name, LocalInstanceName = "contoso" });
        var connection = _store.Get(name);
        Seeding.Bind(_store.Store, connection.Id, _system.Id);
        if (outgoingRule != null)
        {
            SetRule(name, outgoingRule);
        }

        return _store.Get(name);
    }

    private void SetRule(string name, string script)
    {
        if (_store.Get(name).Mode != PrivateConnectionMode.Script)
        {
            new ConnectionCommands(_store.Node, _host).Set(new[] { ConnectionTarget.ByName(name) }, new ConnectionEdit { Mode = "Script" }, passThru: false);
        }

        new SyncRuleCommands(_store.Node, _host).Set(new[] { ConnectionTarget.ByName(name) }, SyncDirection.Outgoing, script, passThru: false);
    }

    private void Queue(params (string Id, int Minute, string Subject)[] cases)
    {
        _store.Store.Write(tx =>
        {
            JobRows.CommitPage(tx, _system.Id, 0, "Case",
                cases.Select(c => (c.Id, Start.AddMinutes(c.Minute), $$"""{"Id":"{{c.Id}}","CaseNumber":"0000{{c.Id[^1]}}","Subject":"{{c.Subject}}","Status":"New","Priority":"High","Description":"d"}""")).ToList(),
                Start);
            return 0;
        });
        OutgoingEvents.Produce(_store.Node, _system);
    }

    private List<SyncEvent> List(SyncEventQuery query)
    {
        var host = new RecordingHost();
        Commands(host).Get(query);
        Assert.Empty(host.Errors);
        return host.OutputOf<SyncEvent>().ToList();
    }

    private SyncEvent Event(string caseId) => List(new SyncEventQuery()).Single(e => e.CaseId == caseId);

    [Fact]
    public void Lists_every_event_with_its_connection_and_trace_id_and_filters_by_connection_case_status_trace_and_direction()
    {
        var crm = Private("crm", FailingRule);
        Private("erp");
        Queue(("5001", 1, "good"), ("5002", 2, "bad"));

        var all = List(new SyncEventQuery());
        Assert.Equal(4, all.Count);
        Assert.All(all, e => Assert.Matches("^[0-9a-f]{16}$", e.TraceId));
        Assert.All(all, e => Assert.NotNull(e.Entity));
        Assert.Equal(new[] { "crm", "erp" }, all.Select(e => e.ConnectionName).Distinct().Order());

        Assert.Equal(2, List(new SyncEventQuery { Names = new[] { "CRM" } }).Count);
        Assert.Equal(4, List(new SyncEventQuery { Names = new[] { "*r*" } }).Count);
        Assert.Equal(new[] { "crm", "erp" }, List(new SyncEventQuery { CaseIds = new[] { "5002" } }).Select(e => e.ConnectionName).Order());
        var failed = Assert.Single(List(new SyncEventQuery { Statuses = new[] { SyncEventStatus.Failed } }));
        Assert.Equal((crm.Id, "5002"), (failed.ConnectionId, failed.CaseId));
        Assert.Equal(failed.EventId, Assert.Single(List(new SyncEventQuery { TraceIds = new[] { failed.TraceId } })).EventId);
        Assert.Empty(List(new SyncEventQuery { Direction = SyncDirection.Incoming }));
        Assert.Empty(List(new SyncEventQuery { Names = new[] { "nomatch*" } }));
    }

    [Fact]
    public void A_name_that_matches_no_connection_is_an_error_and_lists_nothing()
    {
        Private("crm");
        Queue(("5001", 1, "good"));

        Commands().Get(new SyncEventQuery { Names = new[] { "missing" } });

        Assert.Equal(ErrorIds.ConnectionNotFound, Assert.Single(_host.Errors).ErrorId);
        Assert.Empty(_host.OutputOf<SyncEvent>());
    }

    [Fact]
    public void Errors_list_the_failed_events_with_error_id_message_and_rule_line()
    {
        Private("crm", FailingRule);
        Queue(("5001", 1, "good"), ("5002", 2, "bad"));

        Commands().GetErrors(new SyncEventQuery());

        var error = Assert.Single(_host.OutputOf<SyncError>());
        Assert.Equal(("crm", "5002", ErrorIds.SyncRuleFailed, (int?)2), (error.ConnectionName, error.CaseId, error.ErrorId, error.Line));
        Assert.Contains("no bad cases", error.Message);
        Assert.Equal(Event("5002").TraceId, error.TraceId);
    }

    [Fact]
    public void Retry_after_fixing_the_rule_queues_the_event_again_with_the_same_ids()
    {
        Private("crm", FailingRule);
        Queue(("5002", 2, "bad"));
        var failed = Event("5002");

        SetRule("crm", "replica.summary = 'fixed: ' + entity.summary\n");
        Commands().Retry(new[] { failed.EventId }, passThru: true);

        Assert.Empty(_host.Errors);
        var retried = Assert.Single(_host.OutputOf<SyncEvent>());
        Assert.Equal((failed.EventId, failed.TraceId, failed.Sequence, SyncEventStatus.Queued, (string?)null), (retried.EventId, retried.TraceId, retried.Sequence, retried.Status, retried.ErrorId));
        Assert.Contains("fixed: bad", retried.Replica);
        Assert.Contains(_host.ShouldProcessCalls, c => c.Target.Contains(failed.TraceId, StringComparison.Ordinal));
    }

    [Fact]
    public void Retry_with_the_rule_still_failing_keeps_the_event_Failed_with_the_new_error_and_reports_it()
    {
        Private("crm", FailingRule);
        Queue(("5002", 2, "bad"));
        var failed = Event("5002");

        SetRule("crm", "replica.summary = entity.summary\n\nnull.boom\n");
        Commands().Retry(new[] { failed.EventId }, passThru: true);

        Assert.Equal(ErrorIds.SyncRuleFailed, Assert.Single(_host.Errors).ErrorId);
        Assert.Empty(_host.OutputOf<SyncEvent>());
        var still = Event("5002");
        Assert.Equal(SyncEventStatus.Failed, still.Status);
        Assert.Contains("at line 3", still.Error);
    }

    [Fact]
    public void Retry_refuses_an_event_that_is_not_Failed_and_an_unknown_id_and_WhatIf_changes_nothing()
    {
        Private("crm", FailingRule);
        Queue(("5001", 1, "good"), ("5002", 2, "bad"));
        SetRule("crm", "replica.summary = entity.summary\n");

        Commands().Retry(new[] { Event("5001").EventId, Guid.NewGuid() }, passThru: false);
        Assert.Equal(new[] { ErrorIds.SyncEventNotFailed, ErrorIds.SyncEventNotFound }, _host.Errors.Select(e => e.ErrorId));

        var whatIf = new RecordingHost { Proceed = false };
        Commands(whatIf).Retry(new[] { Event("5002").EventId }, passThru: false);
        Assert.Single(whatIf.ShouldProcessCalls);
        Assert.Equal(SyncEventStatus.Failed, Event("5002").Status);
    }

    [Fact]
    public void Discard_deletes_an_unsent_event_and_records_it_in_the_history_with_its_trace_id()
    {
        var crm = Private("crm", FailingRule);
        Queue(("5002", 2, "bad"));
        var failed = Event("5002");

        Commands().Discard(new[] { failed.EventId }, passThru: true);

        Assert.Empty(_host.Errors);
        Assert.Equal(failed.EventId, Assert.Single(_host.OutputOf<SyncEvent>()).EventId);
        Assert.Empty(List(new SyncEventQuery()));
        var entry = _store.Store.History(crm.Id).Last();
        Assert.Equal(LifecycleAction.DiscardSyncEvent, entry.Action);
        Assert.Contains(failed.TraceId, entry.Summary);
        Assert.Contains("case 5002 #1", entry.Summary);
    }

    [Fact]
    public void Discard_refuses_a_sent_event_and_records_nothing_and_WhatIf_keeps_the_event()
    {
        var crm = Private("crm");
        Queue(("5001", 1, "good"));
        var sent = Event("5001");
        _store.Store.Write(tx =>
        {
            SyncEventRows.MarkSent(tx, crm.Id, new[] { sent.EventId }, Start);
            return 0;
        });
        var entries = _store.Store.History(crm.Id).Count;

        Commands().Discard(new[] { sent.EventId }, passThru: false);
        Assert.Equal(ErrorIds.SyncEventInFlight, Assert.Single(_host.Errors).ErrorId);

        Queue(("5001", 2, "newer"));
        var whatIf = new RecordingHost { Proceed = false };
        Commands(whatIf).Discard(new[] { List(new SyncEventQuery { Statuses = new[] { SyncEventStatus.Queued } }).Single().EventId }, passThru: false);

        Assert.Equal(2, List(new SyncEventQuery()).Count);
        Assert.Equal(entries, _store.Store.History(crm.Id).Count);
    }

    [Fact]
    public void Get_Connection_counts_events_waiting_out_and_errors_per_private_connection_and_leaves_other_types_null()
    {
        Private("crm", FailingRule);
        Private("idle");
        Queue(("5001", 1, "good"), ("5002", 2, "bad"), ("5003", 3, "fine"));

        new ConnectionCommands(_store.Node, _host).Get(new ConnectionQuery());

        var listed = _host.OutputOf<Connection>().ToDictionary(c => c.Name);
        Assert.Equal(((int?)2, (int?)0, (int?)1, (DateTimeOffset?)null), (listed["crm"].SyncEventsOut, listed["crm"].SyncEventsIn, listed["crm"].SyncErrors, listed["crm"].LastSyncRoundAt));
        Assert.Equal(((int?)3, (int?)0), (listed["idle"].SyncEventsOut, listed["idle"].SyncErrors));
        Assert.Null(listed["sf-prod"].SyncEventsOut);
        // Computed, not stored: the counts take no part in value equality.
        Assert.Equal(_store.Get("crm"), listed["crm"]);
    }
}
