using System.Net;
using System.Text;
using System.Text.Json;
using static ConnectionTools.Emulators.Tests.CaseApiClient;

namespace ConnectionTools.Emulators.Tests;

/// <summary>The incident's statecode/statuscode rules, CloseIncident, $batch's request cap and paged notes.</summary>
public sealed class EntraIncidentStateTests : IAsyncLifetime
{
    private const string Org = "https://contoso.crm.dynamics.com";
    private const string ClientId = "44444444-4444-4444-4444-444444444444";
    private const string Secret = "state~secret";
    private const string Account = "/accounts(6f1c2a3b-0000-4000-8000-00000000a001)";
    private EntraEmulator _entra = null!;
    private HttpClient _http = null!;
    private string _token = null!;

    public async Task InitializeAsync()
    {
        _entra = await EntraEmulator.StartNewAsync();
        _entra.RegisterResource(Org);
        _entra.RegisterClient(ClientId, Secret);
        _http = new HttpClient(_entra.CreateTrustingHandler());
        _token = await EntraClientCredentialsAsync(_http, _entra, ClientId, Secret, Org);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _entra.DisposeAsync();
    }

    private Uri Api(string relative) => new(_entra.BaseUri, "api/data/v9.2/" + relative);

    private static string Key(string value) => $"incidents(ct_partnerid='{Uri.EscapeDataString(value)}')";

    private Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Send(HttpMethod method, string relative, object? body,
        params (string Name, string Value)[] headers) =>
        SendAsync(_http, method, Api(relative), _token, body is null ? null : JsonSerializer.Serialize(body), [("OData-Version", "4.0"), .. headers]);

    private async Task<string> CreateAsync(string key)
    {
        var (status, _, _) = await Send(HttpMethod.Patch, Key(key), new Dictionary<string, object?> { ["title"] = key, ["customerid_account@odata.bind"] = Account });
        Assert.Equal(HttpStatusCode.NoContent, status);
        return _entra.FindIncidentByAlternateKey(key)!;
    }

    private static object Close(string bind, int status) => new Dictionary<string, object?>
    {
        ["IncidentResolution"] = new Dictionary<string, object?>
        {
            ["@odata.type"] = "Microsoft.Dynamics.CRM.incidentresolution",
            ["subject"] = "Done",
            ["incidentid@odata.bind"] = bind,
        },
        ["Status"] = status,
    };

    private static void AssertError(HttpStatusCode expected, string code, (HttpStatusCode Status, JsonElement Body, HttpResponseMessage _) answer)
    {
        Assert.Equal(expected, answer.Status);
        Assert.Equal(code, answer.Body.GetProperty("error").Str("code"));
    }

