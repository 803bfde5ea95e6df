using System.Text.Json.Nodes;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;
using ConnectionTools.Jobs.Retrieval;
using ConnectionTools.Sync;
using ConnectionTools.Sync.Apply;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// Comments in the case retrieval: Salesforce's CaseComments child relationship, Dataverse's notes (expanded, and found through
/// the notes query when a note is the case's only change, since a note does not move the incident's modifiedon).
/// </summary>
public sealed class CommentRetrievalTests
{
    private static readonly DateTimeOffset Start = RetrievalRig.Start;
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(1);

    private static async Task<List<CaseRecord>> RetrieveAsync(RetrievalRig rig, DateTimeOffset? since)
    {
        var log = new PageLog();
        await rig.Source().RetrieveAsync(new CaseQuery { Since = since, PageSize = 200 }, log.OnPage, CancellationToken.None);
        return log.Records.ToList();
    }

    private static JsonArray Comments(RetrievalRig rig, CaseRecord record) =>
        (JsonArray)JsonNode.Parse(CaseEntities.FromRecord(rig.IsSalesforce ? ConnectionType.SalesforceProduction : ConnectionType.Dynamics365, record))!["comments"]!;

    [Fact]
    public async Task Salesforce_cases_come_with_their_comments_and_a_new_comment_makes_its_case_changed()
    {
        await using var rig = await RetrievalRig.StartAsync("Salesforce");
        var org = (SalesforceEmulator)rig.Emulator;
        rig.AddCases(3, Start, Step);
        var all = await RetrieveAsync(rig, null);
        var watermark = all.Max(r => r.WatermarkAt!.Value);
        Assert.All(all, r => Assert.Empty(Comments(rig, r)));

        org.AddComment(rig.CaseId(2), "Replaced the drum; watching it.", "Ada Admin");
        org.AddComment(rig.CaseId(2), "Still jams on page 2.", "Bob Agent");
        var changed = await RetrieveAsync(rig, watermark);

        // The case with new comments is changed (its SystemModstamp moved); the one at the watermark comes again (ge).
        var record = Assert.Single(changed, r => r.Id == rig.CaseId(2));
        var comments = Comments(rig, record);
        Assert.Equal(new[] { ("Ada Admin", "Replaced the drum; watching it."), ("Bob Agent", "Still jams on page 2.") },
            comments.Select(c => ((string)c!["author"]!, (string)c!["body"]!)));
        Assert.All(comments, c => Assert.False(string.IsNullOrEmpty((string?)c!["created"])));
        Assert.True(record.ModifiedAt > watermark);
        Assert.DoesNotContain(changed, r => r.Id == rig.CaseId(1));
    }

    [Fact]
    public async Task Dataverse_incidents_come_with_their_notes_and_a_note_only_change_is_found_without_moving_the_watermark()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var org = (EntraEmulator)rig.Emulator;
        rig.AddCases(3, Start, Step);
        org.AddNote(rig.CaseId(3), "Customer called back.", "Ada Admin");
        var all = await RetrieveAsync(rig, null);
        var watermark = all.Max(r => r.WatermarkAt!.Value);
        var third = Assert.Single(all, r => r.Id == rig.CaseId(3));
        Assert.Equal(("Ada Admin", "Customer called back."), Comments(rig, third).Select(c => ((string)c!["author"]!, (string)c!["body"]!)).Single());
        Assert.Empty(Comments(rig, all.Single(r => r.Id == rig.CaseId(1))));

        // A note on incident 1: its modifiedon stays where it was, long before the watermark.
        org.AddNote(rig.CaseId(1), "Sent a replacement.", "Bob Agent");
        var changed = await RetrieveAsync(rig, watermark);

        var first = Assert.Single(changed, r => r.Id == rig.CaseId(1));
        Assert.Equal("Sent a replacement.", (string?)Comments(rig, first).Single()!["body"]);

        // Its version is newer than the one queued before (else the outbound queue would drop it), and it moves no watermark.
        Assert.True(first.ModifiedAt > all.Single(r => r.Id == rig.CaseId(1)).ModifiedAt);
        Assert.Null(first.WatermarkAt);
        Assert.DoesNotContain(changed, r => r.Id == rig.CaseId(2));

