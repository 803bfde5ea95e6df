using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ConnectionTools.Emulators;
using ConnectionTools.Errors;
using ConnectionTools.Sync.Apply;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// The Dataverse writer's case state (CloseIncident, cancel, reactivate), its $batch and its comment reader, against the Entra
/// emulator at the org's real host.
/// </summary>
public sealed class DataverseWriterTests
{
    private const string Customer = "accounts(11111111-2222-3333-4444-555555555555)";
    private const string BatchPath = "/api/data/v9.2/$batch";

    private static DataverseCaseWriter Writer(RetrievalRig rig, HttpClient? http = null) =>
        new(http ?? rig.Http, rig.OrgUrl, rig.AccessToken, TimeSpan.FromSeconds(10), defaultCustomer: Customer);

    private static EntraEmulator Entra(RetrievalRig rig) => (EntraEmulator)rig.Emulator;

    private static CaseWrite Write(string id, string? status = null, string summary = "Printer on fire", IReadOnlyList<string>? comments = null, string? localId = null)
    {
        var fields = new Dictionary<string, string?> { ["summary"] = summary, ["priority"] = "High" };
        if (status is not null)
        {
            fields["status"] = status;
        }
        return new CaseWrite(id, fields, comments, localId);
    }

    private static int Batches(RetrievalRig rig) => rig.Emulator.Requests.Count(r => r.Method == "POST" && r.Path == BatchPath);

    /// <summary>Writes that reached incidents or CloseIncident outside a $batch (the tests' own reads are GETs).</summary>
    private static int LoneIncidentRequests(RetrievalRig rig) => rig.Emulator.Requests.Count(r => r.Method != "GET" &&
        r.Path.StartsWith("/api/data/v9.2/incidents(", StringComparison.Ordinal) || r.Path.EndsWith("/CloseIncident", StringComparison.Ordinal));

    private static async Task<JsonElement> SendAsync(RetrievalRig rig, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(rig.OrgUrl, "/api/data/v9.2/" + path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await rig.AccessToken(false, CancellationToken.None));
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
            request.Headers.TryAddWithoutValidation("If-Match", "*");
        }
        using var response = await rig.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<string> TitleAsync(RetrievalRig rig, string id) =>
        (await SendAsync(rig, HttpMethod.Get, $"incidents({id})")).GetProperty("title").GetString()!;

    [Fact]
    public async Task Resolved_goes_through_CloseIncident_and_Canceled_through_a_PATCH_of_the_state()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var results = await Writer(rig).WriteAsync([Write("P-1", "Resolved"), Write("P-2", "Canceled"), Write("P-3", "Closed"), Write("P-4", "Working")], CancellationToken.None);