    [Fact]
    public async Task An_update_may_cancel_or_reactivate_but_not_resolve_and_a_closed_incident_takes_no_other_update()
    {
        var id = await CreateAsync("S-1");
        Assert.Equal((0, 1), _entra.IncidentState(id));

        AssertError(HttpStatusCode.BadRequest, "0x80040203", await Send(HttpMethod.Patch, $"incidents({id})", new { statecode = 1, statuscode = 5 }));
        AssertError(HttpStatusCode.BadRequest, "0x8004431A", await Send(HttpMethod.Patch, $"incidents({id})", new { statuscode = 6 }));
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Patch, $"incidents({id})", new { statuscode = 2 })).Status);
        Assert.Equal((0, 2), _entra.IncidentState(id));

        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Patch, $"incidents({id})", new { statecode = 2 })).Status);
        Assert.Equal((2, 6), _entra.IncidentState(id));
        var refused = await Send(HttpMethod.Patch, $"incidents({id})", new { title = "later" });
        AssertError(HttpStatusCode.BadRequest, EntraEmulator.ClosedCaseCode, refused);
        Assert.Contains("already been canceled", refused.Body.GetProperty("error").Str("message"), StringComparison.Ordinal);
        AssertError(HttpStatusCode.BadRequest, EntraEmulator.ClosedCaseCode, await Send(HttpMethod.Patch, $"incidents({id})", new { statecode = 2 }));

        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Patch, $"incidents({id})", new { statecode = 0, statuscode = 3 })).Status);
        Assert.Equal((0, 3), _entra.IncidentState(id));
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Patch, $"incidents({id})", new { title = "open again" })).Status);
    }

    [Fact]
    public async Task CloseIncident_resolves_an_active_incident_once()
    {
        var id = await CreateAsync("S-2");

        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Post, "CloseIncident", Close("/incidents(ct_partnerid='S-2')", -1))).Status);
        Assert.Equal((1, 5), _entra.IncidentState(id));
        Assert.Equal([(id, (string?)"Done")], _entra.Resolutions);

        var again = await Send(HttpMethod.Post, "CloseIncident", Close($"/incidents({id})", 5));
        AssertError(HttpStatusCode.BadRequest, EntraEmulator.ClosedCaseCode, again);
        Assert.Contains("already been resolved", again.Body.GetProperty("error").Str("message"), StringComparison.Ordinal);
        AssertError(HttpStatusCode.BadRequest, EntraEmulator.ClosedCaseCode, await Send(HttpMethod.Patch, $"incidents({id})", new { title = "later" }));
        AssertError(HttpStatusCode.NotFound, "0x80040217", await Send(HttpMethod.Post, "CloseIncident", Close("/incidents(ct_partnerid='nope')", 5)));
        var other = await CreateAsync("S-3");
        AssertError(HttpStatusCode.BadRequest, "0x8004431A", await Send(HttpMethod.Post, "CloseIncident", Close($"/incidents({other})", 6)));
        Assert.Single(_entra.Resolutions);
    }

    private async Task<(HttpStatusCode Status, string Text)> PostBatch(string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Api("$batch"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _token);
        request.Headers.TryAddWithoutValidation("Prefer", "odata.continue-on-error");
        request.Content = new StringContent(body, Encoding.UTF8);
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("multipart/mixed; boundary=batch_s");
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string ChangeSet(string name, params (string Method, string Url, object Body)[] requests) =>
        $"--batch_s\r\nContent-Type: multipart/mixed; boundary={name}\r\n\r\n" +
        string.Concat(requests.Select((r, i) =>
            $"--{name}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {i + 1}\r\n\r\n" +
            $"{r.Method} {r.Url} HTTP/1.1\r\nContent-Type: application/json\r\nIf-Match: *\r\n\r\n{JsonSerializer.Serialize(r.Body)}\r\n")) +
        $"--{name}--\r\n";

    [Fact]
    public async Task A_change_set_sees_its_own_reactivation_and_one_that_updates_a_closed_incident_applies_nothing()
    {
        var id = await CreateAsync("S-4");
        var other = await CreateAsync("S-5");
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Post, "CloseIncident", Close($"/incidents({id})", 5))).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Post, "CloseIncident", Close($"/incidents({other})", 5))).Status);

        var body = ChangeSet("changeset_ok",
                       ("PATCH", Key("S-4"), new { statecode = 0, statuscode = 1 }),
                       ("PATCH", Key("S-4"), new { title = "reworded" }),
                       ("POST", "CloseIncident", Close("/incidents(ct_partnerid='S-4')", 1000))) +
                   ChangeSet("changeset_closed",
                       ("PATCH", Key("S-5"), new { title = "refused" }),
                       ("PATCH", Key("S-5"), new { statecode = 0 })) +
                   "--batch_s--\r\n";
        var (status, text) = await PostBatch(body);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(EntraEmulator.ClosedCaseCode, text, StringComparison.Ordinal);
        Assert.Equal((1, 1000), _entra.IncidentState(id));
        var (_, row, _) = await Send(HttpMethod.Get, $"incidents({id})", null);
        Assert.Equal("reworded", row.Str("title"));
        Assert.Equal((1, 5), _entra.IncidentState(other));
        var (_, untouched, _) = await Send(HttpMethod.Get, $"incidents({other})", null);
        Assert.Equal("S-5", untouched.Str("title"));
    }

    [Fact]
    public async Task A_batch_of_more_than_1000_requests_is_refused_whole()
    {
        var parts = string.Concat(Enumerable.Range(0, EntraEmulator.MaxBatchRequests + 1).Select(i =>
            $"--batch_s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nPATCH {Key($"M-{i}")} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" +
            $"{{\"title\":\"x\",\"customerid_account@odata.bind\":\"{Account}\"}}\r\n"));
        var (status, text) = await PostBatch(parts + "--batch_s--\r\n");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("1000", text, StringComparison.Ordinal);
        Assert.Null(_entra.FindIncidentByAlternateKey("M-0"));
    }

    [Fact]
    public async Task Notes_are_read_oldest_first_in_pages_with_a_next_link()
    {
        var id = await CreateAsync("S-6");
        foreach (var text in new[] { "a", "b", "c" })
        {
            var (status, _, _) = await Send(HttpMethod.Post, "annotations",
                new Dictionary<string, object?> { ["notetext"] = text, ["objectid_incident@odata.bind"] = $"/incidents({id})" });
            Assert.Equal(HttpStatusCode.NoContent, status);
        }

        var url = Api("annotations?$select=notetext,createdon&$filter=" + Uri.EscapeDataString($"_objectid_value eq {id} and objecttypecode eq 'incident'") +
                      "&$orderby=" + Uri.EscapeDataString("createdon asc"));
        var texts = new List<string>();
        var pages = 0;
        while (true)
        {
            var (status, page, _) = await SendAsync(_http, HttpMethod.Get, url, _token, null, [("Prefer", "odata.maxpagesize=2")]);
            Assert.Equal(HttpStatusCode.OK, status);
            pages++;
            texts.AddRange(page.GetProperty("value").EnumerateArray().Select(n => n.Str("notetext")));
            Assert.False(page.GetProperty("value")[0].TryGetProperty("subject", out _));
            if (!page.TryGetProperty("@odata.nextLink", out var next))
            {
                break;
            }
            url = new Uri(next.GetString()!);
        }

        Assert.Equal(["a", "b", "c"], texts);
        Assert.Equal(2, pages);
    }
}
