using System.Net;
using System.Text.Json;
using static ConnectionTools.Emulators.Tests.CaseApiClient;

namespace ConnectionTools.Emulators.Tests;

public sealed class EntraIncidentsTests : IAsyncLifetime
{
    private const string Org = "https://contoso.crm.dynamics.com";
    private const string ClientId = "33333333-3333-3333-3333-333333333333";
    private const string Secret = "incidents~secret";
    private const string Select = "$select=incidentid,ticketnumber,title,statecode,modifiedon";
    private const string OrderBy = "&$orderby=modifiedon%20asc,incidentid%20asc";
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private EntraEmulator _entra = null!;
    private HttpClient _http = null!;
    private string _token = null!;

    public async Task InitializeAsync()
    {
        _entra = await EntraEmulator.StartNewAsync();
        _entra.RegisterResource(Org);
        _entra.RegisterClient(ClientId, Secret);
        _entra.AddCases(1200, Start, TimeSpan.FromSeconds(1));
        _http = new HttpClient(_entra.CreateTrustingHandler());
        _token = await EntraClientCredentialsAsync(_http, _entra, ClientId, Secret, Org);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _entra.DisposeAsync();
    }

    private Uri Incidents(string query) => new(_entra.BaseUri, "api/data/v9.2/incidents?" + query);

    private static string Filter(string op, DateTimeOffset at) =>
        "&$filter=" + Uri.EscapeDataString($"modifiedon {op} {at.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}");

    private Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Get(Uri uri, int? maxPageSize = null, string? token = "") =>
        GetAsync(_http, uri, token == "" ? _token : token,
            maxPageSize is null ? [("OData-Version", "4.0")] : [("OData-Version", "4.0"), ("Prefer", $"odata.maxpagesize={maxPageSize}")]);

