using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Errors;
using ConnectionTools.Peering;
using ConnectionTools.Storage;
using ConnectionTools.Sync;
using ConnectionTools.SyncRules;
using ConnectionTools.SystemConnections;
using ConnectionTools.Testing;

namespace ConnectionTools.Node.Tests;

/// <summary>
/// Case sync between a real public node host (Kestrel on loopback) and a private store that makes every request: events cross
/// in batches both ways, each stored once, in order per case; acknowledgements let each side forget what the other holds.
/// </summary>
public sealed class SyncTransportTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private TwoNodes _nodes = null!;
    private Guid _id;
    private Connection _publicSystem = null!;
    private Connection _privateSystem = null!;

    public async Task InitializeAsync()
    {
        _nodes = await TwoNodes.StartAsync();
        _nodes.PrivateSide().Accept(_nodes.Invite("crm-eu").InvitationCode, null, null);
        _id = _nodes.Private.Get("crm-eu").Id;
        _publicSystem = Bind(_nodes.Public, "sf-public");
        _privateSystem = Bind(_nodes.Private, "sf-private");
    }

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    private Connection Bind(TestStore store, string systemName)
    {
        var system = Seeding.Add(store.Store, systemName, ConnectionType.SalesforceProduction, ConnectionStatus.Active, InactiveReason.Revoked, "tester");
        Seeding.Bind(store.Store, _id, system.Id);
        return system;
    }

    /// <summary>Cases changed in a side's org, as its retrieval job queues them, turned into outgoing events.</summary>
    private static void Changed(TestStore store, Connection system, IEnumerable<(int Case, int Version)> changes)
    {
        store.Store.Write(tx =>
        {
            JobRows.CommitPage(tx, system.Id, 0, "Case",
                changes.Select(c => ($"500{c.Case:D6}", Start.AddSeconds(c.Version), $$"""{"Id":"500{{c.Case:D6}}","CaseNumber":"{{c.Case}}","Subject":"v{{c.Version}}"}""")).ToList(),
                Start);
            return 0;
        });
        OutgoingEvents.Produce(store.Node, system);
    }

    private static IReadOnlyList<SyncEvent> Events(TestStore store, Guid id, SyncDirection direction) => store.Store.Read(db => SyncEventRows.List(db, id, direction));

    private void Round() => _nodes.PrivateSide().Sync(null, passThru: false);

    [Fact]
    public void Events_cross_both_ways_in_batches_each_stored_once_and_each_side_forgets_what_the_other_holds()
    {
        Changed(_nodes.Public, _publicSystem, Enumerable.Range(1, 1200).Select(i => (i, 1)));
        Changed(_nodes.Private, _privateSystem, Enumerable.Range(1, 700).Select(i => (i, 1)));
        var sent = Events(_nodes.Private, _id, SyncDirection.Outgoing);

        Round();

        Assert.Empty(_nodes.PrivateAdmin.Errors);
        var atPrivate = Events(_nodes.Private, _id, SyncDirection.Incoming);
        var atPublic = Events(_nodes.Public, _id, SyncDirection.Incoming);
        Assert.Equal(1200, atPrivate.Select(e => e.EventId).Distinct().Count());
        Assert.Equal(700, atPublic.Select(e => e.EventId).Distinct().Count());
        Assert.Equal("v1", (string?)JsonNode.Parse(atPrivate[0].Replica!)!["summary"]);
        // Both sides show the same event and trace ids, so two admins can talk about the same event.
        Assert.Equal(sent.Select(e => (e.EventId, e.TraceId, e.CaseId, e.Sequence)), atPublic.Select(e => (e.EventId, e.TraceId, e.CaseId, e.Sequence)));
        Assert.Empty(Events(_nodes.Private, _id, SyncDirection.Outgoing));

        // The public side's last batch is acknowledged on the next request, and a round with nothing new changes nothing.
        Round();
        Assert.Empty(Events(_nodes.Public, _id, SyncDirection.Outgoing));
        Assert.Equal(1200, Events(_nodes.Private, _id, SyncDirection.Incoming).Count);
        Assert.Equal(700, Events(_nodes.Public, _id, SyncDirection.Incoming).Count);

        // Get-Connection counts what waits on each side and shows the last round.
        var admin = new RecordingHost();
        new ConnectionCommands(_nodes.Private.Node, admin).Get(new ConnectionQuery());
        var shown = admin.OutputOf<Connection>().Single(c => c.Id == _id);
        Assert.Equal((0, 1200, 0), (shown.SyncEventsOut, shown.SyncEventsIn, shown.SyncErrors));
        Assert.NotNull(shown.LastSyncRoundAt);
    }

    [Fact]
    public void A_batch_sent_again_after_a_lost_answer_is_stored_once_and_later_changes_follow_in_order()
    {
        Changed(_nodes.Private, _privateSystem, new[] { (1, 1), (2, 1) });
        var first = Events(_nodes.Private, _id, SyncDirection.Outgoing);

        // The answer to the first request is lost: the public side stored the events, the private side still holds them as Sent.
        _nodes.Private.Store.Write(tx =>
        {
            SyncEventRows.MarkSent(tx, _id, first.Select(e => e.EventId), Start);
            return 0;
        });
        var key = Key();
        var request = new SyncRequest
        {
            Status = "Active",
            Events = _nodes.Private.Store.Read(db => SyncTransportRows.Sendable(db, _id, SyncBatches.MaxEvents)),
        };
        Assert.Equal(HttpStatusCode.OK, Post(request, key).StatusCode);

        Changed(_nodes.Private, _privateSystem, new[] { (1, 2), (1, 3) });
        Round();
        Round();

        var stored = Events(_nodes.Public, _id, SyncDirection.Incoming);
        Assert.Equal(3, stored.Count);
        Assert.Equal(new[] { 1L, 2L }, stored.Where(e => e.CaseId == "500000001").Select(e => e.Sequence));
        Assert.Equal("v3", (string?)JsonNode.Parse(stored.Last(e => e.CaseId == "500000001").Replica!)!["summary"]);
        Assert.Empty(Events(_nodes.Private, _id, SyncDirection.Outgoing));
    }

    [Fact]
    public void A_case_read_again_at_the_watermark_is_not_sent_again_and_its_next_change_is()
    {
        Changed(_nodes.Private, _privateSystem, new[] { (1, 1) });
        Round();
        Round();
        Assert.Empty(Events(_nodes.Private, _id, SyncDirection.Outgoing));

        // Retrieval reads from its watermark inclusively, so the newest case it queued comes again, unchanged.
        Changed(_nodes.Private, _privateSystem, new[] { (1, 1) });
        Assert.Empty(Events(_nodes.Private, _id, SyncDirection.Outgoing));

        Changed(_nodes.Private, _privateSystem, new[] { (1, 2) });
        Assert.Equal(2, Assert.Single(Events(_nodes.Private, _id, SyncDirection.Outgoing)).Sequence);
    }

    [Fact]
    public void While_either_side_is_paused_nothing_crosses_and_resume_delivers_in_order()
    {
        new ConnectionCommands(_nodes.Public.Node, _nodes.PublicAdmin).Suspend(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);
        Changed(_nodes.Private, _privateSystem, new[] { (1, 1), (2, 1) });
        Changed(_nodes.Public, _publicSystem, new[] { (3, 1) });

        Round();

        Assert.Empty(Events(_nodes.Public, _id, SyncDirection.Incoming));
        Assert.Empty(Events(_nodes.Private, _id, SyncDirection.Incoming));
        Changed(_nodes.Private, _privateSystem, new[] { (1, 2) });

        new ConnectionCommands(_nodes.Public.Node, _nodes.PublicAdmin).Resume(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);
        Round();

        var stored = Events(_nodes.Public, _id, SyncDirection.Incoming);
        Assert.Equal(new[] { "500000001", "500000002" }, stored.Select(e => e.CaseId).Order());
        Assert.Equal("v2", (string?)JsonNode.Parse(stored.Single(e => e.CaseId == "500000001").Replica!)!["summary"]);
        Assert.Single(Events(_nodes.Private, _id, SyncDirection.Incoming));
    }

    [Fact]
    public void Incoming_events_are_held_while_the_bound_system_is_Inactive_and_reauthorization_releases_them_in_order()
    {
        Changed(_nodes.Public, _publicSystem, new[] { (1, 1), (2, 1) });
        Round();
        var inactive = SystemConnectionLifecycle.Deactivate(_nodes.Private.Node, _privateSystem, InactiveReason.Expired, "invalid_grant");

        // Those already waiting are held, and so is what arrives while the system stays Inactive.
        Changed(_nodes.Public, _publicSystem, new[] { (1, 2), (3, 1) });
        Round();
        var held = Events(_nodes.Private, _id, SyncDirection.Incoming);
        Assert.Equal(4, held.Count);
        Assert.All(held, e => Assert.Equal(SyncEventStatus.Held, e.Status));
        Assert.Equal(held.Count, _nodes.Private.Store.Read(db => SyncEventRows.Query(db, null, SyncDirection.Incoming, null, new[] { SyncEventStatus.Held }, null, null)).Count);

        var grant = new GrantMaterial { Flow = AuthorizationFlow.Interactive, RefreshToken = "refresh" };
        GrantVault.SaveReauthorization(_nodes.Private.Node, inactive, new AuthorizationOutcome("00D000000000001AAA", "admin@example.com", grant, "access"), AuthorizationFlow.Interactive);

        var released = Events(_nodes.Private, _id, SyncDirection.Incoming);
        Assert.All(released, e => Assert.Equal(SyncEventStatus.Queued, e.Status));
        Assert.Equal(new[] { ("500000001", 1L), ("500000001", 2L), ("500000002", 1L), ("500000003", 1L) }, released.Select(e => (e.CaseId, e.Sequence)).Order());
        Assert.Equal(new[] { 1L, 2L }, released.Where(e => e.CaseId == "500000001").Select(e => e.Sequence)); // listed in the order they were queued
    }

    [Fact]
    public void Rebinding_to_an_Inactive_system_holds_incoming_events_and_to_an_Active_one_releases_them()
    {
        Changed(_nodes.Public, _publicSystem, new[] { (1, 1) });
        Round();
        var inactive = Seeding.Add(_nodes.Private.Store, "sf-expired", ConnectionType.SalesforceProduction, ConnectionStatus.Inactive, InactiveReason.Expired, "tester");
        var admin = new ConnectionCommands(_nodes.Private.Node, _nodes.PrivateAdmin);
        admin.Suspend(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);

        admin.Set(new[] { ConnectionTarget.ByName("crm-eu") }, new ConnectionEdit { System = "sf-expired" }, passThru: false);
        Assert.Equal(SyncEventStatus.Held, Events(_nodes.Private, _id, SyncDirection.Incoming).Single().Status);

        admin.Set(new[] { ConnectionTarget.ByName("crm-eu") }, new ConnectionEdit { System = "sf-private" }, passThru: false);
        Assert.Equal(SyncEventStatus.Queued, Events(_nodes.Private, _id, SyncDirection.Incoming).Single().Status);
        Assert.Empty(_nodes.PrivateAdmin.Errors);
        Assert.NotEqual(inactive.Id, _nodes.Private.Get("crm-eu").SystemConnectionId);
    }

    [Theory]
    [InlineData("not-a-guid", "t", "c", 1, "{}", HttpStatusCode.BadRequest, "ConnectionTools.Sync.MalformedBatch")]
    [InlineData(null, "", "c", 1, "{}", HttpStatusCode.BadRequest, "ConnectionTools.Sync.MalformedBatch")]
    [InlineData(null, "t", "c", 0, "{}", HttpStatusCode.BadRequest, "ConnectionTools.Sync.MalformedBatch")]
    [InlineData(null, "t", "c", 1, "[1]", HttpStatusCode.BadRequest, "ConnectionTools.Sync.MalformedBatch")]
    [InlineData(null, "t", "c", 1, "{\"a\":", HttpStatusCode.BadRequest, "ConnectionTools.Sync.MalformedBatch")]
    public async Task A_batch_with_a_malformed_event_is_refused_whole_and_nothing_of_it_is_stored(string? eventId, string trace, string caseId, long sequence, string replica, HttpStatusCode status, string errorId)
    {
        var good = new SyncEventMessage { EventId = Guid.NewGuid().ToString("D"), TraceId = "t1", CaseId = "c1", Sequence = 1, Replica = "{}" };
        var bad = new SyncEventMessage { EventId = eventId ?? Guid.NewGuid().ToString("D"), TraceId = trace, CaseId = caseId, Sequence = sequence, Replica = replica };

        var response = Post(new SyncRequest { Status = "Active", Events = { good, bad } }, Key());

        Assert.Equal(status, response.StatusCode);
        Assert.Contains(errorId, await response.Content.ReadAsStringAsync());
        Assert.Empty(Events(_nodes.Public, _id, SyncDirection.Incoming));
    }

    [Fact]
    public async Task An_event_s_field_versions_are_stored_for_the_merge_and_versions_that_are_not_a_JSON_object_are_refused_whole()
    {
        SyncEventMessage Event(string caseId, string? versions) =>
            new() { EventId = Guid.NewGuid().ToString("D"), TraceId = "t", CaseId = caseId, Sequence = 1, Replica = "{}", Versions = versions };

        var refused = Post(new SyncRequest { Status = "Active", Events = { Event("c1", null), Event("c2", "[1]") } }, Key());
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("the field versions of event", await refused.Content.ReadAsStringAsync());
        Assert.Empty(Events(_nodes.Public, _id, SyncDirection.Incoming));

        Assert.Equal(HttpStatusCode.OK, Post(new SyncRequest { Status = "Active", Events = { Event("c1", null), Event("c2", """{"description":[1,0,5,1]}""") } }, Key()).StatusCode);
        var stored = _nodes.Public.Store.Read(db => SyncEventRows.NextToApply(db, _id, 10));
        Assert.Equal(new[] { ("c1", (string?)null), ("c2", """{"description":[1,0,5,1]}""") }, stored.Select(e => (e.CaseId, e.PartnerVersions)).OrderBy(e => e.CaseId));
    }

    [Fact]
    public async Task A_new_event_that_does_not_come_after_its_case_last_one_is_refused_whole_and_nothing_of_it_is_stored()
    {
        SyncEventMessage Event(string caseId, long sequence) =>
            new() { EventId = Guid.NewGuid().ToString("D"), TraceId = "t" + sequence, CaseId = caseId, Sequence = sequence, Replica = "{}" };
        var first = Event("c1", 2);
        Assert.Equal(HttpStatusCode.OK, Post(new SyncRequest { Status = "Active", Events = { first } }, Key()).StatusCode);

        // The same event again is a repeat (ignored); a new event at or below sequence 2 of c1 was never made by the partner's rules.
        foreach (var stale in new[] { 2L, 1L })
        {
            var response = Post(new SyncRequest { Status = "Active", Events = { first, Event("c2", 1), Event("c1", stale) } }, Key());

            Assert.Equal((HttpStatusCode)422, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Contains(ErrorIds.SyncUnexpectedEvent, body);
            Assert.Contains("case c1 with sequence number " + stale, body);
            Assert.Equal(new[] { first.EventId }, Events(_nodes.Public, _id, SyncDirection.Incoming).Select(e => e.EventId.ToString("D")));
        }

        var next = Post(new SyncRequest { Status = "Active", Events = { first, Event("c2", 1), Event("c1", 3) } }, Key());
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(new[] { ("c1", 2L), ("c1", 3L), ("c2", 1L) }, Events(_nodes.Public, _id, SyncDirection.Incoming).Select(e => (e.CaseId, e.Sequence)).Order());
    }

    [Fact]
    public async Task An_oversized_batch_is_refused_whole_with_its_own_status()
    {
        var events = Enumerable.Range(0, SyncBatches.MaxEvents + 1)
            .Select(i => new SyncEventMessage { EventId = Guid.NewGuid().ToString("D"), TraceId = "t", CaseId = "c" + i, Sequence = 1, Replica = "{}" }).ToList();

        var response = Post(new SyncRequest { Status = "Active", Events = events }, Key());

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains(ErrorIds.SyncBatchTooLarge, await response.Content.ReadAsStringAsync());
        Assert.Empty(Events(_nodes.Public, _id, SyncDirection.Incoming));
    }

    private byte[] Key() => _nodes.Private.Node.Secrets.Unprotect(_nodes.Private.Store.Read(db => PeerRows.FindKey(db, _id))!);

    private HttpResponseMessage Post(SyncRequest request, byte[] key)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, new Uri(_nodes.Url, PeerPaths.Sync(_id).TrimStart('/')))
        {
            Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(request, new System.Text.Json.JsonSerializerOptions { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase }), Encoding.UTF8, "application/json"),
        };
        var publicNodeId = _nodes.Public.Store.NodeId;
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PeerToken.Create(key, _nodes.Private.Store.NodeId, publicNodeId, _id, DateTimeOffset.UtcNow));
        return ConnectionTools.Http.SharedHttp.Client.Send(message);
    }
}
