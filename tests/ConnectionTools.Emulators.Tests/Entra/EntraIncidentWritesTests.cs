using System.Net;
using System.Text;
using System.Text.Json;
using static ConnectionTools.Emulators.Tests.CaseApiClient;

namespace ConnectionTools.Emulators.Tests;

public sealed class EntraIncidentWritesTests : IAsyncLifetime
{
    private const string Org = "https://contoso.crm.dynamics.com";
    private const string ClientId = "44444444-4444-4444-4444-444444444444";
    private const string Secret = "writes~secret";
    private const string Account = "/accounts(6f1c2a3b-0000-4000-8000-00000000a001)";
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private EntraEmulator _entra = null!;
    private HttpClient _http = null!;
    private string _token = null!;

    public async Task InitializeAsync()
    {
        _entra = await EntraEmulator.StartNewAsync();
        _entra.RegisterResource(Org);
        _entra.RegisterClient(ClientId, Secret);
        _entra.AddCases(20, Start, TimeSpan.FromSeconds(1));
        _http = new HttpClient(_entra.CreateTrustingHandler());
        _token = await EntraClientCredentialsAsync(_http, _entra, ClientId, Secret, Org);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _entra.DisposeAsync();
    }

    private Uri Api(string relative) => new(_entra.BaseUri, "api/data/v9.2/" + relative);

