using System.Net;
using System.Text;
using ConnectionTools.Errors;
using ConnectionTools.Jobs.Retrieval;

namespace ConnectionTools.Authorization.Tests;

/// <summary>The case sources against scripted answers: request shape, hostile or broken answers.</summary>
public sealed class RetrievalProtocolTests
{
    private const string Token = "00D!secret-access-token-value";

    private sealed class Scripted(Func<HttpRequestMessage, int, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<HttpRequestMessage> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            return Task.FromResult(answer(request, Requests.Count));
        }
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private static Task<string> TokenAsync(bool forceRefresh, CancellationToken cancellationToken) => Task.FromResult(Token);

    private static async Task<(ConnectionToolsException? Error, List<IReadOnlyList<CaseRecord>> Pages)> RunAsync(ICaseSource source, CaseQuery? query = null)
    {
        var pages = new List<IReadOnlyList<CaseRecord>>();
        try
        {
            await source.RetrieveAsync(query ?? new CaseQuery(), (p, _) => { pages.Add(p); return Task.CompletedTask; }, CancellationToken.None);
            return (null, pages);
        }
        catch (ConnectionToolsException e)
        {
            Assert.DoesNotContain(Token, e.ToString(), StringComparison.Ordinal);
            return (e, pages);
        }
    }

    [Fact]
    public void The_SOQL_and_the_OData_options_filter_inclusively_on_the_watermark()
    {
        var at = new DateTimeOffset(2026, 11, 21, 11, 30, 15, 123, TimeSpan.FromHours(1)).AddTicks(5);
        Assert.Equal("SELECT Id, CaseNumber, Subject, Description, Status, Priority, SystemModstamp, (SELECT Id, CommentBody, CreatedDate, CreatedBy.Name FROM CaseComments ORDER BY CreatedDate) FROM Case WHERE SystemModstamp >= 2026-11-21T10:30:15.123Z ORDER BY SystemModstamp ASC, Id ASC",
            SalesforceCaseSource.Soql(at));
        Assert.Equal("SELECT Id, CaseNumber, Subject, Description, Status, Priority, SystemModstamp, (SELECT Id, CommentBody, CreatedDate, CreatedBy.Name FROM CaseComments ORDER BY CreatedDate) FROM Case ORDER BY SystemModstamp ASC, Id ASC", SalesforceCaseSource.Soql(null));
        Assert.Equal("$select=incidentid,ticketnumber,title,description,statecode,prioritycode,modifiedon&$filter=modifiedon%20ge%202026-11-21T10%3A30%3A15.123Z&$expand=Incident_Annotation%28%24select%3Dannotationid%2Cnotetext%2Ccreatedon%2C_createdby_value%3B%24orderby%3Dcreatedon%20asc%29&$orderby=modifiedon%20asc%2Cincidentid%20asc",
            DataverseCaseSource.QueryOptions(at));
    }

