using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;
using ConnectionTools.Nodes;
using ConnectionTools.Core.Tests;
using ConnectionTools.Jobs;
using ConnectionTools.Peering;
using ConnectionTools.Storage;
using ConnectionTools.Sync;
using ConnectionTools.Sync.Apply;
using ConnectionTools.SyncRules;
using ConnectionTools.SystemConnections;
using ConnectionTools.Testing;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// Case sync, part 2: a private connection's incoming events land in its bound Salesforce org (the emulator, reached by its My
/// Domain host with a real grant), through the incoming rule, keyed by the partner's case id; twins; no echo of the node's own
/// writes; refusals that wait behind the case and a retry that delivers.
/// </summary>
public sealed class IncomingApplyTests : IAsyncLifetime
{
    private BoundSalesforce _bound = null!;
    private Connection _partner = null!;
    private readonly List<string> _verbose = new();

    public async Task InitializeAsync()
    {
        _bound = await BoundSalesforce.StartAsync();
        _partner = _bound.Bind("partner");
    }

    public async Task DisposeAsync() => await _bound.DisposeAsync();

    private TestStore Store => _bound.Store;

    private Connection SystemConnection => _bound.System;

    private SalesforceOrg Org => _bound.Org;

    private SalesforceEmulator Emulator => Org.Emulator;

    private void Receive(string caseId, long sequence, string summary, string? description = null, params string[] comments) =>
        Receive(caseId, sequence, summary, description, comments, twinCaseId: null);

    private void Receive(string caseId, long sequence, string summary, string? description, string[] comments, string? twinCaseId, string priority = "High", DateTimeOffset? changedAt = null, string? versions = null) => Store.Store.Write(tx =>
    {
        var thread = new JsonArray(comments.Select(c => (JsonNode)new JsonObject { ["author"] = "Partner Agent", ["body"] = c }).ToArray());
        var replica = new JsonObject { ["key"] = "P-" + caseId, ["summary"] = summary, ["description"] = description, ["priority"] = priority, ["comments"] = thread };
        SyncTransportRows.Receive(tx, _partner.Id, new SyncEventMessage
        {
            EventId = Guid.NewGuid().ToString("D"),
            TraceId = "trace-" + caseId + "-" + sequence,
            CaseId = caseId,
            Sequence = sequence,
            Replica = replica.ToJsonString(),
            TwinCaseId = twinCaseId,
            ChangedAt = changedAt?.ToUnixTimeMilliseconds(),
            Versions = versions,
        }, DateTimeOffset.UtcNow, "the test");
        return 0;
    });

    private ApplyResult Apply() =>
        IncomingApply.RunAsync(Store.Node, _partner, access => CaseWriters.For(Store.Node, access), _verbose.Add, CancellationToken.None).GetAwaiter().GetResult();

    private IReadOnlyList<SyncEvent> Incoming() => Store.Store.Read(db => SyncEventRows.List(db, _partner.Id, SyncDirection.Incoming));

    private IReadOnlyList<SyncEvent> Outgoing() => Store.Store.Read(db => SyncEventRows.List(db, _partner.Id, SyncDirection.Outgoing));

    private string Field(string caseId, string field) => Emulator.CaseFieldValue(caseId, field)!;

