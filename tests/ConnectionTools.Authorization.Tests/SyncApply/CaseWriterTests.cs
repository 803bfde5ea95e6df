using System.Net;
using System.Text;
using System.Text.Json;
using ConnectionTools.Emulators;
using ConnectionTools.Errors;
using ConnectionTools.Sync.Apply;

namespace ConnectionTools.Authorization.Tests;

/// <summary>The case writers against the emulators, through the provider-host router (the org's real host names).</summary>
public sealed class SyncApplyWriterTests
{
    private const string Customer = "accounts(11111111-2222-3333-4444-555555555555)";

    private static ICaseWriter Writer(RetrievalRig rig, HttpClient? http = null, string? customer = Customer) => rig.IsSalesforce
        ? new SalesforceCaseWriter(http ?? rig.Http, rig.OrgUrl, rig.AccessToken, TimeSpan.FromSeconds(10))
        : new DataverseCaseWriter(http ?? rig.Http, rig.OrgUrl, rig.AccessToken, TimeSpan.FromSeconds(10), defaultCustomer: customer);

    private static Task<ConnectionToolsException?> CheckAsync(ICaseWriter writer) => writer is SalesforceCaseWriter sf
        ? sf.CheckAsync(CancellationToken.None)
        : ((DataverseCaseWriter)writer).CheckAsync(CancellationToken.None);

    private static CaseWrite Write(string id, string? summary = "Printer on fire", string? priority = "High", IReadOnlyList<string>? comments = null,
        params (string Name, string? Value)[] more)
    {
        var fields = new Dictionary<string, string?> { ["summary"] = summary, ["description"] = "From the partner", ["priority"] = priority };
        foreach (var (name, value) in more)
        {
            fields[name] = value;
        }
        return new CaseWrite(id, fields, comments);
    }

    private static void AssertNoToken(RetrievalRig rig, Exception? e)
    {
        if (e is null)
        {
            return;
        }
        var ct = e as ConnectionToolsException;
        foreach (var token in rig.IssuedTokens)
        {
            Assert.DoesNotContain(token, e.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(token, ct?.RecommendedAction ?? "", StringComparison.Ordinal);
            Assert.DoesNotContain(token, ct?.Target?.ToString() ?? "", StringComparison.Ordinal);
        }
    }

    private static string? FindByPartnerId(RetrievalRig rig, string id) => rig.Emulator is SalesforceEmulator sf
        ? sf.FindCaseByExternalId(id)
        : ((EntraEmulator)rig.Emulator).FindIncidentByAlternateKey(id);

    private static int WritesApplied(RetrievalRig rig) => rig.Emulator is SalesforceEmulator sf ? sf.WritesApplied : ((EntraEmulator)rig.Emulator).WritesApplied;

    private static void Set(RetrievalRig rig, Action<SalesforceEmulator> salesforce, Action<EntraEmulator> entra)
    {
        if (rig.Emulator is SalesforceEmulator sf) { salesforce(sf); } else { entra((EntraEmulator)rig.Emulator); }
    }

    /// <summary>The comment bodies of a case, read back through the API.</summary>
    private static async Task<List<string>> CommentsAsync(RetrievalRig rig, string localId)
    {
        var token = await rig.AccessToken(false, CancellationToken.None);
        var uri = rig.IsSalesforce
            ? new Uri(rig.OrgUrl, "/services/data/v60.0/query?q=" + Uri.EscapeDataString($"SELECT Id, CommentBody FROM CaseComment WHERE ParentId = '{localId}'"))
            : new Uri(rig.OrgUrl, "/api/data/v9.2/annotations?$filter=" + Uri.EscapeDataString($"_objectid_value eq {localId}"));
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await rig.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        using var document = JsonDocument.Parse(text);
        return rig.IsSalesforce
            ? document.RootElement.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("CommentBody").GetString()!).ToList()
            : document.RootElement.GetProperty("value").EnumerateArray().Select(r => r.GetProperty("notetext").GetString()!).ToList();
    }