        Assert.All(results, r => { Assert.Null(r.Error); Assert.True(r.Created); });
        var entra = Entra(rig);
        Assert.Equal((1, 5), entra.IncidentState(results[0].LocalCaseId!));
        Assert.Equal((2, 6), entra.IncidentState(results[1].LocalCaseId!));
        Assert.Equal((1, 5), entra.IncidentState(results[2].LocalCaseId!));
        Assert.Equal((0, 1), entra.IncidentState(results[3].LocalCaseId!));
        Assert.Equal([results[0].LocalCaseId!, results[2].LocalCaseId!], entra.Resolutions.Select(r => r.IncidentId));
        Assert.Contains("P-1", entra.Resolutions[0].Subject, StringComparison.Ordinal);
        Assert.Equal("Printer on fire", await TitleAsync(rig, results[0].LocalCaseId!));
        Assert.Equal(0, LoneIncidentRequests(rig));
    }

    [Fact]
    public async Task A_closed_case_is_reactivated_before_its_fields_are_written()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var writer = Writer(rig);
        var id = Assert.Single(await writer.WriteAsync([Write("P-1", "Resolved")], CancellationToken.None)).LocalCaseId!;

        var reopened = Assert.Single(await writer.WriteAsync([Write("P-1", "Escalated", summary: "Printer on fire again")], CancellationToken.None));

        Assert.Null(reopened.Error);
        Assert.False(reopened.Created);
        Assert.Equal(id, reopened.LocalCaseId);
        Assert.Equal((0, 1), Entra(rig).IncidentState(id));
        Assert.Equal("Printer on fire again", await TitleAsync(rig, id));

        // Resolved again with a new title: reopened, written, resolved again, in one change set.
        var again = Assert.Single(await writer.WriteAsync([Write("P-1", "Resolved", summary: "Fixed for good")], CancellationToken.None));
        Assert.Null(again.Error);
        Assert.Equal((1, 5), Entra(rig).IncidentState(id));
        Assert.Equal("Fixed for good", await TitleAsync(rig, id));
        Assert.Equal(2, Entra(rig).Resolutions.Count);

        // A canceled case goes back to Resolved the same way.
        Assert.Null(Assert.Single(await writer.WriteAsync([Write("P-1", "Canceled")], CancellationToken.None)).Error);
        Assert.Equal((2, 6), Entra(rig).IncidentState(id));
        Assert.Null(Assert.Single(await writer.WriteAsync([Write("P-1", "Information Provided")], CancellationToken.None)).Error);
        Assert.Equal((1, 1000), Entra(rig).IncidentState(id));
    }

    [Fact]
    public async Task An_active_case_keeps_its_status_reason_and_a_closed_case_without_a_status_is_refused_by_Dataverse()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var writer = Writer(rig);
        var results = await writer.WriteAsync([Write("P-1"), Write("P-2", "Canceled")], CancellationToken.None);
        await SendAsync(rig, HttpMethod.Patch, $"incidents({results[0].LocalCaseId})", new { statuscode = 2 });

        var after = await writer.WriteAsync([Write("P-1", "Active", summary: "On hold still"), Write("P-2", summary: "No status")], CancellationToken.None);

        Assert.Null(after[0].Error);
        Assert.Equal((0, 2), Entra(rig).IncidentState(results[0].LocalCaseId!));
        Assert.Equal("On hold still", await TitleAsync(rig, results[0].LocalCaseId!));
        var refused = after[1].Error!;
        Assert.Equal(ErrorIds.SyncApplyRefused, refused.ErrorId);
        Assert.Contains(EntraEmulator.ClosedCaseCode, refused.Message, StringComparison.Ordinal);
        Assert.Contains("already been canceled", refused.Message, StringComparison.Ordinal);
        Assert.Contains("entity.status", refused.RecommendedAction, StringComparison.Ordinal);
        Assert.Equal((2, 6), Entra(rig).IncidentState(results[1].LocalCaseId!));
        Assert.Equal("Printer on fire", await TitleAsync(rig, results[1].LocalCaseId!));
    }

    [Fact]
    public async Task An_own_canceled_incident_is_reactivated_updated_and_keyed()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        rig.AddCases(5, RetrievalRig.Start, TimeSpan.FromMinutes(1));
        var own = EntraEmulator.CaseId(4);
        Assert.Equal(2, Entra(rig).IncidentState(own)!.Value.State);

        var result = Assert.Single(await Writer(rig).WriteAsync([Write("P-own", "New", summary: "Back again", localId: own)], CancellationToken.None));

        Assert.Null(result.Error);
        Assert.Equal(own, result.LocalCaseId);
        Assert.Equal((0, 1), Entra(rig).IncidentState(own));
        Assert.Equal("Back again", await TitleAsync(rig, own));
        Assert.Equal(own, Entra(rig).FindIncidentByAlternateKey("P-own"));
    }

    [Fact]
    public async Task An_unknown_status_is_refused_before_any_request()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var writer = Writer(rig);
        var before = rig.Emulator.Requests.Count;

        var alone = Assert.Single(await writer.WriteAsync([Write("P-1", "Pending review", comments: ["a comment"])], CancellationToken.None));

        Assert.Equal(before, rig.Emulator.Requests.Count);
        Assert.Equal(ErrorIds.SyncApplyRefused, alone.Error!.ErrorId);
        Assert.Contains("entity.status 'Pending review'", alone.Error.Message, StringComparison.Ordinal);
        Assert.Equal("P-1:statecode", alone.Error.Target);
        Assert.Null(alone.LocalCaseId);

        var mixed = await writer.WriteAsync([Write("P-1", "Pending review"), Write("P-2", "New")], CancellationToken.None);
        Assert.NotNull(mixed[0].Error);
        Assert.Null(mixed[1].Error);
        Assert.Null(Entra(rig).FindIncidentByAlternateKey("P-1"));
        Assert.NotNull(Entra(rig).FindIncidentByAlternateKey("P-2"));
    }

    [Theory]
    [InlineData("Active", 0)]
    [InlineData("new", 0)]
    [InlineData(" Working ", 0)]
    [InlineData("Escalated", 0)]
    [InlineData("Resolved", 1)]
    [InlineData("CLOSED", 1)]
    [InlineData("Canceled", 2)]
    [InlineData("Cancelled", 2)]
    [InlineData("Pending review", null)]
    [InlineData("", null)]
    public void Neutral_status_to_statecode(string value, int? state) => Assert.Equal(state, DataverseCaseWriter.StateCode(value));

    [Fact]
    public async Task One_batch_writes_existing_cases_in_order_and_a_refused_case_fails_alone()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var writer = Writer(rig);
        var ids = new[] { "P-1", "P-2", "P-3", "P-4", "P-5" };
        var created = await writer.WriteAsync(ids.Select(id => Write(id)).ToList(), CancellationToken.None);
        Assert.All(created, r => Assert.True(r.Created));
        Assert.Equal(2, Batches(rig)); // updates find nothing, then the creates
        Entra(rig).RejectedIncidentField = "description";

        var results = await writer.WriteAsync(
        [
            Write("P-1", "Resolved", summary: "one"),
            Write("P-2", "Resolved", summary: new string('x', 300)),
            Write("P-3", summary: "three"),
            new CaseWrite("P-4", new Dictionary<string, string?> { ["summary"] = "four", ["description"] = "secret", ["status"] = "Canceled" }),
            Write("P-5", "Canceled", summary: "five"),
        ], CancellationToken.None);

        Assert.Equal(3, Batches(rig));
        Assert.Equal(ids, results.Select(r => r.PartnerCaseId));
        Assert.Equal([created[0].LocalCaseId, null, created[2].LocalCaseId, null, created[4].LocalCaseId], results.Select(r => r.LocalCaseId));
        Assert.Null(results[0].Error);
        Assert.Null(results[2].Error);
        Assert.Null(results[4].Error);
        Assert.Contains("(0x80044331) on title", results[1].Error!.Message, StringComparison.Ordinal);
        Assert.Contains("(0x80040220) on description", results[3].Error!.Message, StringComparison.Ordinal);
        var entra = Entra(rig);

        // A refused case's change set is all or nothing: P-2 was neither reopened nor resolved, P-4 not canceled.
        Assert.Equal((1, 5), entra.IncidentState(created[0].LocalCaseId!));
        Assert.Equal((0, 1), entra.IncidentState(created[1].LocalCaseId!));
        Assert.Equal("Printer on fire", await TitleAsync(rig, created[1].LocalCaseId!));
        Assert.Equal("three", await TitleAsync(rig, created[2].LocalCaseId!));
        Assert.Equal((0, 1), entra.IncidentState(created[3].LocalCaseId!));
        Assert.Equal("Printer on fire", await TitleAsync(rig, created[3].LocalCaseId!));
        Assert.Equal((2, 6), entra.IncidentState(created[4].LocalCaseId!));
        Assert.Equal([created[0].LocalCaseId!], entra.Resolutions.Select(r => r.IncidentId));
        Assert.Equal(0, LoneIncidentRequests(rig));
    }

    [Fact]
    public async Task A_throttled_batch_waits_for_Retry_After_and_is_sent_again()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var writer = Writer(rig);
        await writer.WriteAsync([Write("P-1"), Write("P-2")], CancellationToken.None);
        var batches = Batches(rig);
        Entra(rig).ThrottleNextWrites = 1;

        var results = await writer.WriteAsync([Write("P-1", "Resolved"), Write("P-2", summary: "two")], CancellationToken.None);

        Assert.All(results, r => Assert.Null(r.Error));
        Assert.Equal(batches + 2, Batches(rig));
        var throttled = Assert.Single(rig.Emulator.Requests, r => r.StatusCode == 429);
        Assert.Equal(BatchPath, throttled.Path);
        Assert.Equal((1, 5), Entra(rig).IncidentState(results[0].LocalCaseId!));
        Assert.Single(Entra(rig).Resolutions);
    }

    [Fact]
    public async Task An_expired_token_on_the_batch_is_refreshed_once()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var writer = Writer(rig);
        await writer.WriteAsync([Write("P-1"), Write("P-2")], CancellationToken.None);
        rig.ExpireAccessTokens();

        var results = await writer.WriteAsync([Write("P-1", "Canceled"), Write("P-2", summary: "two", comments: ["after the refresh"])], CancellationToken.None);

        Assert.All(results, r => Assert.Null(r.Error));
        Assert.Equal(1, rig.Refreshes);
        var unauthorized = Assert.Single(rig.Emulator.Requests, r => r.StatusCode == 401);
        Assert.Equal(BatchPath, unauthorized.Path);
        Assert.Equal((2, 6), Entra(rig).IncidentState(results[0].LocalCaseId!));
        Assert.Equal(["after the refresh"], await writer.CommentBodiesAsync(results[1].LocalCaseId!, CancellationToken.None));
    }

    [Fact]
    public async Task The_same_batch_twice_makes_no_second_incident()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var writer = Writer(rig);
        var writes = new[] { Write("P-1", "Resolved"), Write("P-2", "Canceled"), Write("P-3", "New", comments: ["once"]) };

        var first = await writer.WriteAsync(writes, CancellationToken.None);
        var count = Entra(rig).CaseCount;
        var second = await writer.WriteAsync(writes.Select(w => new CaseWrite(w.PartnerCaseId, w.Fields)).ToList(), CancellationToken.None);

        Assert.All(first, r => { Assert.Null(r.Error); Assert.True(r.Created); });
        Assert.All(second, r => { Assert.Null(r.Error); Assert.False(r.Created); });
        Assert.Equal(first.Select(r => r.LocalCaseId), second.Select(r => r.LocalCaseId));
        Assert.Equal(count, Entra(rig).CaseCount);
        Assert.Equal((1, 5), Entra(rig).IncidentState(first[0].LocalCaseId!));
        Assert.Equal((2, 6), Entra(rig).IncidentState(first[1].LocalCaseId!));
        Assert.Equal(["once"], await writer.CommentBodiesAsync(first[2].LocalCaseId!, CancellationToken.None));
    }

    [Fact]
    public async Task A_batch_whose_answer_is_lost_is_sent_again_and_lands_the_same()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var created = await Writer(rig).WriteAsync([Write("P-1"), Write("P-2", "Resolved")], CancellationToken.None);
        using var lossy = new LoseFirstBatchAnswer(rig.Router);
        using var http = new HttpClient(lossy, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        var count = Entra(rig).CaseCount;

        var results = await Writer(rig, http).WriteAsync(
            [Write("P-1", "Resolved", summary: "resolved once"), Write("P-2", "Canceled", summary: "canceled once")], CancellationToken.None);

        Assert.All(results, r => Assert.Null(r.Error));
        Assert.Equal(created.Select(r => r.LocalCaseId), results.Select(r => r.LocalCaseId));
        Assert.Equal(count, Entra(rig).CaseCount);
        Assert.Equal((1, 5), Entra(rig).IncidentState(created[0].LocalCaseId!));
        Assert.Equal((2, 6), Entra(rig).IncidentState(created[1].LocalCaseId!));
        Assert.Equal("resolved once", await TitleAsync(rig, created[0].LocalCaseId!));
    }

    [Fact]
    public async Task The_comment_reader_pages_through_a_case_s_notes_oldest_first()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var writer = Writer(rig);
        var comments = new[] { "one", "two", "three", "four", "five" };
        var results = await writer.WriteAsync([Write("P-1", comments: comments), Write("P-2", comments: ["other case"]), Write("P-3")], CancellationToken.None);
        Entra(rig).MaxNotesPage = 2;
        var before = rig.Emulator.Requests.Count(r => r.Method == "GET" && r.Path.EndsWith("/annotations", StringComparison.Ordinal));

        Assert.Equal(comments, await writer.CommentBodiesAsync(results[0].LocalCaseId!, CancellationToken.None));
        Assert.Equal(3, rig.Emulator.Requests.Count(r => r.Method == "GET" && r.Path.EndsWith("/annotations", StringComparison.Ordinal)) - before);
        Assert.Equal(["other case"], await writer.CommentBodiesAsync(results[1].LocalCaseId!, CancellationToken.None));
        Assert.Empty(await writer.CommentBodiesAsync(results[2].LocalCaseId!, CancellationToken.None));

        rig.ExpireAccessTokens();
        Assert.Equal(comments, await ((ICommentReader)writer).CommentBodiesAsync(results[0].LocalCaseId!, CancellationToken.None));
        Assert.Equal(1, rig.Refreshes);
        await Assert.ThrowsAsync<ArgumentException>(() => writer.CommentBodiesAsync("not-a-guid", CancellationToken.None));
    }

    /// <summary>Lets the first $batch through to the emulator, then drops its answer (a reset connection).</summary>
    private sealed class LoseFirstBatchAnswer(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private int _lost;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri!.AbsolutePath == BatchPath && Interlocked.Exchange(ref _lost, 1) == 0)
            {
                response.Dispose();
                throw new HttpRequestException("The response ended prematurely.", new IOException("connection reset"));
            }
            return response;
        }
    }
}
