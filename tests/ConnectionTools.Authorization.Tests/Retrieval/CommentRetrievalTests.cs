using System.Text.Json.Nodes;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;
using ConnectionTools.Jobs.Retrieval;
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

    [Fact]
    public void A_comment_added_in_the_same_second_as_the_case_s_last_change_still_makes_a_newer_version()
    {
        var at = new DateTimeOffset(2026, 12, 1, 9, 30, 0, TimeSpan.Zero);

        Assert.True(CaseTimestamps.Version(at, 1) > CaseTimestamps.Version(at, 0));
        Assert.True(CaseTimestamps.Version(at.AddSeconds(1), 0) > CaseTimestamps.Version(at, 999));
        Assert.Equal(CaseTimestamps.Version(at, 999), CaseTimestamps.Version(at, 5000));
    }
}