    private static string Key(string value) => $"incidents(ct_partnerid='{Uri.EscapeDataString(value.Replace("'", "''", StringComparison.Ordinal))}')";

    private Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Send(HttpMethod method, string relative, object? body,
        string? token = "", params (string Name, string Value)[] headers) =>
        SendAsync(_http, method, Api(relative), token == "" ? _token : token, body is null ? null : body as string ?? JsonSerializer.Serialize(body),
            [("OData-Version", "4.0"), .. headers]);

    private static Dictionary<string, object?> NewIncident(string title) => new() { ["title"] = title, ["customerid_account@odata.bind"] = Account };

    [Fact]
    public async Task Upsert_by_alternate_key_answers_204_with_OData_EntityId_for_create_and_update()
    {
        var (status, _, response) = await Send(HttpMethod.Patch, Key("P-1"), NewIncident("From partner"));
        Assert.Equal(HttpStatusCode.NoContent, status);
        var id = EntraEmulator.CaseId(21);
        Assert.EndsWith($"/api/data/v9.2/incidents({id})", response.Headers.GetValues("OData-EntityId").Single(), StringComparison.Ordinal);
        Assert.Equal(id, _entra.FindIncidentByAlternateKey("P-1"));

        (status, _, response) = await Send(HttpMethod.Patch, Key("p-1"), new { prioritycode = 1, description = "more detail" });
        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.EndsWith($"incidents({id})", response.Headers.GetValues("OData-EntityId").Single(), StringComparison.Ordinal);

        var (getStatus, record, _) = await Send(HttpMethod.Get, $"incidents({id})", null);
        Assert.Equal(HttpStatusCode.OK, getStatus);
        Assert.Equal("From partner", record.Str("title"));
        Assert.Equal("more detail", record.Str("description"));
        Assert.Equal(1, record.GetProperty("prioritycode").GetInt32());
        Assert.Equal(0, record.GetProperty("statecode").GetInt32());
        Assert.Equal("P-1", record.Str("ct_partnerid"));
        Assert.Equal("6f1c2a3b-0000-4000-8000-00000000a001", record.Str("_customerid_value"));
        Assert.Equal(2, _entra.WritesApplied);
    }

    [Fact]
    public async Task Prefer_return_representation_answers_201_on_create_and_200_on_update_with_the_row()
    {
        var (status, body, _) = await Send(HttpMethod.Patch, Key("P-2"), NewIncident("Represented"), headers: ("Prefer", "return=representation"));
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("Represented", body.Str("title"));
        Assert.Equal("P-2", body.Str("ct_partnerid"));
        (status, body, _) = await Send(HttpMethod.Patch, Key("P-2"), new { title = "Renamed" }, headers: ("Prefer", "return=representation"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Renamed", body.Str("title"));
    }

    [Theory]
    [InlineData("{\"title\":\"no customer\"}", 400, "0x80040200")]
    [InlineData("{\"title\":\"x\",\"customerid_account@odata.bind\":\"/accounts(6f1c2a3b-0000-4000-8000-00000000a001)\",\"severity\":1}", 400, "0x80060888")]
    [InlineData("{\"customerid_account@odata.bind\":\"/accounts(not-a-guid)\"}", 400, "0x80060888")]
    [InlineData("{\"customerid_account@odata.bind\":\"/accounts(6f1c2a3b-0000-4000-8000-00000000a001)\",\"prioritycode\":9}", 400, "0x8004431A")]
    [InlineData("{\"customerid_account@odata.bind\":\"/accounts(6f1c2a3b-0000-4000-8000-00000000a001)\",\"prioritycode\":\"High\"}", 400, "0x80060888")]
    public async Task Bad_bodies_answer_the_Dataverse_error_and_create_nothing(string json, int status, string code)
    {
        var (actual, body, _) = await Send(HttpMethod.Patch, Key("P-bad"), json);
        Assert.Equal((HttpStatusCode)status, actual);
        Assert.Equal(code, body.GetProperty("error").Str("code"));
        Assert.False(string.IsNullOrEmpty(body.GetProperty("error").Str("message")));
        Assert.Null(_entra.FindIncidentByAlternateKey("P-bad"));
        Assert.Equal(20, _entra.CaseCount);
    }

    [Fact]
    public async Task A_title_longer_than_200_is_0x80044331()
    {
        var (status, body, _) = await Send(HttpMethod.Patch, Key("P-1"), NewIncident(new string('t', 201)));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("0x80044331", body.GetProperty("error").Str("code"));
        (status, _, _) = await Send(HttpMethod.Patch, Key("P-1"), NewIncident(new string('t', 200)));
        Assert.Equal(HttpStatusCode.NoContent, status);
    }

    [Fact]
    public async Task If_Match_star_prevents_create_and_If_None_Match_star_prevents_update()
    {
        var (status, body, _) = await Send(HttpMethod.Patch, Key("P-1"), NewIncident("x"), headers: ("If-Match", "*"));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("0x80040217", body.GetProperty("error").Str("code"));
        Assert.Null(_entra.FindIncidentByAlternateKey("P-1"));
        (status, _, _) = await Send(HttpMethod.Patch, Key("P-1"), NewIncident("x"), headers: ("If-None-Match", "*"));
        Assert.Equal(HttpStatusCode.NoContent, status);
        (status, body, _) = await Send(HttpMethod.Patch, Key("P-1"), new { title = "y" }, headers: ("If-None-Match", "*"));
        Assert.Equal(HttpStatusCode.PreconditionFailed, status);
        Assert.Equal("0x80040237", body.GetProperty("error").Str("code"));
        (status, _, _) = await Send(HttpMethod.Patch, Key("P-1"), new { title = "y" }, headers: ("If-Match", "*"));
        Assert.Equal(HttpStatusCode.NoContent, status);
    }

    [Fact]
    public async Task Written_incidents_show_up_in_the_incidents_query_after_the_high_water_mark()
    {
        var (_, all, _) = await GetAsync(_http, Api("incidents?$select=incidentid,modifiedon&$orderby=modifiedon%20asc,incidentid%20asc"), _token);
        var mark = all.GetProperty("value").EnumerateArray().Last().Str("modifiedon");
        var filter = "$select=incidentid,title,description,prioritycode,ct_partnerid,modifiedon&$filter=" + Uri.EscapeDataString($"modifiedon gt {mark}") +
                     "&$orderby=modifiedon%20asc,incidentid%20asc";

        await Send(HttpMethod.Patch, Key("P-1"), NewIncident("From partner"));
        var generated = EntraEmulator.CaseId(5); // an active one: a resolved or canceled incident takes no update
        var (status, _, _) = await Send(HttpMethod.Patch, $"incidents({generated})", new { description = "edited" });
        Assert.Equal(HttpStatusCode.NoContent, status);

        var (_, changed, _) = await GetAsync(_http, Api("incidents?" + filter), _token);
        var rows = changed.GetProperty("value");
        Assert.Equal([EntraEmulator.CaseId(21), generated], Ids(rows, "incidentid"));
        Assert.Equal("From partner", rows[0].Str("title"));
        Assert.Equal("P-1", rows[0].Str("ct_partnerid"));
        Assert.Equal("edited", rows[1].Str("description"));
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("ct_partnerid").ValueKind);
        Assert.True(DateTimeOffset.Parse(rows[0].Str("modifiedon"), System.Globalization.CultureInfo.InvariantCulture) >
                    DateTimeOffset.Parse(mark, System.Globalization.CultureInfo.InvariantCulture));

        var (_, unchanged, _) = await GetAsync(_http, Api("incidents?$select=incidentid,title&$orderby=modifiedon%20asc,incidentid%20asc"), _token);
        Assert.Equal(21, unchanged.GetProperty("value").GetArrayLength());
        Assert.Equal(EntraEmulator.CaseId(1), unchanged.GetProperty("value")[0].Str("incidentid"));
    }

    [Fact]
    public async Task A_write_sorts_after_generated_incidents_that_lie_in_the_future()
    {
        var future = DateTimeOffset.UtcNow.AddYears(1);
        _entra.AddCases(4, future, TimeSpan.FromSeconds(1));
        await Send(HttpMethod.Patch, Key("P-late"), NewIncident("after the future"));
        var filter = "$select=incidentid&$filter=" + Uri.EscapeDataString($"modifiedon gt {future.AddSeconds(3).UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}") +
                     "&$orderby=modifiedon%20asc,incidentid%20asc";
        var (_, changed, _) = await GetAsync(_http, Api("incidents?" + filter), _token);
        Assert.Equal([_entra.FindIncidentByAlternateKey("P-late")!], Ids(changed.GetProperty("value"), "incidentid"));
    }

    [Fact]
    public async Task Keys_lists_the_alternate_key_and_OmitAlternateKey_removes_it()
    {
        var (status, body, _) = await Send(HttpMethod.Get, "EntityDefinitions(LogicalName='incident')/Keys", null);
        Assert.Equal(HttpStatusCode.OK, status);
        var key = Assert.Single(body.GetProperty("value").EnumerateArray());
        Assert.Equal(["ct_partnerid"], key.GetProperty("KeyAttributes").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("Active", key.Str("EntityKeyIndexStatus"));

        _entra.OmitAlternateKey = true;
        (_, body, _) = await Send(HttpMethod.Get, "EntityDefinitions(LogicalName='incident')/Keys", null);
        Assert.Equal(0, body.GetProperty("value").GetArrayLength());
        (status, body, _) = await Send(HttpMethod.Patch, Key("P-1"), NewIncident("x"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("0x80060888", body.GetProperty("error").Str("code"));
    }

    [Fact]
    public async Task Notes_are_created_on_an_incident_and_read_back_by_objectid()
    {
        var incident = EntraEmulator.CaseId(3);
        var (status, _, response) = await Send(HttpMethod.Post, "annotations",
            new Dictionary<string, object?> { ["subject"] = "Partner note", ["notetext"] = "hello", ["objectid_incident@odata.bind"] = $"/incidents({incident})" });
        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Contains("/api/data/v9.2/annotations(", response.Headers.GetValues("OData-EntityId").Single(), StringComparison.Ordinal);

        var (_, notes, _) = await Send(HttpMethod.Get, "annotations?$filter=" + Uri.EscapeDataString($"_objectid_value eq {incident}"), null);
        var note = Assert.Single(notes.GetProperty("value").EnumerateArray());
        Assert.Equal("Partner note", note.Str("subject"));
        Assert.Equal("hello", note.Str("notetext"));
        Assert.Equal(incident, note.Str("_objectid_value"));

        (status, var error, _) = await Send(HttpMethod.Post, "annotations",
            new Dictionary<string, object?> { ["notetext"] = "x", ["objectid_incident@odata.bind"] = $"/incidents({EntraEmulator.CaseId(999)})" });
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("0x80040217", error.GetProperty("error").Str("code"));
    }

    private static string BatchBody(string batch, params string[] parts) =>
        string.Concat(parts.Select(p => $"--{batch}\r\n{p}\r\n")) + $"--{batch}--\r\n";

    private static string Changeset(string changeset, params (string Method, string Url, string Body)[] requests) =>
        $"Content-Type: multipart/mixed; boundary={changeset}\r\n\r\n" +
        string.Concat(requests.Select((r, i) =>
            $"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {i + 1}\r\n\r\n" +
            $"{r.Method} {r.Url} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{r.Body}\r\n")) +
        $"--{changeset}--";

    private async Task<(HttpStatusCode Status, string Text)> PostBatch(string batch, string body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Api("$batch"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _token);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        request.Content = new StringContent(body, Encoding.UTF8);
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse($"multipart/mixed; boundary={batch}");
        using var response = await _http.SendAsync(request);
        Assert.StartsWith("multipart/mixed", response.Content.Headers.ContentType?.MediaType ?? "", StringComparison.Ordinal);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string Json(object o) => JsonSerializer.Serialize(o);

    [Fact]
    public async Task Batch_change_set_applies_every_request()
    {
        var body = BatchBody("batch_1", Changeset("changeset_1",
            ("PATCH", Api(Key("B-1")).AbsoluteUri, Json(NewIncident("one"))),
            ("PATCH", "/api/data/v9.2/" + Key("B-2"), Json(NewIncident("two"))),
            ("PATCH", Key("B-1"), Json(new { title = "one, updated" }))));
        var (status, text) = await PostBatch("batch_1", body);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(3, CountOf(text, "HTTP/1.1 204 No Content"));
        Assert.Contains("--changesetresponse_", text, StringComparison.Ordinal);
        Assert.Contains("Content-ID: 3", text, StringComparison.Ordinal);
        Assert.NotNull(_entra.FindIncidentByAlternateKey("B-2"));
        var (_, one, _) = await Send(HttpMethod.Get, Key("B-1"), null);
        Assert.Equal("one, updated", one.Str("title"));
    }

    [Fact]
    public async Task A_failing_change_set_applies_nothing_and_answers_its_error_and_later_parts_wait_for_continue_on_error()
    {
        var failing = Changeset("changeset_a",
            ("PATCH", Key("C-1"), Json(NewIncident("fine"))),
            ("PATCH", Key("C-2"), Json(new { title = "no customer" })));
        var single = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
                     $"PATCH {Key("C-3")} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{Json(NewIncident("after"))}";
        var (status, text) = await PostBatch("batch_2", BatchBody("batch_2", failing, single));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("HTTP/1.1 400 Bad Request", text, StringComparison.Ordinal);
        Assert.Contains("0x80040200", text, StringComparison.Ordinal);
        Assert.Contains("Content-ID: 2", text, StringComparison.Ordinal);
        Assert.Null(_entra.FindIncidentByAlternateKey("C-1"));
        Assert.Null(_entra.FindIncidentByAlternateKey("C-3"));

        (status, text) = await PostBatch("batch_3", BatchBody("batch_3", failing, single), ("Prefer", "odata.continue-on-error"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("HTTP/1.1 204 No Content", text, StringComparison.Ordinal);
        Assert.Null(_entra.FindIncidentByAlternateKey("C-1"));
        Assert.NotNull(_entra.FindIncidentByAlternateKey("C-3"));
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    [Fact]
    public async Task FailNextWrites_and_ThrottleNextWrites_answer_500_and_429_unapplied_then_let_writes_through()
    {
        _entra.ThrottleNextWrites = 1;
        _entra.FailNextWrites = 1;
        var (status, body, response) = await Send(HttpMethod.Patch, Key("P-1"), NewIncident("x"));
        Assert.Equal((HttpStatusCode)429, status);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter!.Delta);
        Assert.Equal("0x80072322", body.GetProperty("error").Str("code"));
        (status, body, _) = await Send(HttpMethod.Patch, Key("P-1"), NewIncident("x"));
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("0x80040216", body.GetProperty("error").Str("code"));
        Assert.Null(_entra.FindIncidentByAlternateKey("P-1"));
        var (read, _, _) = await Send(HttpMethod.Get, "EntityDefinitions(LogicalName='incident')/Keys", null);
        Assert.Equal(HttpStatusCode.OK, read);
        (status, _, _) = await Send(HttpMethod.Patch, Key("P-1"), NewIncident("x"));
        Assert.Equal(HttpStatusCode.NoContent, status);
    }

    [Fact]
    public async Task Writes_need_a_valid_token_and_RejectedIncidentField_is_refused()
    {
        var (status, _, response) = await Send(HttpMethod.Patch, Key("P-1"), NewIncident("x"), token: "forged");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        _entra.ExpireAccessTokens();
        (status, _, _) = await Send(HttpMethod.Post, "annotations", new { notetext = "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, status);

        _token = await EntraClientCredentialsAsync(_http, _entra, ClientId, Secret, Org);
        _entra.RejectedIncidentField = "description";
        (status, var body, _) = await Send(HttpMethod.Patch, Key("P-1"), new Dictionary<string, object?>(NewIncident("x")) { ["description"] = "secret" });
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("0x80040220", body.GetProperty("error").Str("code"));
        Assert.Equal(0, _entra.WritesApplied);
    }

    [Fact]
    public async Task WriteDelay_holds_writes_back()
    {
        _entra.WriteDelay = TimeSpan.FromMilliseconds(300);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (status, _, _) = await Send(HttpMethod.Patch, Key("P-1"), NewIncident("x"));
        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), clock.Elapsed.ToString());
        _entra.WriteDelay = TimeSpan.Zero;
    }
}