    [Theory]
    [InlineData("2026-11-21T10:00:00.000+0000", "2026-11-21T10:00:00.0000000+00:00")]
    [InlineData("2026-11-21T11:00:00.250+0100", "2026-11-21T10:00:00.2500000+00:00")]
    [InlineData("2026-11-21T10:00:00Z", "2026-11-21T10:00:00.0000000+00:00")]
    [InlineData("2026-11-21T10:00:00.1234567Z", "2026-11-21T10:00:00.1230000+00:00")]
    public void Provider_timestamps_parse_to_UTC_milliseconds(string text, string expected)
    {
        Assert.True(CaseTimestamps.TryParse(text, out var value));
        Assert.Equal(expected, value.ToString("o", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Salesforce_requests_carry_the_batch_size_the_bearer_token_and_follow_nextRecordsUrl()
    {
        var handler = new Scripted((request, n) => n == 1
            ? Json(HttpStatusCode.OK, """{"totalSize":2,"done":false,"nextRecordsUrl":"/services/data/v60.0/query/01gX-1","records":[{"attributes":{"type":"Case"},"Id":"500A","CaseNumber":"1","Subject":null,"Status":"New","SystemModstamp":"2026-11-21T10:00:00.000+0000"}]}""")
            : Json(HttpStatusCode.OK, """{"totalSize":2,"done":true,"records":[{"attributes":{"type":"Case"},"Id":"500B","CaseNumber":"2","Subject":"S","Status":"New","SystemModstamp":"2026-11-21T10:00:01.000+0000","Extra__c":42}]}"""));
        using var http = new HttpClient(handler);
        var (error, pages) = await RunAsync(new SalesforceCaseSource(http, new Uri("https://contoso.my.salesforce.com"), TokenAsync, TimeSpan.FromSeconds(5)),
            new CaseQuery { PageSize = 50 });

        Assert.Null(error);
        Assert.Equal(2, pages.Count);
        Assert.Null(pages[0][0].Subject);
        Assert.Contains("\"Extra__c\":42", pages[1][0].Payload, StringComparison.Ordinal);
        Assert.Equal("batchSize=200", handler.Requests[0].Headers.GetValues("Sforce-Query-Options").Single());
        Assert.Equal("Bearer " + Token, handler.Requests[0].Headers.Authorization!.ToString());
        Assert.Equal("https://contoso.my.salesforce.com/services/data/v60.0/query/01gX-1", handler.Requests[1].RequestUri!.AbsoluteUri);
    }

    [Fact]
    public async Task Dataverse_requests_carry_the_OData_headers()
    {
        var handler = new Scripted((_, _) => Json(HttpStatusCode.OK, """{"value":[{"incidentid":"0000000A-0000-0000-0000-000000000000","ticketnumber":"CAS-1","title":"T","statecode":1,"modifiedon":"2026-11-21T10:00:00Z"}]}"""));
        using var http = new HttpClient(handler);
        var (error, pages) = await RunAsync(new DataverseCaseSource(http, new Uri("https://contoso.crm.dynamics.com/"), TokenAsync, TimeSpan.FromSeconds(5)),
            new CaseQuery { PageSize = 750 });

        Assert.Null(error);
        var record = Assert.Single(Assert.Single(pages));
        Assert.Equal("0000000a-0000-0000-0000-000000000000", record.Id);
        Assert.Equal("Resolved", record.Status);
        var request = handler.Requests.Single();
        Assert.Equal("odata.maxpagesize=750,odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\"", request.Headers.GetValues("Prefer").Single());
        Assert.Equal("4.0", request.Headers.GetValues("OData-Version").Single());
        Assert.Equal("application/json", request.Headers.Accept.Single().MediaType);
        Assert.StartsWith("https://contoso.crm.dynamics.com/api/data/v9.2/incidents?$select=", request.RequestUri!.AbsoluteUri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_next_link_to_another_host_is_refused_and_never_requested()
    {
        var handler = new Scripted((_, _) => Json(HttpStatusCode.OK,
            """{"value":[{"incidentid":"0000000a-0000-0000-0000-000000000000","modifiedon":"2026-11-21T10:00:00Z"}],"@odata.nextLink":"https://collector.example.net/api/data/v9.2/incidents?$skiptoken=x"}"""));
        using var http = new HttpClient(handler);
        var (error, pages) = await RunAsync(new DataverseCaseSource(http, new Uri("https://contoso.crm.dynamics.com/"), TokenAsync, TimeSpan.FromSeconds(5)));

        Assert.Equal(ErrorIds.JobSourceFailed, error!.ErrorId);
        Assert.Contains("another host", error.Message, StringComparison.Ordinal);
        Assert.Single(handler.Requests);
        Assert.Empty(pages);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"totalSize":1,"done":true}""", "'records'")]
    [InlineData("""{"done":true,"records":[{"Id":"500A","SystemModstamp":"yesterday"}]}""", "SystemModstamp")]
    [InlineData("""{"done":true,"records":[{"SystemModstamp":"2026-11-21T10:00:00.000+0000"}]}""", "'Id'")]
    [InlineData("""{"done":false,"records":[]}""", "nextRecordsUrl")]
    public async Task An_unreadable_answer_is_SourceFailed_InvalidData(string body, string why)
    {
        var handler = new Scripted((_, _) => Json(HttpStatusCode.OK, body));
        using var http = new HttpClient(handler);
        var (error, _) = await RunAsync(new SalesforceCaseSource(http, new Uri("https://contoso.my.salesforce.com"), TokenAsync, TimeSpan.FromSeconds(5)));

        Assert.Equal(ErrorIds.JobSourceFailed, error!.ErrorId);
        Assert.Equal(ErrorKind.InvalidData, error.Kind);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusal_names_the_status_and_the_providers_code_but_not_its_message()
    {
        var handler = new Scripted((_, _) => Json(HttpStatusCode.Forbidden,
            $$"""[{"message":"Insufficient access for token {{Token}}","errorCode":"INSUFFICIENT_ACCESS_OR_READONLY"}]"""));
        using var http = new HttpClient(handler);
        var (error, _) = await RunAsync(new SalesforceCaseSource(http, new Uri("https://contoso.my.salesforce.com"), TokenAsync, TimeSpan.FromSeconds(5)));

        Assert.Equal(ErrorIds.JobSourceFailed, error!.ErrorId);
        Assert.Equal(ErrorKind.PermissionDenied, error.Kind);
        Assert.Contains("HTTP 403 (INSUFFICIENT_ACCESS_OR_READONLY) on page 1", error.Message, StringComparison.Ordinal);
        Assert.Equal("contoso.my.salesforce.com", error.Target);
    }

    [Fact]
    public void Arguments_are_checked()
    {
        using var http = new HttpClient();
        Assert.Throws<ArgumentException>(() => new SalesforceCaseSource(http, new Uri("/relative", UriKind.Relative), TokenAsync, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataverseCaseSource(http, new Uri("https://x.crm.dynamics.com"), TokenAsync, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CaseQuery { PageSize = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new CaseQuery { PageSize = 5001 });
        Assert.Equal(2000, new CaseQuery().PageSize);
    }
}
