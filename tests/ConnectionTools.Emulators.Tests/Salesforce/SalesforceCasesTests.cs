using System.Net;
using System.Text.Json;
using static ConnectionTools.Emulators.Tests.CaseApiClient;

namespace ConnectionTools.Emulators.Tests;

public sealed class SalesforceCasesTests : IAsyncLifetime, IDisposable
{
    private const string ConsumerKey = "3MVG9cases.consumer.key";
    private const string Username = "admin@contoso.com";
    private const string Soql = "SELECT Id, CaseNumber, Subject, Status, SystemModstamp FROM Case ORDER BY SystemModstamp ASC, Id ASC";
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false });
    private SalesforceEmulator _sf = null!;
    private string _token = null!;
    private string _refresh = null!;

    public async Task InitializeAsync()
    {
        _sf = await SalesforceEmulator.StartNewAsync();
        _sf.RegisterConnectedApp(ConsumerKey, "secret");
        _sf.RegisterUser(Username);
        _sf.AddCases(1200, Start, TimeSpan.FromSeconds(1));
        (_token, _refresh) = await SalesforceTokensAsync(_http, _sf, ConsumerKey, Username);
    }

    public async Task DisposeAsync() => await _sf.DisposeAsync();

    public void Dispose() => _http.Dispose();

    private Uri Query(string soql) => new(_sf.BaseUri, "services/data/v60.0/query?q=" + Uri.EscapeDataString(soql));

    private Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> Get(Uri uri, int? batchSize = null, string? token = "") =>
        GetAsync(_http, uri, token == "" ? _token : token, batchSize is null ? [] : [("Sforce-Query-Options", $"batchSize={batchSize}")]);

    private static string Where(DateTimeOffset at, string op) =>
        $"SELECT Id, SystemModstamp FROM Case WHERE SystemModstamp {op} {at.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} ORDER BY SystemModstamp ASC, Id ASC";

    [Fact]
    public async Task Query_pages_through_batches_with_query_locators_until_done()
    {
        var ids = new List<string>();
        var (status, body, _) = await Get(Query(Soql), batchSize: 500);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1200, body.GetProperty("totalSize").GetInt32());
        var pages = 1;
        while (true)
        {
            var records = body.GetProperty("records");
            ids.AddRange(Ids(records, "Id"));
            if (body.GetProperty("done").GetBoolean())
            {
                Assert.False(body.TryGetProperty("nextRecordsUrl", out _));
                break;
            }
            Assert.Equal(500, records.GetArrayLength());
            var next = body.Str("nextRecordsUrl");
            Assert.Matches(@"^/services/data/v60\.0/query/01g[0-9A-Za-z]{15}-\d+$", next);
            Assert.EndsWith("-" + (pages * 500), next, StringComparison.Ordinal);
            (status, body, _) = await Get(new Uri(_sf.BaseUri, next.TrimStart('/')), batchSize: 500);
            Assert.Equal(HttpStatusCode.OK, status);
            pages++;
        }
        Assert.Equal(3, pages);
        Assert.Equal(1200, ids.Count);
        Assert.Equal(1200, ids.Distinct().Count());
        Assert.Equal(Enumerable.Range(1, 1200).Select(SalesforceEmulator.CaseId), ids);
        Assert.Equal(3, _sf.QueryPagesServed);
    }

    [Fact]
    public async Task Records_have_the_REST_shape_and_the_selected_fields()
    {
        var (_, body, response) = await Get(Query(Soql), batchSize: 200);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var first = body.GetProperty("records")[0];
        Assert.Equal("Case", first.GetProperty("attributes").Str("type"));
        Assert.Equal("/services/data/v60.0/sobjects/Case/5005g0000000001AAA", first.GetProperty("attributes").Str("url"));
        Assert.Equal("5005g0000000001AAA", first.Str("Id"));
        Assert.Equal(18, first.Str("Id").Length);
        Assert.Equal("00000001", first.Str("CaseNumber"));
        Assert.False(string.IsNullOrEmpty(first.Str("Subject")));
        Assert.Contains(first.Str("Status"), new[] { "New", "Working", "Escalated", "Closed" });
        Assert.Equal("2026-11-21T10:00:00.000+0000", first.Str("SystemModstamp"));
        Assert.Equal(["attributes", "Id", "CaseNumber", "Subject", "Status", "SystemModstamp"], first.EnumerateObject().Select(p => p.Name));

        var (_, narrow, _) = await Get(Query("SELECT Id, SystemModstamp FROM Case ORDER BY SystemModstamp ASC, Id ASC"));
        Assert.Equal(["attributes", "Id", "SystemModstamp"], narrow.GetProperty("records")[0].EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Every_fourth_case_shares_its_predecessors_timestamp_and_the_filter_honours_ge_and_gt()
    {
        // Case k (0-based) is at Start + (k - k/4) s: cases 4 and 5 (numbers) share Start + 3 s.
        var (_, all, _) = await Get(Query(Soql), batchSize: 200);
        var stamps = all.GetProperty("records").EnumerateArray().Select(r => r.Str("SystemModstamp")).Take(6).ToList();
        Assert.Equal(["2026-11-21T10:00:00.000+0000", "2026-11-21T10:00:01.000+0000", "2026-11-21T10:00:02.000+0000",
            "2026-11-21T10:00:03.000+0000", "2026-11-21T10:00:03.000+0000", "2026-11-21T10:00:04.000+0000"], stamps);

        var at = Start.AddSeconds(3);
        var (_, ge, _) = await Get(Query(Where(at, ">=")));
        var (_, gt, _) = await Get(Query(Where(at, ">")));
        Assert.Equal(1200 - 3, ge.GetProperty("totalSize").GetInt32());
        Assert.Equal(1200 - 5, gt.GetProperty("totalSize").GetInt32());
        Assert.Equal([SalesforceEmulator.CaseId(4), SalesforceEmulator.CaseId(5)], Ids(ge.GetProperty("records"), "Id").Take(2));
        Assert.Equal(SalesforceEmulator.CaseId(6), gt.GetProperty("records")[0].Str("Id"));
        Assert.True(ge.GetProperty("done").GetBoolean());
    }

    [Theory]
    [InlineData(null, 2000)]
    [InlineData(50, 200)]
    [InlineData(700, 700)]
    [InlineData(9000, 2000)]
    public async Task Batch_size_defaults_to_2000_and_is_kept_within_200_and_2000(int? requested, int expected)
    {
        _sf.AddCases(2000, Start.AddDays(1), TimeSpan.FromSeconds(1));
        var (_, body, _) = await Get(Query(Soql), batchSize: requested);
        Assert.Equal(expected, body.GetProperty("records").GetArrayLength());
    }

    [Theory]
    [InlineData("SELECT Id FROM Account ORDER BY SystemModstamp ASC, Id ASC")]
    [InlineData("SELECT Id FROM Case WHERE Subject = 'x' ORDER BY SystemModstamp ASC, Id ASC")]
    [InlineData("SELECT Id FROM Case WHERE SystemModstamp >= 2026-13-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC")]
    [InlineData("SELECT Id, Secret__c FROM Case ORDER BY SystemModstamp ASC, Id ASC")]
    [InlineData("SELECT Id FROM Case")]
    [InlineData("")]
    public async Task Other_query_shapes_are_400_MALFORMED_QUERY(string soql)
    {
        var (status, body, _) = await Get(Query(soql));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("MALFORMED_QUERY", body[0].Str("errorCode"));
    }

    [Fact]
    public async Task An_unknown_query_locator_is_400_INVALID_QUERY_LOCATOR()
    {
        var (status, body, _) = await Get(new Uri(_sf.BaseUri, "services/data/v60.0/query/01g5g0000009999AAA-2000"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("INVALID_QUERY_LOCATOR", body[0].Str("errorCode"));
    }

    [Fact]
    public async Task The_query_needs_a_valid_access_token_and_ExpireAccessTokens_leaves_the_refresh_token_working()
    {
        var (none, noneBody, _) = await Get(Query(Soql), token: null);
        Assert.Equal(HttpStatusCode.Unauthorized, none);
        Assert.Equal("INVALID_SESSION_ID", noneBody[0].Str("errorCode"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Get(Query(Soql), token: "00D!forged")).Status);

        _sf.ExpireAccessTokens();
        var (expired, expiredBody, _) = await Get(Query(Soql));
        Assert.Equal(HttpStatusCode.Unauthorized, expired);
        Assert.Equal("Session expired or invalid", expiredBody[0].Str("message"));

        var fresh = await SalesforceRefreshAsync(_http, _sf, ConsumerKey, _refresh);
        Assert.Equal(HttpStatusCode.OK, (await Get(Query(Soql), token: fresh)).Status);
    }

    [Fact]
    public async Task FailOnPage_answers_500_on_that_page_until_cleared()
    {
        _sf.FailOnPage = 2;
        var (first, body, _) = await Get(Query(Soql), batchSize: 500);
        Assert.Equal(HttpStatusCode.OK, first);
        var next = new Uri(_sf.BaseUri, body.Str("nextRecordsUrl").TrimStart('/'));
        var (failed, error, _) = await Get(next, batchSize: 500);
        Assert.Equal(HttpStatusCode.InternalServerError, failed);
        Assert.Equal("UNKNOWN_EXCEPTION", error[0].Str("errorCode"));

        _sf.FailOnPage = null;
        var (ok, page2, _) = await Get(next, batchSize: 500);
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal(SalesforceEmulator.CaseId(501), page2.GetProperty("records")[0].Str("Id"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _sf.FailOnPage = 0);
    }

    [Fact]
    public async Task TouchCase_moves_a_case_to_its_new_SystemModstamp_with_changed_fields()
    {
        var id = SalesforceEmulator.CaseId(10);
        var (_, before, _) = await Get(Query(Soql), batchSize: 200);
        var old = before.GetProperty("records")[9];
        var at = Start.AddHours(2).AddMilliseconds(123);
        _sf.TouchCase(id, at);
        Assert.Equal(1200, _sf.CaseCount);

        var (_, after, _) = await Get(Query(Where(Start.AddHours(1), ">=")));
        var records = after.GetProperty("records");
        Assert.Equal(1, after.GetProperty("totalSize").GetInt32());
        Assert.Equal(id, records[0].Str("Id"));
        Assert.Equal("2026-11-21T12:00:00.123+0000", records[0].Str("SystemModstamp"));
        var (_, full, _) = await Get(Query("SELECT Id, Subject FROM Case WHERE SystemModstamp >= 2026-11-21T12:00:00Z ORDER BY SystemModstamp ASC, Id ASC"));
        Assert.NotEqual(old.Str("Subject"), full.GetProperty("records")[0].Str("Subject"));
        Assert.Throws<KeyNotFoundException>(() => _sf.TouchCase("5005g0000009999AAA", at));
    }

    [Fact]
    public async Task The_query_obeys_TooManyRequestsRatio()
    {
        _sf.TooManyRequestsRatio = 1;
        var (status, _, response) = await Get(Query(Soql));
        Assert.Equal((HttpStatusCode)429, status);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter!.Delta);
        _sf.TooManyRequestsRatio = 0;
    }

    [Fact]
    public async Task The_query_obeys_Latency()
    {
        _sf.Latency = TimeSpan.FromMilliseconds(300);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (status, _, _) = await Get(Query(Soql));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), clock.Elapsed.ToString());
        _sf.Latency = TimeSpan.Zero;
    }

    [Fact]
    public void Fifty_thousand_cases_are_cheap()
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        _sf.AddCases(50_000, Start.AddDays(2), TimeSpan.FromMilliseconds(10));
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(51_200, _sf.CaseCount);
        Assert.True(after - before < 4_000_000, $"{after - before:N0} bytes for 50,000 cases");
    }
}