    [Fact]
    public async Task Incidents_page_through_nextLinks_with_paging_cookies()
    {
        var ids = new List<string>();
        var (status, body, response) = await Get(Incidents(Select + OrderBy), maxPageSize: 500);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("odata.maxpagesize=500", response.Headers.GetValues("Preference-Applied").Single());
        Assert.Equal("4.0", response.Headers.GetValues("OData-Version").Single());
        var pages = 1;
        while (true)
        {
            var value = body.GetProperty("value");
            ids.AddRange(Ids(value, "incidentid"));
            if (!body.TryGetProperty("@odata.nextLink", out var next))
            {
                break;
            }
            Assert.Equal(500, value.GetArrayLength());
            var link = new Uri(next.GetString()!);
            Assert.Equal(_entra.BaseUri.Authority, link.Authority);
            Assert.Contains("$skiptoken=", link.Query, StringComparison.Ordinal);
            Assert.Contains(Uri.EscapeDataString($"<cookie pagenumber=\"{pages + 1}\""), link.Query, StringComparison.Ordinal);
            Assert.Contains("$select=", link.Query, StringComparison.Ordinal);
            (status, body, _) = await Get(link, maxPageSize: 500);
            Assert.Equal(HttpStatusCode.OK, status);
            pages++;
        }
        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(1, 1200).Select(EntraEmulator.CaseId), ids);
        Assert.Equal(3, _entra.IncidentPagesServed);
    }

    [Fact]
    public async Task Records_have_the_Web_API_shape()
    {
        var (_, body, _) = await Get(Incidents(Select + OrderBy), maxPageSize: 10);
        var first = body.GetProperty("value")[0];
        Assert.EndsWith("/api/data/v9.2/$metadata#incidents(incidentid,ticketnumber,title,statecode,modifiedon)", body.Str("@odata.context"), StringComparison.Ordinal);
        Assert.StartsWith("W/\"", first.Str("@odata.etag"), StringComparison.Ordinal);
        Assert.True(Guid.TryParse(first.Str("incidentid"), out _));
        Assert.Equal(EntraEmulator.CaseId(1), first.Str("incidentid"));
        Assert.Matches(@"^CAS-00001-[A-Z0-9]{6}$", first.Str("ticketnumber"));
        Assert.False(string.IsNullOrEmpty(first.Str("title")));
        Assert.Equal(JsonValueKind.Number, first.GetProperty("statecode").ValueKind);
        Assert.Equal("2026-11-21T10:00:00Z", first.Str("modifiedon"));
    }

    [Fact]
    public async Task The_filter_honours_ge_and_gt_on_shared_timestamps()
    {
        var at = Start.AddSeconds(3); // incidents 4 and 5 share it
        var (_, ge, _) = await Get(Incidents(Select + Filter("ge", at) + OrderBy));
        var (_, gt, _) = await Get(Incidents(Select + Filter("gt", at) + OrderBy));
        Assert.Equal(1197, ge.GetProperty("value").GetArrayLength());
        Assert.Equal(1195, gt.GetProperty("value").GetArrayLength());
        Assert.Equal([EntraEmulator.CaseId(4), EntraEmulator.CaseId(5)], Ids(ge.GetProperty("value"), "incidentid").Take(2));
        Assert.False(ge.TryGetProperty("@odata.nextLink", out _));
    }

    [Fact]
    public async Task Page_size_defaults_to_5000()
    {
        _entra.AddCases(5000, Start.AddDays(1), TimeSpan.FromSeconds(1));
        var (_, body, response) = await Get(Incidents(Select));
        Assert.Equal(5000, body.GetProperty("value").GetArrayLength());
        Assert.True(body.TryGetProperty("@odata.nextLink", out _));
        Assert.False(response.Headers.Contains("Preference-Applied"));
    }

    [Theory]
    [InlineData("$filter=statecode%20eq%200")]
    [InlineData("$filter=modifiedon%20le%202026-11-21T10:00:00Z")]
    [InlineData("$select=incidentid,secret_field")]
    [InlineData("$orderby=title%20desc")]
    [InlineData("$top=5")]
    [InlineData("$skiptoken=%3Ccookie%20pagenumber%3D%222%22%20%2F%3E")]
    public async Task Other_query_shapes_are_400(string query)
    {
        var (status, body, _) = await Get(Incidents(query));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("0x", body.GetProperty("error").Str("code"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Incidents_need_a_valid_token_and_ExpireAccessTokens_lets_a_new_token_work()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await Get(Incidents(Select), token: null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Get(Incidents(Select), token: "eyJ0.forged")).Status);
        _entra.ExpireAccessTokens();
        var (expired, _, response) = await Get(Incidents(Select));
        Assert.Equal(HttpStatusCode.Unauthorized, expired);
        Assert.StartsWith("Bearer authorization_uri=", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(_http, _entra.WhoAmIEndpoint, _token)).Status);

        var fresh = await EntraClientCredentialsAsync(_http, _entra, ClientId, Secret, Org);
        Assert.Equal(HttpStatusCode.OK, (await Get(Incidents(Select), token: fresh)).Status);
    }

    [Fact]
    public async Task FailOnPage_answers_500_on_that_page_until_cleared()
    {
        _entra.FailOnPage = 2;
        var (_, body, _) = await Get(Incidents(Select + OrderBy), maxPageSize: 500);
        var next = new Uri(body.Str("@odata.nextLink"));
        var (failed, error, _) = await Get(next, maxPageSize: 500);
        Assert.Equal(HttpStatusCode.InternalServerError, failed);
        Assert.Equal("0x80040216", error.GetProperty("error").Str("code"));
        _entra.FailOnPage = null;
        var (ok, page2, _) = await Get(next, maxPageSize: 500);
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal(EntraEmulator.CaseId(501), page2.GetProperty("value")[0].Str("incidentid"));
    }

    [Fact]
    public async Task TouchCase_moves_an_incident_to_its_new_modifiedon()
    {
        var id = EntraEmulator.CaseId(10);
        _entra.TouchCase(id.ToUpperInvariant(), Start.AddHours(2).AddMilliseconds(250));
        Assert.Equal(1200, _entra.CaseCount);
        var (_, body, _) = await Get(Incidents(Select + Filter("ge", Start.AddHours(1)) + OrderBy));
        var value = body.GetProperty("value");
        Assert.Equal(1, value.GetArrayLength());
        Assert.Equal(id, value[0].Str("incidentid"));
        Assert.Equal("2026-11-21T12:00:00.250Z", value[0].Str("modifiedon"));
        Assert.Contains("(update 1)", value[0].Str("title"), StringComparison.Ordinal);
        Assert.Throws<KeyNotFoundException>(() => _entra.TouchCase(Guid.NewGuid().ToString(), Start));
    }

    [Fact]
    public async Task Incidents_obey_Latency()
    {
        _entra.Latency = TimeSpan.FromMilliseconds(300);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await Get(Incidents(Select))).Status);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), clock.Elapsed.ToString());
    }

    [Fact]
    public async Task Incidents_obey_TooManyRequestsRatio()
    {
        _entra.TooManyRequestsRatio = 1;
        var (status, _, response) = await Get(Incidents(Select));
        Assert.Equal((HttpStatusCode)429, status);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter!.Delta);
    }
}
