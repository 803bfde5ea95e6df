using System.Text.Json.Nodes;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;
using ConnectionTools.Sync;
using ConnectionTools.SyncRules;
using ConnectionTools.Testing;

namespace ConnectionTools.Core.Tests;

/// <summary>
/// Cases a retrieval job queued become outgoing sync events for each private connection bound to the system: through the
/// connection's outgoing rule, ordered per case, and a newer change of a case not sent yet replaces the older one.
/// </summary>
public sealed class OutgoingEventsTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly TestStore _store = new();
    private readonly RecordingHost _host = new();
    private readonly Connection _system;

    public OutgoingEventsTests()
    {
        new NodeCommands(_store.Node, _host).SetPublicUrl("https://node.contoso.example/", passThru: false);
        _system = Seeding.Add(_store.Store, "sf-prod", ConnectionType.SalesforceProduction, ConnectionStatus.Active, InactiveReason.Revoked, "tester");
    }

    public void Dispose() => _store.Dispose();

    private Connection Private(string name, bool bound = true)
    {
        new InvitationCommands(_store.Node, _host).New(new NewPrivateConnectionRequest { Name = name, LocalInstanceName = "contoso" });
        var connection = _store.Get(name);
        return bound ? Seeding.Bind(_store.Store, connection.Id, _system.Id) : connection;
    }

    /// <summary>What a Salesforce retrieval job queues: the Case as the API returned it.</summary>
    private void Retrieved(params (string Id, int Minute, string Subject)[] cases) => _store.Store.Write(tx =>
    {
        JobRows.CommitPage(tx, _system.Id, 0, "Case",
            cases.Select(c => (c.Id, Start.AddMinutes(c.Minute), $$"""{"Id":"{{c.Id}}","CaseNumber":"0000{{c.Id[^1]}}","Subject":"{{c.Subject}}","Status":"New","Priority":"High","Description":"d"}""")).ToList(),
            Start);
        return 0;
    });

    private IReadOnlyList<SyncEvent> Events(Connection connection) => _store.Store.Read(db => SyncEventRows.List(db, connection.Id, SyncDirection.Outgoing));

    private int Produce() => OutgoingEvents.Produce(_store.Node, _system);

    private static string? Summary(SyncEvent e) => (string?)JsonNode.Parse(e.Replica!)!["summary"];

    [Fact]
    public void Each_queued_case_becomes_an_event_with_the_replica_the_Basic_rule_makes_and_leaves_the_retrieval_queue()
    {
        var crm = Private("crm");
        Retrieved(("5001", 1, "Printer jams"), ("5002", 2, "VPN down"));

        Assert.Equal(2, Produce());

        var events = Events(crm);
        Assert.Equal(new[] { "5001", "5002" }, events.Select(e => e.CaseId));
        Assert.All(events, e => Assert.Equal((SyncEventStatus.Queued, 1L), (e.Status, e.Sequence)));
        Assert.Equal(new[] { "Printer jams", "VPN down" }, events.Select(Summary));
        Assert.Equal(new[] { "key", "summary", "description", "status", "priority", "comments" }, JsonNode.Parse(events[0].Replica!)!.AsObject().Select(p => p.Key));
        Assert.Equal(2, events.Select(e => e.TraceId).Distinct().Count());
        Assert.Equal(0L, _store.Store.Read(db => JobRows.QueueCount(db, _system.Id)));
        Assert.Equal(0, Produce());
    }

    [Fact]
    public void A_case_without_a_twin_waits_in_the_queue_while_an_apply_of_partner_cases_is_unfinished()
    {
        var crm = Private("crm");
        // A partner's event waits to be applied, and an apply holds the claim (running elsewhere, or its process died after
        // writing into the system): the case read now may be one it wrote, whose twin is not stored yet.
        _store.Store.Write(tx =>
        {
            SyncTransportRows.Receive(tx, crm.Id, new SyncEventMessage { EventId = Guid.NewGuid().ToString("D"), TraceId = "t", CaseId = "P1", Sequence = 1, Replica = "{}" }, Start, "the partner");
            SyncTwinRows.ClaimCases(tx, crm.Id, new[] { "P1" }, "12345:gone", Start, TimeSpan.FromMinutes(5));
            return 0;
        });
        Retrieved(("5001", 1, "Printer jams"));

        Assert.Equal(0, Produce());
        Assert.Empty(Events(crm));
        Assert.Equal(1L, _store.Store.Read(db => JobRows.QueueCount(db, _system.Id)));

        // The apply is done: the case is no partner's, and goes.
        _store.Store.Write(tx =>
        {
            SyncTwinRows.ReleaseCases(tx, crm.Id, "12345:gone");
            return 0;
        });
        Assert.Equal(1, Produce());
        Assert.Equal(new[] { "5001" }, Events(crm).Select(e => e.CaseId));
        Assert.Equal(0L, _store.Store.Read(db => JobRows.QueueCount(db, _system.Id)));
    }

    [Fact]
    public void A_newer_change_replaces_an_unsent_event_and_follows_a_sent_one_with_the_next_sequence_number()
    {
        var crm = Private("crm");
        Retrieved(("5001", 1, "first"));
        Produce();
        var first = Assert.Single(Events(crm));

        Retrieved(("5001", 2, "second"));
        Produce();
        var replaced = Assert.Single(Events(crm));
        Assert.Equal((first.EventId, 1L, "second"), (replaced.EventId, replaced.Sequence, Summary(replaced)));

        _store.Store.Write(tx =>
        {
            SyncEventRows.MarkSent(tx, crm.Id, new[] { first.EventId }, Start);
            return 0;
        });
        Retrieved(("5001", 3, "third"));
        Produce();
        var events = Events(crm);
        Assert.Equal(new (long, SyncEventStatus, string?)[] { (1L, SyncEventStatus.Sent, "second"), (2L, SyncEventStatus.Queued, "third") }, events.Select(e => (e.Sequence, e.Status, Summary(e))));
        Assert.NotEqual(events[0].EventId, events[1].EventId);
    }

    [Fact]
    public void Every_bound_connection_gets_its_own_events_paused_ones_too_and_unbound_ones_none()
    {
        var crm = Private("crm");
        var paused = Private("paused");
        new ConnectionCommands(_store.Node, _host).Suspend(new[] { ConnectionTarget.ByName("paused") }, passThru: false);
        var unbound = Private("unbound", bound: false);
        Retrieved(("5001", 1, "Printer jams"));

        Assert.Equal(2, Produce());

        Assert.Single(Events(crm));
        Assert.Single(Events(paused));
        Assert.Empty(Events(unbound));
    }

    [Fact]
    public void With_no_connection_bound_the_cases_stay_queued_for_the_first_one()
    {
        Private("unbound", bound: false);
        Retrieved(("5001", 1, "Printer jams"));

        Assert.Equal(0, Produce());

        Assert.Equal(1L, _store.Store.Read(db => JobRows.QueueCount(db, _system.Id)));
    }

    [Fact]
    public void A_rule_that_throws_for_one_case_fails_only_that_case_with_the_rule_line()
    {
        var crm = Private("crm");
        new ConnectionCommands(_store.Node, _host).Set(new[] { ConnectionTarget.ByName("crm") }, new ConnectionEdit { Mode = "Script" }, passThru: false);
        new SyncRuleCommands(_store.Node, _host).Set(new[] { ConnectionTarget.ByName("crm") }, SyncDirection.Outgoing,
            "replica.summary = entity.summary\nif (entity.summary === 'bad') { throw new Error('no bad cases') }\n", passThru: false);
        Assert.Empty(_host.Errors);
        Retrieved(("5001", 1, "good"), ("5002", 2, "bad"), ("5003", 3, "fine"));

        Produce();

        var events = Events(crm).ToDictionary(e => e.CaseId);
        Assert.Equal(SyncEventStatus.Queued, events["5001"].Status);
        Assert.Equal(SyncEventStatus.Queued, events["5003"].Status);
        var failed = events["5002"];
        Assert.Equal((SyncEventStatus.Failed, ErrorIds.SyncRuleFailed), (failed.Status, failed.ErrorId));
        Assert.Contains("for case 5002 at line 2", failed.Error);
        Assert.Null(failed.Replica);

        // Fixed rule, newer change of the case: the unsent failed event is replaced and flows.
        new SyncRuleCommands(_store.Node, _host).Set(new[] { ConnectionTarget.ByName("crm") }, SyncDirection.Outgoing, "replica.summary = entity.summary\n", passThru: false);
        Retrieved(("5002", 4, "bad"));
        Produce();
        var retried = Events(crm).Single(e => e.CaseId == "5002");
        Assert.Equal((failed.EventId, SyncEventStatus.Queued, (string?)null, "bad"), (retried.EventId, retried.Status, retried.ErrorId, Summary(retried)));
    }

    [Fact]
    public void Removing_a_connection_drops_its_queued_events_and_keeps_its_history()
    {
        var crm = Private("crm");
        var other = Private("other");
        Retrieved(("5001", 1, "Printer jams"), ("5002", 2, "VPN down"));
        Produce();
        var history = _store.Store.AuditCount();

        new ConnectionCommands(_store.Node, _host).Remove(new[] { ConnectionTarget.ByName("crm") }, passThru: false);

        Assert.Empty(Events(crm));
        Assert.Equal(2, Events(other).Count);
        Assert.Contains(_host.Verbose, v => v.Contains("Dropped 2 queued sync event(s) of 'crm'", StringComparison.Ordinal));
        Assert.Equal(history + 1, _store.Store.AuditCount());
    }
}