    private int CommentPosts(RetrievalRig rig) => rig.Emulator.Requests.Count(r => r.Method == "POST" &&
        (r.Path.EndsWith("/CaseComment", StringComparison.Ordinal) || r.Path.EndsWith("/annotations", StringComparison.Ordinal)));

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task Create_then_update_lands_in_the_same_case(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        var writer = Writer(rig);

        var first = Assert.Single(await writer.WriteAsync([Write("P-1")], CancellationToken.None));
        Assert.Null(first.Error);
        Assert.True(first.Created);
        Assert.Equal("P-1", first.PartnerCaseId);
        Assert.Equal(first.LocalCaseId, FindByPartnerId(rig, "P-1"), StringComparer.OrdinalIgnoreCase);

        var second = Assert.Single(await writer.WriteAsync([Write("P-1", summary: "Printer still on fire", priority: "Low")], CancellationToken.None));
        Assert.Null(second.Error);
        Assert.False(second.Created);
        Assert.Equal(first.LocalCaseId, second.LocalCaseId);
        if (rig.Emulator is SalesforceEmulator sf)
        {
            Assert.Equal("Printer still on fire", sf.CaseFieldValue(second.LocalCaseId!, "Subject"));
            Assert.Equal("Low", sf.CaseFieldValue(second.LocalCaseId!, "Priority"));
        }
        Assert.Equal(2, WritesApplied(rig));
        Assert.Null(await CheckAsync(writer));
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_call_over_MaxBatch_throws_and_sends_nothing(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        var writer = Writer(rig);
        var writes = Enumerable.Range(1, writer.MaxBatch + 1).Select(i => Write($"P-{i}")).ToList();
        var before = rig.Emulator.Requests.Count;

        await Assert.ThrowsAsync<ArgumentException>(() => writer.WriteAsync(writes, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => writer.WriteAsync([Write("P-1"), Write("p-1")], CancellationToken.None));
        Assert.Equal(before, rig.Emulator.Requests.Count);
    }

    [Fact]
    public async Task Salesforce_250_cases_go_as_200_and_50_split_by_the_caller()
    {
        await using var rig = await RetrievalRig.StartAsync("Salesforce");
        var writer = Writer(rig);
        Assert.Equal(200, writer.MaxBatch);
        var writes = Enumerable.Range(1, 250).Select(i => Write($"P-{i:D3}")).ToList();

        var results = new List<CaseWriteResult>();
        foreach (var chunk in writes.Chunk(writer.MaxBatch))
        {
            results.AddRange(await writer.WriteAsync(chunk, CancellationToken.None));
        }

        Assert.Equal(250, results.Count);
        Assert.All(results, r => { Assert.Null(r.Error); Assert.True(r.Created); });
        Assert.Equal(writes.Select(w => w.PartnerCaseId), results.Select(r => r.PartnerCaseId));
        Assert.Equal(250, results.Select(r => r.LocalCaseId).Distinct().Count());
        Assert.Equal(2, rig.Emulator.Requests.Count(r => r.Method == "PATCH" && r.Path.Contains("/composite/sobjects/Case/", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_refused_case_fails_alone_with_the_system_s_message_and_field(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        Set(rig, sf => sf.RejectedField = "Description", dv => dv.RejectedIncidentField = "description");
        var writer = Writer(rig);
        var rejected = new CaseWrite("P-rejected", new Dictionary<string, string?> { ["summary"] = "S", ["description"] = "D" });
        var writes = new[]
        {
            new CaseWrite("P-ok-1", new Dictionary<string, string?> { ["summary"] = "fine" }),
            new CaseWrite("P-long", new Dictionary<string, string?> { ["summary"] = new string('x', 300) }),
            new CaseWrite("P-picklist", new Dictionary<string, string?> { ["summary"] = "S", ["priority"] = "Urgent" }),
            rejected,
            new CaseWrite("P-ok-2", new Dictionary<string, string?> { ["summary"] = "fine too", ["priority"] = "Medium" }),
        };

        var results = await writer.WriteAsync(writes, CancellationToken.None);

        Assert.Equal(writes.Select(w => w.PartnerCaseId), results.Select(r => r.PartnerCaseId));
        Assert.Null(results[0].Error);
        Assert.Null(results[4].Error);
        Assert.NotNull(FindByPartnerId(rig, "P-ok-1"));
        Assert.NotNull(FindByPartnerId(rig, "P-ok-2"));
        foreach (var refused in results.Skip(1).Take(3))
        {
            Assert.Null(refused.LocalCaseId);
            Assert.Equal(ErrorIds.SyncApplyRefused, refused.Error!.ErrorId);
            Assert.NotNull(refused.Error.RecommendedAction);
            Assert.Null(FindByPartnerId(rig, refused.PartnerCaseId));
            AssertNoToken(rig, refused.Error);
        }
        var tooLong = results[1].Error!;
        var picklist = results[2].Error!;
        var denied = results[3].Error!;
        if (rig.IsSalesforce)
        {
            Assert.Contains("STRING_TOO_LONG [Subject]", tooLong.Message, StringComparison.Ordinal);
            Assert.Contains("data value too large", tooLong.Message, StringComparison.Ordinal);
            Assert.Contains("Shorten Subject", tooLong.RecommendedAction, StringComparison.Ordinal);
            Assert.Contains("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST [Priority]", picklist.Message, StringComparison.Ordinal);
            Assert.Contains("Map the partner's value of Priority", picklist.RecommendedAction, StringComparison.Ordinal);
            Assert.Contains("INVALID_FIELD_FOR_INSERT_UPDATE [Description]", denied.Message, StringComparison.Ordinal);
            Assert.Equal("P-rejected:Description", denied.Target);
        }
        else
        {
            Assert.Contains("(0x80044331) on title", tooLong.Message, StringComparison.Ordinal);
            Assert.Contains("Shorten title", tooLong.RecommendedAction, StringComparison.Ordinal);
            Assert.Contains("'Urgent'", picklist.Message, StringComparison.Ordinal);
            Assert.Equal("P-picklist:prioritycode", picklist.Target);
            Assert.Contains("(0x80040220) on description", denied.Message, StringComparison.Ordinal);
            Assert.Equal("P-rejected:description", denied.Target);
        }
    }

    [Fact]
    public async Task Salesforce_required_field_missing_says_to_make_the_rule_set_it()
    {
        await using var rig = await RetrievalRig.StartAsync("Salesforce");
        var result = Assert.Single(await Writer(rig).WriteAsync([new CaseWrite("P-1", new Dictionary<string, string?> { ["description"] = "no subject" })], CancellationToken.None));

        Assert.Equal(ErrorIds.SyncApplyRefused, result.Error!.ErrorId);
        Assert.Contains("REQUIRED_FIELD_MISSING [Subject]", result.Error.Message, StringComparison.Ordinal);
        Assert.Contains("Make the incoming rule set Subject", result.Error.RecommendedAction, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_field_the_writer_does_not_map_is_refused_before_sending(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        var results = await Writer(rig).WriteAsync([Write("P-1", more: ("origin", "Web")), Write("P-2")], CancellationToken.None);

        Assert.Equal(ErrorIds.SyncApplyRefused, results[0].Error!.ErrorId);
        Assert.Contains("entity.origin", results[0].Error!.Message, StringComparison.Ordinal);
        Assert.Null(results[1].Error);
        Assert.Equal(1, WritesApplied(rig));
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_throttled_write_waits_for_Retry_After_and_succeeds(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        Set(rig, sf => sf.ThrottleNextWrites = 1, dv => dv.ThrottleNextWrites = 1);

        var result = Assert.Single(await Writer(rig).WriteAsync([Write("P-1")], CancellationToken.None));

        Assert.Null(result.Error);
        Assert.True(result.Created);
        Assert.Equal(1, rig.Emulator.Requests.Count(r => r.StatusCode == 429));
        Assert.Equal(1, WritesApplied(rig));
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_500_on_the_upsert_is_sent_again_because_the_upsert_is_idempotent(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        Set(rig, sf => sf.FailNextWrites = 1, dv => dv.FailNextWrites = 1);

        var result = Assert.Single(await Writer(rig).WriteAsync([Write("P-1")], CancellationToken.None));

        Assert.Null(result.Error);
        Assert.Equal(result.LocalCaseId, FindByPartnerId(rig, "P-1"), StringComparer.OrdinalIgnoreCase);
        Assert.Equal(1, rig.Emulator.Requests.Count(r => r.StatusCode == 500));
        Assert.Equal(1, WritesApplied(rig));
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task Failures_that_outlast_the_retries_throw_without_the_token(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        Set(rig, sf => sf.FailNextWrites = 20, dv => dv.FailNextWrites = 20);

        var e = await Assert.ThrowsAsync<ConnectionToolsException>(() => Writer(rig).WriteAsync([Write("P-1")], CancellationToken.None));

        Assert.Equal(ErrorIds.SyncApplyFailed, e.ErrorId);
        Assert.Equal(ErrorKind.ConnectionError, e.Kind);
        Assert.Contains("HTTP 500", e.Message, StringComparison.Ordinal);
        Assert.Equal(ProviderRetry.MaxAttempts, rig.Emulator.Requests.Count(r => r.StatusCode == 500));
        AssertNoToken(rig, e);
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task An_expired_token_is_refreshed_once_and_the_write_succeeds(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        rig.ExpireAccessTokens();

        var result = Assert.Single(await Writer(rig).WriteAsync([Write("P-1", comments: ["first"])], CancellationToken.None));

        Assert.Null(result.Error);
        Assert.Equal(1, rig.Refreshes);
        Assert.Equal(1, rig.Unauthorized);
        Assert.Equal(["first"], await CommentsAsync(rig, result.LocalCaseId!));
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_token_refused_also_after_a_refresh_throws_Unauthorized(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        rig.ExpireAccessTokens();
        rig.RefreshOverride = () => Task.FromResult("bogus-token-value");

        var e = await Assert.ThrowsAsync<ConnectionToolsException>(() => Writer(rig).WriteAsync([Write("P-1")], CancellationToken.None));

        Assert.Equal(ErrorIds.SyncApplyUnauthorized, e.ErrorId);
        Assert.Equal(1, rig.Refreshes);
        AssertNoToken(rig, e);
        Assert.DoesNotContain("bogus-token-value", e.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_missing_external_id_is_an_error_of_the_connection(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        Set(rig, sf => sf.OmitExternalIdField = true, dv => dv.OmitAlternateKey = true);
        var writer = Writer(rig);

        var check = await CheckAsync(writer);
        var e = await Assert.ThrowsAsync<ConnectionToolsException>(() => writer.WriteAsync([Write("P-1"), Write("P-2")], CancellationToken.None));

        foreach (var error in new[] { check!, e })
        {
            Assert.Equal(ErrorIds.SyncApplyMissingExternalId, error.ErrorId);
            Assert.Contains(rig.IsSalesforce ? SalesforceCaseWriter.DefaultExternalIdField : DataverseCaseWriter.DefaultAlternateKey, error.Message, StringComparison.Ordinal);
            Assert.Contains(rig.IsSalesforce ? "Object Manager > Case > Fields" : "Keys", error.RecommendedAction, StringComparison.Ordinal);
            AssertNoToken(rig, error);
        }
        Assert.Equal(0, WritesApplied(rig));
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task Comments_are_appended_once_in_order(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        var writer = Writer(rig);

        var first = Assert.Single(await writer.WriteAsync([Write("P-1", comments: ["one", "two"])], CancellationToken.None));
        var second = Assert.Single(await writer.WriteAsync([Write("P-1", comments: ["three"])], CancellationToken.None));
        var third = Assert.Single(await writer.WriteAsync([Write("P-1")], CancellationToken.None));

        Assert.Null(first.Error);
        Assert.Null(second.Error);
        Assert.Null(third.Error);
        Assert.Equal(["one", "two", "three"], await CommentsAsync(rig, first.LocalCaseId!));
        Assert.Equal(3, CommentPosts(rig));
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_comment_whose_answer_is_lost_is_not_sent_again(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        using var lossy = new LoseFirstCommentAnswer(rig.Router);
        using var http = new HttpClient(lossy, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        var writer = Writer(rig, http);

        var results = await writer.WriteAsync([Write("P-1", comments: ["one", "two"]), Write("P-2", comments: ["other"])], CancellationToken.None);

        var failed = results[0].Error!;
        Assert.Equal(ErrorIds.SyncApplyCommentFailed, failed.ErrorId);
        Assert.Equal(0, failed.Data[CaseWriteChecks.CommentsAppendedKey]);
        Assert.Equal(ErrorKind.ConnectionError, failed.Kind);
        Assert.Contains("may have been added", failed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Nothing was changed", failed.Message, StringComparison.Ordinal);
        Assert.NotNull(results[0].LocalCaseId);
        Assert.True(results[0].Created);
        Assert.Null(results[1].Error);
        AssertNoToken(rig, failed);
        // The lost comment arrived once and was not sent again; the one after it waits; the other case's comment went.
        Assert.Equal(["one"], await CommentsAsync(rig, results[0].LocalCaseId!));
        Assert.Equal(["other"], await CommentsAsync(rig, results[1].LocalCaseId!));
        Assert.Equal(2, CommentPosts(rig));
    }

    [Fact]
    public async Task Dataverse_without_a_default_customer_cannot_create_but_updates()
    {
        await using var rig = await RetrievalRig.StartAsync("Dataverse");
        var created = Assert.Single(await Writer(rig).WriteAsync([Write("P-1")], CancellationToken.None));
        var writer = Writer(rig, customer: null);

        var results = await writer.WriteAsync([Write("P-1", summary: "Updated"), Write("P-2")], CancellationToken.None);

        Assert.Null(results[0].Error);
        Assert.Equal(created.LocalCaseId, results[0].LocalCaseId);
        Assert.Equal(ErrorIds.SyncApplyNoDefaultCustomer, results[1].Error!.ErrorId);
        Assert.Null(FindByPartnerId(rig, "P-2"));
        Assert.Throws<ArgumentException>(() => new DataverseCaseWriter(rig.Http, rig.OrgUrl, rig.AccessToken, TimeSpan.FromSeconds(5), defaultCustomer: "account 42"));
    }

    [Theory]
    [InlineData("High", 1)]
    [InlineData("normal", 2)]
    [InlineData("Medium", 2)]
    [InlineData("LOW", 3)]
    [InlineData("Urgent", null)]
    public void Dataverse_priority_codes(string value, int? code) => Assert.Equal(code, DataverseCaseWriter.PriorityCode(value));

    /// <summary>Lets the first comment POST through to the emulator, then drops its answer (a reset connection).</summary>
    private sealed class LoseFirstCommentAnswer(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private int _lost;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            var path = request.RequestUri!.AbsolutePath;
            if (request.Method == HttpMethod.Post && (path.EndsWith("/CaseComment", StringComparison.Ordinal) || path.EndsWith("/annotations", StringComparison.Ordinal)) &&
                Interlocked.Exchange(ref _lost, 1) == 0)
            {
                response.Dispose();
                throw new HttpRequestException("The response ended prematurely.", new IOException("connection reset"));
            }
            return response;
        }
    }
}