        // Read again with nothing new, the case keeps that version: the queue stores it once.
        var again = await RetrieveAsync(rig, watermark);
        Assert.Equal(first.ModifiedAt, again.Single(r => r.Id == rig.CaseId(1)).ModifiedAt);
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_comment_the_writer_appended_comes_back_as_written_and_is_an_echo_while_a_person_s_later_comment_is_a_change(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        rig.AddCases(2, Start, Step);
        var watermark = (await RetrieveAsync(rig, null)).Max(r => r.WatermarkAt!.Value);
        ICaseWriter writer = rig.IsSalesforce
            ? new SalesforceCaseWriter(rig.Http, rig.OrgUrl, rig.AccessToken, TimeSpan.FromSeconds(10))
            : new DataverseCaseWriter(rig.Http, rig.OrgUrl, rig.AccessToken, TimeSpan.FromSeconds(10), defaultCustomer: "accounts(11111111-2222-3333-4444-555555555555)");
        const string Written = "Ada Admin: Drum replaced";
        var local = (await writer.WriteAsync(new[] { new CaseWrite("P-1", new Dictionary<string, string?> { ["summary"] = "Printer jams" }, new[] { Written }) }, CancellationToken.None)).Single();
        Assert.Null(local.Error);

        // The apply's own comment comes back exactly as written: taken out, the case is the state the apply left (an echo).
        // (Dataverse finds the new incident twice, by its note and by its modifiedon: with one version, which the queue stores once.)
        var reads = (await RetrieveAsync(rig, watermark)).Where(r => string.Equals(r.Id, local.LocalCaseId, StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.Single(reads.Select(r => r.ModifiedAt).Distinct());
        var back = reads[^1];
        var entity = CaseEntities.FromRecord(rig.IsSalesforce ? ConnectionType.SalesforceProduction : ConnectionType.Dynamics365, back);
        Assert.Equal(Written, (string?)((JsonArray)JsonNode.Parse(entity)!["comments"]!).Single()!["body"]);
        var writtenJson = new JsonArray(JsonValue.Create(Written)).ToJsonString();
        var seen = OutgoingEvents.NeutralState(OutgoingEvents.WithoutWrittenComments(entity, writtenJson));
        Assert.True(OutgoingEvents.IsEcho("""{"summary":"Printer jams"}""", seen));

        // A person's comment later (a Dataverse note leaves modifiedon as it was): found, kept, and a change.
        watermark = back.WatermarkAt ?? watermark;
        if (rig.Emulator is SalesforceEmulator sf) { sf.AddComment(local.LocalCaseId!, "Customer confirmed.", "Bob Agent"); }
        else { ((EntraEmulator)rig.Emulator).AddNote(local.LocalCaseId!, "Customer confirmed.", "Bob Agent"); }
        var later = (await RetrieveAsync(rig, watermark)).Last(r => string.Equals(r.Id, local.LocalCaseId, StringComparison.OrdinalIgnoreCase));
        var theirs = OutgoingEvents.WithoutWrittenComments(CaseEntities.FromRecord(rig.IsSalesforce ? ConnectionType.SalesforceProduction : ConnectionType.Dynamics365, later), writtenJson);
        Assert.Equal(("Bob Agent", "Customer confirmed."), ((JsonArray)JsonNode.Parse(theirs)!["comments"]!).Select(c => ((string)c!["author"]!, (string)c!["body"]!)).Single());
        Assert.False(OutgoingEvents.IsEcho(seen, OutgoingEvents.NeutralState(theirs)));
        Assert.True(later.ModifiedAt > back.ModifiedAt);
    }

    [Fact]
    public void A_comment_added_in_the_same_second_as_the_case_s_last_change_still_makes_a_newer_version()
    {
        var at = new DateTimeOffset(2026, 12, 1, 9, 30, 0, TimeSpan.Zero);

        Assert.True(CaseTimestamps.Version(at, 1) > CaseTimestamps.Version(at, 0));
        Assert.True(CaseTimestamps.Version(at.AddSeconds(1), 0) > CaseTimestamps.Version(at, 999));
        Assert.Equal(CaseTimestamps.Version(at, 999), CaseTimestamps.Version(at, 5000));
    }
}
