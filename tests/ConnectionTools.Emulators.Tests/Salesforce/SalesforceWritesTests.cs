using System.Net;
using System.Text.Json;
using static ConnectionTools.Emulators.Tests.CaseApiClient;

namespace ConnectionTools.Emulators.Tests;

public sealed class SalesforceWritesTests : IAsyncLifetime, IDisposable
{
    private const string ConsumerKey = "3MVG9writes.consumer.key";
    private const string Username = "admin@contoso.com";
    private const string Field = SalesforceEmulator.DefaultExternalIdField;
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false });
    private SalesforceEmulator _sf = null!;
    private string _token = null!;

    public async Task InitializeAsync()
    {
        _sf = await SalesforceEmulator.StartNewAsync();
        _sf.RegisterConnectedApp(ConsumerKey, "secret");
        _sf.RegisterUser(Username);
        _sf.AddCases(30, Start, TimeSpan.FromSeconds(1));
        (_token, _) = await SalesforceTokensAsync(_http, _sf, ConsumerKey, Username);
    }

    public async Task DisposeAsync() => await _sf.DisposeAsync();

    public void Dispose() => _http.Dispose();

    private Uri Api(string relative) => new(_sf.BaseUri, "services/data/v60.0/" + relative);

    private Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Send(HttpMethod method, string relative, object? body, string? token = "") =>
        SendAsync(_http, method, Api(relative), token == "" ? _token : token, body is null ? null : body as string ?? JsonSerializer.Serialize(body));

    private Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Upsert(string value, object body, string field = Field) =>
        Send(HttpMethod.Patch, $"sobjects/Case/{field}/{Uri.EscapeDataString(value)}", body);

    private async Task<JsonElement> Query(string soql)
    {
        var (status, body, _) = await GetAsync(_http, Api("query?q=" + Uri.EscapeDataString(soql)), _token);
        Assert.Equal(HttpStatusCode.OK, status);
        return body;
    }

    private static object Collection(bool allOrNone, params object[] records) =>
        new { allOrNone, records };

    private static Dictionary<string, object?> Record(string partnerId, string? subject, string? status = null)
    {
        var record = new Dictionary<string, object?> { ["attributes"] = new { type = "Case" }, [Field] = partnerId, ["Subject"] = subject };
        if (status is not null)
        {
            record["Status"] = status;
        }
        return record;
    }

    [Fact]
    public async Task Upsert_by_external_id_creates_with_201_then_updates_the_same_record_with_200()
    {
        var (status, body, response) = await Upsert("P-1", new { Subject = "Printer on fire", Description = "Smoke", Priority = "High", Origin = "Web" });
        Assert.Equal(HttpStatusCode.Created, status);
        var id = body.Str("id");
        Assert.True(body.GetProperty("success").GetBoolean());
        Assert.True(body.GetProperty("created").GetBoolean());
        Assert.Equal(0, body.GetProperty("errors").GetArrayLength());
        Assert.Equal(SalesforceEmulator.CaseId(31), id);
        Assert.Equal($"/services/data/v60.0/sobjects/Case/{id}", response.Headers.Location!.OriginalString);

        (status, body, _) = await Upsert("p-1", new { Status = "Escalated" });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(id, body.Str("id"));
        Assert.False(body.GetProperty("created").GetBoolean());

        var (getStatus, record, _) = await Send(HttpMethod.Get, $"sobjects/Case/{id}", null);
        Assert.Equal(HttpStatusCode.OK, getStatus);
        Assert.Equal("Printer on fire", record.Str("Subject"));
        Assert.Equal("Smoke", record.Str("Description"));
        Assert.Equal("Escalated", record.Str("Status"));
        Assert.Equal("High", record.Str("Priority"));
        Assert.Equal("P-1", record.Str(Field));
        Assert.Equal(id, _sf.FindCaseByExternalId("P-1"));
        Assert.Equal(31, _sf.CaseCount);
        Assert.Equal(2, _sf.WritesApplied);
    }

    [Fact]
    public async Task An_unknown_external_id_field_is_404_NOT_FOUND_and_OmitExternalIdField_drops_the_field_everywhere()
    {
        var (status, body, _) = await Upsert("P-1", new { Subject = "x" }, field: "Partner__c");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("NOT_FOUND", body[0].Str("errorCode"));
        Assert.Equal("The requested resource does not exist", body[0].Str("message"));

        _sf.OmitExternalIdField = true;
        (status, _, _) = await Upsert("P-1", new { Subject = "x" });
        Assert.Equal(HttpStatusCode.NotFound, status);
        var (_, describe, _) = await Send(HttpMethod.Get, "sobjects/Case/describe", null);
        Assert.DoesNotContain(describe.GetProperty("fields").EnumerateArray(), f => f.GetProperty("externalId").GetBoolean());
        (status, body, _) = await Send(HttpMethod.Patch, $"sobjects/Case/{SalesforceEmulator.CaseId(1)}", new Dictionary<string, string> { [Field] = "P-9" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("INVALID_FIELD", body[0].Str("errorCode"));
        var (queryStatus, _, _) = await GetAsync(_http, Api("query?q=" + Uri.EscapeDataString($"SELECT Id, {Field} FROM Case ORDER BY SystemModstamp ASC, Id ASC")), _token);
        Assert.Equal(HttpStatusCode.BadRequest, queryStatus);
        (status, body, _) = await Send(HttpMethod.Patch, $"composite/sobjects/Case/{Field}", Collection(false, Record("P-1", "x")));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("INVALID_FIELD", body[0].Str("errorCode"));
    }

    [Theory]
    [InlineData("{\"Subject\":\"x\",\"Severity__c\":\"1\"}", "INVALID_FIELD", "Severity__c")]
    [InlineData("{\"Subject\":\"x\",\"Status\":\"Open\"}", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Status")]
    [InlineData("{\"Subject\":\"x\",\"Priority\":null}", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Priority")]
    [InlineData("{\"Description\":\"no subject\"}", "REQUIRED_FIELD_MISSING", "Subject")]
    [InlineData("{\"Subject\":\"x\",\"CaseNumber\":\"1\"}", "INVALID_FIELD_FOR_INSERT_UPDATE", "CaseNumber")]
    [InlineData("{\"Subject\":42}", "INVALID_TYPE_ON_FIELD_IN_RECORD", "Subject")]
    public async Task Bad_fields_are_400_with_the_error_code_and_the_field(string json, string errorCode, string field)
    {
        var (status, body, _) = await Send(HttpMethod.Patch, $"sobjects/Case/{Field}/P-bad", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(body.EnumerateArray(), e => e.Str("errorCode") == errorCode &&
            e.GetProperty("fields").EnumerateArray().Select(f => f.GetString()).Contains(field));
        Assert.Null(_sf.FindCaseByExternalId("P-bad"));
        Assert.Equal(30, _sf.CaseCount);
    }

    [Fact]
    public async Task Text_longer_than_the_field_is_STRING_TOO_LONG()
    {
        var (status, body, _) = await Upsert("P-1", new { Subject = new string('s', 256) });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("STRING_TOO_LONG", body[0].Str("errorCode"));
        Assert.Equal(["Subject"], body[0].GetProperty("fields").EnumerateArray().Select(f => f.GetString()));

        (status, _, _) = await Upsert("P-1", new { Subject = new string('s', 255), Description = new string('d', 32_000) });
        Assert.Equal(HttpStatusCode.Created, status);
        (status, body, _) = await Upsert("P-1", new { Description = new string('d', 32_001) });
        Assert.Equal("STRING_TOO_LONG", body[0].Str("errorCode"));
    }

    [Fact]
    public async Task Written_cases_show_up_in_the_retrieval_query_after_the_high_water_mark_with_their_fields()
    {
        var all = await Query("SELECT Id, SystemModstamp FROM Case ORDER BY SystemModstamp ASC, Id ASC");
        var mark = all.GetProperty("records").EnumerateArray().Last().Str("SystemModstamp");
        var since = DateTimeOffset.ParseExact(mark, "yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", null, System.Globalization.DateTimeStyles.AssumeUniversal);
        string Changed() =>
            $"SELECT Id, Subject, Status, Priority, Description, {Field}, LastModifiedDate, SystemModstamp FROM Case " +
            $"WHERE SystemModstamp > {since.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} ORDER BY SystemModstamp ASC, Id ASC";
        Assert.Equal(0, (await Query(Changed())).GetProperty("totalSize").GetInt32());

        var (status, created, _) = await Upsert("P-7", new { Subject = "From partner", Status = "Working" });
        Assert.Equal(HttpStatusCode.Created, status);
        var generated = SalesforceEmulator.CaseId(3);
        var oldPriority = _sf.CaseFieldValue(generated, "Priority");
        (status, _, _) = await Send(HttpMethod.Patch, $"sobjects/Case/{generated}", new { Subject = "Edited by partner" });
        Assert.Equal(HttpStatusCode.NoContent, status);

        var changed = (await Query(Changed())).GetProperty("records");
        Assert.Equal([created.Str("id"), generated], Ids(changed, "Id"));
        Assert.Equal("From partner", changed[0].Str("Subject"));
        Assert.Equal("Working", changed[0].Str("Status"));
        Assert.Equal("P-7", changed[0].Str(Field));
        Assert.Equal(JsonValueKind.Null, changed[0].GetProperty("Description").ValueKind);
        Assert.Equal("Edited by partner", changed[1].Str("Subject"));
        Assert.Equal(oldPriority, changed[1].Str("Priority"));
        Assert.Equal(JsonValueKind.Null, changed[1].GetProperty(Field).ValueKind);
        Assert.Equal(changed[1].Str("SystemModstamp"), changed[1].Str("LastModifiedDate"));
        Assert.True(string.CompareOrdinal(changed[0].Str("SystemModstamp"), mark) > 0);
        Assert.True(string.CompareOrdinal(changed[1].Str("SystemModstamp"), changed[0].Str("SystemModstamp")) > 0);

        // Each write moves the stamp again, so the case is retrieved again after the next high-water mark.
        var first = changed[0].Str("SystemModstamp");
        await Upsert("P-7", new { Priority = "Low" });
        var again = (await Query(Changed())).GetProperty("records");
        Assert.Equal([generated, created.Str("id")], Ids(again, "Id"));
        Assert.True(string.CompareOrdinal(again[1].Str("SystemModstamp"), first) > 0);
        Assert.Equal("Low", again[1].Str("Priority"));
        Assert.Equal("From partner", again[1].Str("Subject"));

        // The generated cases are untouched by the overlay.
        var full = await Query("SELECT Id, Subject FROM Case ORDER BY SystemModstamp ASC, Id ASC");
        Assert.Equal(31, full.GetProperty("totalSize").GetInt32());
        Assert.Equal(_sf.CaseFieldValue(SalesforceEmulator.CaseId(1), "Subject"), full.GetProperty("records")[0].Str("Subject"));
    }

    [Fact]
    public async Task A_write_sorts_after_generated_cases_that_lie_in_the_future_and_LastModifiedDate_filters_alike()
    {
        var future = DateTimeOffset.UtcNow.AddYears(1);
        _sf.AddCases(4, future, TimeSpan.FromSeconds(1));
        var (status, created, _) = await Upsert("P-late", new { Subject = "after the future" });
        Assert.Equal(HttpStatusCode.Created, status);
        var since = future.AddSeconds(3).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var changed = await Query($"SELECT Id, LastModifiedDate FROM Case WHERE LastModifiedDate > {since} ORDER BY LastModifiedDate ASC, Id ASC");
        Assert.Equal([created.Str("id")], Ids(changed.GetProperty("records"), "Id"));
    }

    [Fact]
    public async Task Update_by_id_of_an_unknown_case_is_404_and_a_taken_external_id_is_DUPLICATE_VALUE()
    {
        var (status, _, _) = await Send(HttpMethod.Patch, "sobjects/Case/5005g0000009999AAA", new { Subject = "x" });
        Assert.Equal(HttpStatusCode.NotFound, status);
        (status, _, _) = await Send(HttpMethod.Get, "sobjects/Case/5005g0000009999AAA", null);
        Assert.Equal(HttpStatusCode.NotFound, status);

        await Upsert("P-1", new { Subject = "one" });
        var (dupStatus, body, _) = await Send(HttpMethod.Patch, $"sobjects/Case/{SalesforceEmulator.CaseId(2)}", new Dictionary<string, string> { [Field] = "P-1" });
        Assert.Equal(HttpStatusCode.BadRequest, dupStatus);
        Assert.Equal("DUPLICATE_VALUE", body[0].Str("errorCode"));
    }

    [Fact]
    public async Task Collection_upsert_answers_one_result_per_record_in_order()
    {
        await Upsert("P-2", new { Subject = "existing" });
        var (status, body, _) = await Send(HttpMethod.Patch, $"composite/sobjects/Case/{Field}",
            Collection(false, Record("P-1", "new one"), Record("P-2", "updated"), Record("P-3", "bad", status: "Open"), Record("P-4", null)));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(4, body.GetArrayLength());
        Assert.True(body[0].GetProperty("success").GetBoolean());
        Assert.True(body[0].GetProperty("created").GetBoolean());
        Assert.True(body[1].GetProperty("success").GetBoolean());
        Assert.False(body[1].GetProperty("created").GetBoolean());
        Assert.Equal(_sf.FindCaseByExternalId("P-2"), body[1].Str("id"));
        Assert.False(body[2].GetProperty("success").GetBoolean());
        var error = body[2].GetProperty("errors")[0];
        Assert.Equal("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", error.Str("statusCode"));
        Assert.Equal(["Status"], error.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal("REQUIRED_FIELD_MISSING", body[3].GetProperty("errors")[0].Str("statusCode"));
        Assert.Equal("updated", _sf.CaseFieldValue(body[1].Str("id"), "Subject"));
        Assert.Null(_sf.FindCaseByExternalId("P-3"));
        Assert.NotNull(_sf.FindCaseByExternalId("P-1"));
    }

    [Fact]
    public async Task Collection_upsert_with_allOrNone_applies_nothing_when_one_record_fails()
    {
        var (status, body, _) = await Send(HttpMethod.Patch, $"composite/sobjects/Case/{Field}",
            Collection(true, Record("P-1", "fine"), Record("P-2", "bad", status: "Open")));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ALL_OR_NONE_OPERATION_ROLLED_BACK", body[0].GetProperty("errors")[0].Str("statusCode"));
        Assert.Equal("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", body[1].GetProperty("errors")[0].Str("statusCode"));
        Assert.Null(_sf.FindCaseByExternalId("P-1"));
        Assert.Equal(0, _sf.WritesApplied);
    }

    [Fact]
    public async Task Collection_upsert_takes_at_most_200_records_and_fails_duplicate_external_ids()
    {
        var records = Enumerable.Range(1, 200).Select(i => (object)Record($"P-{i}", $"case {i}")).ToArray();
        var (status, body, _) = await Send(HttpMethod.Patch, $"composite/sobjects/Case/{Field}", Collection(false, records));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.All(body.EnumerateArray(), r => Assert.True(r.GetProperty("created").GetBoolean()));
        Assert.Equal(230, _sf.CaseCount);

        (status, body, _) = await Send(HttpMethod.Patch, $"composite/sobjects/Case/{Field}", Collection(false, [.. records, Record("P-201", "one too many")]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("EXCEEDED_ID_LIMIT", body[0].Str("errorCode"));
        Assert.Null(_sf.FindCaseByExternalId("P-201"));

        (status, body, _) = await Send(HttpMethod.Patch, $"composite/sobjects/Case/{Field}", Collection(false, Record("D-1", "a"), Record("d-1", "b"), Record("D-2", "c")));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("DUPLICATE_EXTERNAL_ID", body[0].GetProperty("errors")[0].Str("statusCode"));
        Assert.Equal("DUPLICATE_EXTERNAL_ID", body[1].GetProperty("errors")[0].Str("statusCode"));
        Assert.True(body[2].GetProperty("success").GetBoolean());
        Assert.Null(_sf.FindCaseByExternalId("D-1"));
    }

    [Fact]
    public async Task Describe_names_the_external_id_field_and_the_picklists()
    {
        var (status, body, _) = await Send(HttpMethod.Get, "sobjects/Case/describe", null);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Case", body.Str("name"));
        var fields = body.GetProperty("fields").EnumerateArray().ToDictionary(f => f.Str("name"));
        var external = Assert.Single(fields.Values, f => f.GetProperty("externalId").GetBoolean());
        Assert.Equal(Field, external.Str("name"));
        Assert.Equal("string", external.Str("type"));
        Assert.Equal(255, external.GetProperty("length").GetInt32());
        Assert.True(external.GetProperty("unique").GetBoolean());
        Assert.Equal(["New", "Working", "Escalated", "Closed"], fields["Status"].GetProperty("picklistValues").EnumerateArray().Select(p => p.Str("value")));
        Assert.Equal(["High", "Medium", "Low"], fields["Priority"].GetProperty("picklistValues").EnumerateArray().Select(p => p.Str("value")));
        Assert.Equal(32_000, fields["Description"].GetProperty("length").GetInt32());

        _sf.ExternalIdField = "Partner_Key__c";
        (_, body, _) = await Send(HttpMethod.Get, "sobjects/Case/describe", null);
        Assert.Contains(body.GetProperty("fields").EnumerateArray(), f => f.Str("name") == "Partner_Key__c" && f.GetProperty("externalId").GetBoolean());
        var (upserted, _, _) = await Upsert("K-1", new { Subject = "by the renamed field" }, field: "Partner_Key__c");
        Assert.Equal(HttpStatusCode.Created, upserted);
    }

    [Fact]
    public async Task CaseComment_is_created_with_201_and_read_back_by_ParentId_and_moves_its_case()
    {
        var parent = SalesforceEmulator.CaseId(5);
        var before = _sf.CaseFieldValue(parent, "SystemModstamp");
        var (status, body, _) = await Send(HttpMethod.Post, "sobjects/CaseComment", new { ParentId = parent, CommentBody = "Partner says hi", IsPublished = true });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.True(body.GetProperty("success").GetBoolean());
        Assert.Equal(0, body.GetProperty("errors").GetArrayLength());
        var id = body.Str("id");
        await Send(HttpMethod.Post, "sobjects/CaseComment", new { ParentId = SalesforceEmulator.CaseId(6), CommentBody = "elsewhere" });

        var comments = await Query($"SELECT Id, ParentId, CommentBody, CreatedDate FROM CaseComment WHERE ParentId = '{parent}'");
        Assert.Equal(1, comments.GetProperty("totalSize").GetInt32());
        var comment = comments.GetProperty("records")[0];
        Assert.Equal("CaseComment", comment.GetProperty("attributes").Str("type"));
        Assert.Equal(id, comment.Str("Id"));
        Assert.Equal(parent, comment.Str("ParentId"));
        Assert.Equal("Partner says hi", comment.Str("CommentBody"));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$", comment.Str("CreatedDate"));
        Assert.True(string.CompareOrdinal(_sf.CaseFieldValue(parent, "SystemModstamp"), before) > 0);
    }

    [Theory]
    [InlineData("{\"ParentId\":\"5005g0000009999AAA\",\"CommentBody\":\"x\"}", "FIELD_INTEGRITY_EXCEPTION")]
    [InlineData("{\"ParentId\":\"5005g0000000001AAA\"}", "REQUIRED_FIELD_MISSING")]
    [InlineData("{\"ParentId\":\"5005g0000000001AAA\",\"CommentBody\":\"x\",\"Mood__c\":\"calm\"}", "INVALID_FIELD")]
    public async Task A_bad_CaseComment_is_400(string json, string errorCode)
    {
        var (status, body, _) = await Send(HttpMethod.Post, "sobjects/CaseComment", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(errorCode, body[0].Str("errorCode"));
        var comments = await Query("SELECT Id FROM CaseComment WHERE ParentId = '5005g0000000001AAA'");
        Assert.Equal(0, comments.GetProperty("totalSize").GetInt32());
    }

    [Fact]
    public async Task FailNextWrites_answers_500_unapplied_for_that_many_writes_and_reads_are_not_counted()
    {
        _sf.FailNextWrites = 2;
        var (read, _, _) = await Send(HttpMethod.Get, "sobjects/Case/describe", null);
        Assert.Equal(HttpStatusCode.OK, read);
        var (status, body, _) = await Upsert("P-1", new { Subject = "x" });
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("UNKNOWN_EXCEPTION", body[0].Str("errorCode"));
        (status, _, _) = await Send(HttpMethod.Post, "sobjects/CaseComment", new { ParentId = SalesforceEmulator.CaseId(1), CommentBody = "x" });
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Null(_sf.FindCaseByExternalId("P-1"));
        (status, _, _) = await Upsert("P-1", new { Subject = "x" });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(0, _sf.FailNextWrites);
    }

    [Fact]
    public async Task ThrottleNextWrites_answers_429_with_Retry_After_then_lets_writes_through()
    {
        _sf.ThrottleNextWrites = 1;
        var (status, body, response) = await Send(HttpMethod.Patch, $"composite/sobjects/Case/{Field}", Collection(false, Record("P-1", "x")));
        Assert.Equal((HttpStatusCode)429, status);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter!.Delta);
        Assert.Equal("REQUEST_LIMIT_EXCEEDED", body[0].Str("errorCode"));
        Assert.Null(_sf.FindCaseByExternalId("P-1"));
        (status, _, _) = await Send(HttpMethod.Patch, $"composite/sobjects/Case/{Field}", Collection(false, Record("P-1", "x")));
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Writes_need_a_valid_access_token()
    {
        var (status, body, _) = await Send(HttpMethod.Patch, $"sobjects/Case/{Field}/P-1", new { Subject = "x" }, token: "00D!forged");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("INVALID_SESSION_ID", body[0].Str("errorCode"));
        _sf.ExpireAccessTokens();
        (status, body, _) = await Send(HttpMethod.Post, "sobjects/CaseComment", new { ParentId = SalesforceEmulator.CaseId(1), CommentBody = "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("INVALID_SESSION_ID", body[0].Str("errorCode"));
        (status, _, _) = await Send(HttpMethod.Get, $"sobjects/Case/{SalesforceEmulator.CaseId(1)}", null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(0, _sf.WritesApplied);
    }

    [Fact]
    public async Task RejectedField_is_INVALID_FIELD_FOR_INSERT_UPDATE_naming_it()
    {
        _sf.RejectedField = "Description";
        var (status, body, _) = await Upsert("P-1", new { Subject = "x", Description = "secret" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("INVALID_FIELD_FOR_INSERT_UPDATE", body[0].Str("errorCode"));
        Assert.Equal(["Description"], body[0].GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
        (status, _, _) = await Upsert("P-1", new { Subject = "x" });
        Assert.Equal(HttpStatusCode.Created, status);
    }

    [Fact]
    public async Task WriteDelay_holds_writes_back_but_not_reads()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _sf.WriteDelay = EmulatorHost.MaxLatency + TimeSpan.FromSeconds(1));
        _sf.WriteDelay = TimeSpan.FromMilliseconds(300);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (status, _, _) = await Upsert("P-1", new { Subject = "x" });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), clock.Elapsed.ToString());
        _sf.WriteDelay = TimeSpan.Zero;
    }
}