    /// <summary>When the org last changed the case (the emulator's clock runs ahead of the wall clock when its cases lie in the future).</summary>
    private DateTimeOffset ChangedAt(string caseId) => DateTimeOffset.Parse(Field(caseId, "SystemModstamp"), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void The_first_event_of_a_partner_case_creates_a_case_and_later_ones_update_that_same_case()
    {
        Receive("P1", 1, "Printer jams", "first");
        Receive("P2", 1, "VPN down");

        var first = Apply();

        Assert.Equal((2, 0), (first.Applied, first.Failed));
        var local = Emulator.FindCaseByExternalId("P1");
        Assert.NotNull(local);
        Assert.Equal(("Printer jams", "first", "High"), (Field(local!, "Subject"), Field(local!, "Description"), Field(local!, "Priority")));
        Assert.Empty(Incoming());

        // The Basic incoming rule takes the summary on the first sync only; the description follows every change.
        Receive("P1", 2, "Printer jams again", "second");
        Assert.Equal(1, Apply().Applied);
        Assert.Equal(local, Emulator.FindCaseByExternalId("P1"));
        Assert.Equal(("Printer jams", "second"), (Field(local!, "Subject"), Field(local!, "Description")));
        var twin = Store.Store.Read(db => SyncTwinRows.FindByPartner(db, _partner.Id, "P1"));
        Assert.Equal(local, twin!.LocalCaseId);
        Assert.Equal(2, Store.Store.Read(db => SyncTwinRows.Count(db, _partner.Id)));
    }

    [Fact]
    public async Task A_write_repeated_after_a_crash_before_the_commit_updates_the_same_case()
    {
        Receive("P1", 1, "Printer jams", "first");

        // The previous pass wrote the case, then the process died before the store recorded it: the event is still Queued.
        var access = await SystemAccess.OpenAsync(Store.Node, SystemConnection, _ => { }, _ => { }, CancellationToken.None);
        var written = await CaseWriters.For(Store.Node, access).WriteAsync(
            new[] { new CaseWrite("P1", new Dictionary<string, string?> { ["summary"] = "Printer jams", ["description"] = "first" }) }, CancellationToken.None);
        var local = written.Single().LocalCaseId;

        Assert.Equal(1, Apply().Applied);

        Assert.Equal(local, Emulator.FindCaseByExternalId("P1"));
        Assert.Equal(local, Store.Store.Read(db => SyncTwinRows.FindByPartner(db, _partner.Id, "P1"))!.LocalCaseId);
    }

    [Fact]
    public async Task The_node_s_own_write_coming_back_through_retrieval_is_not_sent_and_a_person_s_later_change_is()
    {
        Receive("P1", 1, "Printer jams", "first");
        Apply();
        var local = Emulator.FindCaseByExternalId("P1")!;

        await RetrieveAsync();
        Assert.DoesNotContain(Outgoing(), e => e.CaseId == local);
        Assert.Contains(_verbose, v => v.Contains("own writes of partner cases coming back", StringComparison.Ordinal));

        await PersonChangesAsync(local, "Printer on floor 3 jams");
        await RetrieveAsync();

        var sent = Assert.Single(Outgoing(), e => e.CaseId == local);
        Assert.Equal("Printer on floor 3 jams", (string?)JsonNode.Parse(sent.Replica!)!["summary"]);

        // The partner is told which of its cases this is, so it updates that case instead of creating one.
        var message = Assert.Single(Store.Store.Read(db => SyncTransportRows.Sendable(db, _partner.Id, 500)), m => m.CaseId == local);
        Assert.Equal("P1", message.TwinCaseId);
    }

    [Fact]
    public async Task A_partner_case_made_from_one_of_ours_updates_our_case_and_creates_none()
    {
        // One of this org's own cases went to the partner, which made its case P9 from it; P9's changes now come back.
        Emulator.AddCases(1, DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromSeconds(1));
        await RetrieveAsync();
        var ours = Assert.Single(Outgoing()).CaseId;
        var casesBefore = Emulator.CaseCount;

        // The partner counts, per field, its own changes first: it changed the description after taking ours.
        Receive("P9", 1, "The partner's summary", "changed at the partner", Array.Empty<string>(), twinCaseId: ours,
            versions: $$"""{"summary":[0,1,1,0],"description":[1,1,{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},1]}""");
        Assert.Equal(1, Apply().Applied);

        Assert.Equal(casesBefore, Emulator.CaseCount);
        Assert.Equal(ours, Emulator.FindCaseByExternalId("P9"));
        Assert.Equal("changed at the partner", Field(ours, "Description"));
        Assert.NotEqual("The partner's summary", Field(ours, "Subject")); // the creator side keeps the summary (Basic rules)
        Assert.Equal(ours, Store.Store.Read(db => SyncTwinRows.FindByPartner(db, _partner.Id, "P9"))!.LocalCaseId);

        // Later events of P9 find our case by its key.
        Receive("P9", 2, "The partner's summary", "changed again", Array.Empty<string>(), twinCaseId: null,
            versions: $$"""{"summary":[0,1,1,0],"description":[2,1,{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},1]}""");
        Assert.Equal(1, Apply().Applied);
        Assert.Equal(casesBefore, Emulator.CaseCount);
        Assert.Equal("changed again", Field(ours, "Description"));
    }

    [Fact]
    public async Task The_partner_s_first_event_about_its_copy_of_our_case_keeps_what_we_changed_since_and_takes_what_it_changed()
    {
        Emulator.AddCases(1, DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromSeconds(1));
        await RetrieveAsync();
        var ours = Assert.Single(Outgoing()).CaseId;
        var sent = Field(ours, "Priority");
        var since = sent == "Low" ? "High" : "Low";
        await PersonChangesAsync(ours, "Priority", since);
        await RetrieveAsync();

        // The partner made its copy from our first version (it has not seen our priority change) and changed the description.
        Receive("P9", 1, "The partner's summary", "changed at the partner", Array.Empty<string>(), twinCaseId: ours, priority: sent,
            versions: $$"""{"summary":[0,1,1,0],"description":[1,1,{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}},1],"priority":[0,1,1,0]}""");
        Assert.Equal(1, Apply().Applied);

        Assert.Equal(("changed at the partner", since), (Field(ours, "Description"), Field(ours, "Priority")));
        var twin = Store.Store.Read(db => SyncTwinRows.FindByPartner(db, _partner.Id, "P9"))!;
        Assert.Equal((2L, 0L), (FieldVersions.Parse(twin.Versions)["priority"].Ours, FieldVersions.Parse(twin.Versions)["priority"].Theirs));
        Assert.Null(Store.Store.Read(db => SyncTwinRows.FindOwn(db, _partner.Id, ours))); // the twin took over
    }

    [Fact]
    public void A_write_the_system_refuses_fails_that_case_only_its_later_events_wait_and_a_retry_delivers_them()
    {
        Emulator.RejectedField = "Description";
        Receive("P1", 1, "Printer jams", "first");
        Receive("P1", 2, "Printer jams", "second");
        Receive("P2", 1, "VPN down");

        var result = Apply();

        Assert.Equal((1, 1), (result.Applied, result.Failed));
        var failed = Assert.Single(Incoming(), e => e.Status == SyncEventStatus.Failed);
        Assert.Equal(("P1", 1L), (failed.CaseId, failed.Sequence));
        Assert.StartsWith("ConnectionTools.SyncApply.", failed.ErrorId, StringComparison.Ordinal);
        Assert.Contains("Description", failed.Error, StringComparison.Ordinal);
        Assert.Contains(Incoming(), e => e.CaseId == "P1" && e.Sequence == 2 && e.Status == SyncEventStatus.Queued);
        Assert.Equal(0, Apply().Applied); // the case's later event waits behind the failed one

        Emulator.RejectedField = null;
        new SyncEventCommands(Store.Node, new RecordingHost()).Retry(new[] { failed.EventId }, passThru: false);
        Assert.Equal(1, Apply().Applied);
        Assert.Equal(1, Apply().Applied);
        Assert.Empty(Incoming());
        Assert.Equal("second", Field(Emulator.FindCaseByExternalId("P1")!, "Description"));
    }

    [Fact]
    public void Comments_are_appended_once_and_a_refused_comment_does_not_bring_back_those_already_added()
    {
        Receive("P1", 1, "Printer jams", null, "Drum replaced");
        Apply();
        var local = Emulator.FindCaseByExternalId("P1")!;
        Assert.Equal(new[] { "Partner Agent: Drum replaced" }, Emulator.CommentBodies(local));

        // The partner's thread grows by two; the second is longer than a CaseComment may be.
        Receive("P1", 2, "Printer jams", null, "Drum replaced", "Watching it", new string('x', 4_001));
        var result = Apply();

        Assert.Equal(1, result.Failed);
        var failed = Assert.Single(Incoming());
        Assert.Equal(ConnectionTools.Errors.ErrorIds.SyncApplyCommentFailed, failed.ErrorId);
        Assert.Equal(new[] { "Partner Agent: Drum replaced", "Partner Agent: Watching it" }, Emulator.CommentBodies(local));

        // A retry runs the rule again: the comment already added is not added twice (the long one is refused again).
        new SyncEventCommands(Store.Node, new RecordingHost()).Retry(new[] { failed.EventId }, passThru: false);
        Assert.Equal(1, Apply().Failed);
        Assert.Equal(2, Emulator.CommentBodies(local).Count);
    }

    [Fact]
    public async Task A_field_changed_on_both_sides_takes_the_later_change_and_one_changed_on_one_side_takes_that_change()
    {
        Receive("P1", 1, "Printer jams", "first");
        Apply();
        var local = Emulator.FindCaseByExternalId("P1")!;
        await RetrieveAsync();

        // Someone here changes the description; the partner's next change touches only the priority, and is older.
        await PersonChangesAsync(local, "Description", "ours");
        await RetrieveAsync();
        Receive("P1", 2, "Printer jams", "first", Array.Empty<string>(), null, priority: "Low", changedAt: ChangedAt(local).AddMinutes(-1));
        Assert.Equal(1, Apply().Applied);
        Assert.Equal(("ours", "Low"), (Field(local, "Description"), Field(local, "Priority")));

        // Both sides changed the description: the older change loses, here and (the same rule) at the partner.
        Receive("P1", 3, "Printer jams", "theirs, older", Array.Empty<string>(), null, priority: "Low", changedAt: ChangedAt(local).AddMinutes(-1));
        Assert.Equal(1, Apply().Applied);
        Assert.Equal("ours", Field(local, "Description"));

        await PersonChangesAsync(local, "Description", "ours again");
        await RetrieveAsync();
        Receive("P1", 4, "Printer jams", "theirs, newer", Array.Empty<string>(), null, priority: "Low", changedAt: ChangedAt(local).AddMinutes(1));
        Assert.Equal(1, Apply().Applied);
        Assert.Equal("theirs, newer", Field(local, "Description"));
    }

    [Fact]
    public void The_merge_decides_alike_on_both_sides()
    {
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();

        foreach (var (atA, atB) in new[] { (100L, 200L), (200L, 100L), (150L, 150L) })
        {
            // Side A made the case and changed a field to "x" at atA; side B changed it to "y" at atB; neither saw the other's change.
            var mineAtA = new FieldVersion(1, 0, atA, byUs: true);
            var mineAtB = new FieldVersion(1, 0, atB, byUs: true);
            string Outcome(string field)
            {
                var decidedAtA = FieldVersions.Decide(field, mineAtA, mineAtB.Flipped, weMadeTheCase: true, a, b);
                var decidedAtB = FieldVersions.Decide(field, mineAtB, mineAtA.Flipped, weMadeTheCase: false, b, a);
                var valueAtA = decidedAtA.PartnerWins ? "y" : "x";
                var valueAtB = decidedAtB.PartnerWins ? "x" : "y";
                Assert.Equal(valueAtA, valueAtB);
                Assert.Equal(decidedAtA.Merged.Flipped.Ours, decidedAtB.Merged.Ours); // both have seen both changes
                Assert.Equal((1L, 1L), (decidedAtA.Merged.Ours, decidedAtA.Merged.Theirs));
                return valueAtA;
            }

            Assert.Equal(atA == atB ? (string.CompareOrdinal(a.ToString("N"), b.ToString("N")) > 0 ? "x" : "y") : atA > atB ? "x" : "y", Outcome("description"));
            Assert.Equal("x", Outcome("summary")); // the side that made the case keeps its summary
        }

        // A change that has seen the other's wins, whatever the times.
        Assert.False(FieldVersions.Decide("description", new FieldVersion(2, 1, 100, true), new FieldVersion(1, 1, 900, false), true, a, b).PartnerWins);
        Assert.True(FieldVersions.Decide("description", new FieldVersion(1, 1, 900, true), new FieldVersion(1, 2, 100, false), true, a, b).PartnerWins);
        Assert.True(FieldVersions.Decide("summary", new FieldVersion(1, 1, 900, true), new FieldVersion(1, 2, 100, false), true, a, b).PartnerWins);
    }

    [Fact]
    public void A_partner_s_stale_value_of_a_field_never_takes_back_a_change_this_side_made_after_seeing_it()
    {
        var a = Guid.NewGuid();
        var b = Guid.NewGuid();

        // B changed the description X to Y (B counts 1 of its own) and A took it; A's write came back to A as an echo and was
        // never sent. Then A changed it to Z, and B changed another field later: B's event still holds Y, at B's version.
        var atA = new FieldVersion(1, 1, 300, byUs: true);
        var atB = new FieldVersion(1, 0, 100, byUs: true);
        Assert.False(FieldVersions.Decide("description", atA, atB.Flipped, weMadeTheCase: true, a, b).PartnerWins); // A keeps Z
        Assert.True(FieldVersions.Decide("description", atB, atA.Flipped, weMadeTheCase: false, b, a).PartnerWins); // B takes Z

        // B sets it back to X after A took Y (a value both held before): a change that has seen A's, so A takes it.
        var backAtB = new FieldVersion(2, 0, 400, byUs: true);
        var tookY = new FieldVersion(0, 1, 100, byUs: false);
        Assert.True(FieldVersions.Decide("description", tookY, backAtB.Flipped, weMadeTheCase: true, a, b).PartnerWins);
    }

    [Fact]
    public void Field_versions_round_trip_and_a_malformed_entry_counts_as_no_change()
    {
        var versions = FieldVersions.Parse("""{"summary":[2,1,1700000000000,1],"status":[1,"x",0,0],"priority":[1,2]}""");
        Assert.Equal(new FieldVersion(2, 1, 1700000000000, true), versions["summary"]);
        Assert.Equal(default, versions["status"]);
        Assert.Equal(default, versions["priority"]);
        Assert.Equal("""{"summary":[1,2,1700000000000,0]}""", versions.Flipped().ToJson());
        Assert.Equal(default, FieldVersions.Parse("[1]")["summary"]);
    }

    [Fact]
    public async Task Two_processes_on_one_store_never_apply_the_same_events_twice()
    {
        Receive("P1", 1, "Printer jams", null, "Drum replaced", "Watching it");
        Emulator.WriteDelay = TimeSpan.FromSeconds(1);
        using var other = ConnectionNode.Open(Store.Node.Location, null, "tester", Org.NodeClients());

        // The second starts while the first holds the claim and writes its batch (the org answers after a second).
        var first = Task.Run(() => IncomingApply.RunAsync(Store.Node, _partner, access => CaseWriters.For(Store.Node, access), _ => { }, CancellationToken.None));
        while (Store.Store.Read(db => db.Scalar("SELECT COUNT(*) FROM sync_apply_claims;")) is long claims && claims == 0 && !first.IsCompleted)
        {
            await Task.Delay(10);
        }

        Assert.False(first.IsCompleted);
        var second = await IncomingApply.RunAsync(other, _partner, access => CaseWriters.For(other, access), _ => { }, CancellationToken.None);
        var applied = await first;

        Assert.Equal(1, applied.Applied);
        Assert.Equal((0, "another process is applying its incoming events"), (second.Applied, second.Skipped));
        Assert.Equal(new[] { "Partner Agent: Drum replaced", "Partner Agent: Watching it" }, Emulator.CommentBodies(Emulator.FindCaseByExternalId("P1")!));

        // The claim is let go: the next pass of either process goes on.
        Emulator.WriteDelay = TimeSpan.Zero;
        Receive("P1", 2, "Printer jams", "second");
        Assert.Equal(1, (await IncomingApply.RunAsync(other, _partner, access => CaseWriters.For(other, access), _ => { }, CancellationToken.None)).Applied);
    }

    [Fact]
    public void Nothing_is_applied_while_the_connection_is_paused_or_its_system_is_Inactive()
    {
        Receive("P1", 1, "Printer jams");
        new ConnectionCommands(Store.Node, new RecordingHost()).Suspend(new[] { ConnectionTarget.ByName("partner") }, passThru: false);

        Assert.NotNull(Apply().Skipped);
        Assert.Null(Emulator.FindCaseByExternalId("P1"));

        new ConnectionCommands(Store.Node, new RecordingHost()).Resume(new[] { ConnectionTarget.ByName("partner") }, passThru: false);
        SystemConnectionLifecycle.Deactivate(Store.Node, SystemConnection, InactiveReason.Expired, "invalid_grant");
        Assert.NotNull(Apply().Skipped);
        Assert.Equal(SyncEventStatus.Held, Incoming().Single().Status);
        Assert.Null(Emulator.FindCaseByExternalId("P1"));
    }

    private async Task RetrieveAsync()
    {
        var run = await new RetrievalRunner(Store.Node).RunAsync(Store.Get("sf"), JobTrigger.Manual, _verbose.Add, CancellationToken.None);
        Assert.Null(run.ErrorId);
    }

    /// <summary>Someone edits the case in the org, through the REST API as any Salesforce user would.</summary>
    private Task PersonChangesAsync(string caseId, string subject) => PersonChangesAsync(caseId, "Subject", subject);

    private async Task PersonChangesAsync(string caseId, string field, string value)
    {
        var access = await SystemAccess.OpenAsync(Store.Node, Store.Get("sf"), _ => { }, _ => { }, CancellationToken.None);
        using var request = new HttpRequestMessage(HttpMethod.Patch, new Uri(access.ApiUrl, $"/services/data/v60.0/sobjects/Case/{caseId}"))
        {
            Content = new StringContent(new JsonObject { [field] = value }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await access.AccessTokenAsync(false, CancellationToken.None));
        using var response = await Org.Http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }
}
