using System.Diagnostics;
using System.Text.Json;
using ConnectionTools.Errors;
using ConnectionTools.Jobs.Retrieval;

namespace ConnectionTools.Authorization.Tests;

/// <summary>The case sources against the emulators, through the provider-host router (the org's real host names).</summary>
public sealed class RetrievalTests
{
    private static readonly DateTimeOffset Start = RetrievalRig.Start;
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(1);

    private static CaseQuery Query(DateTimeOffset? since = null) => new() { Since = since, PageSize = 200 };

    private static void AssertNoToken(RetrievalRig rig, Exception e)
    {
        Assert.NotEmpty(rig.IssuedTokens);
        var ct = e as ConnectionToolsException;
        foreach (var token in rig.IssuedTokens.Append("bogus-token-value"))
        {
            Assert.DoesNotContain(token, e.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(token, ct?.RecommendedAction ?? "", StringComparison.Ordinal);
            Assert.DoesNotContain(token, ct?.Target?.ToString() ?? "", StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task Paging_follows_to_the_end_with_every_record_exactly_once(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        rig.AddCases(5000, Start, Step);
        var log = new PageLog();

        await rig.Source().RetrieveAsync(Query(), log.OnPage, CancellationToken.None);

        Assert.Equal(25, log.Pages.Count);
        Assert.All(log.Pages, p => Assert.Equal(200, p.Count));
        var records = log.Records.ToList();
        Assert.Equal(Enumerable.Range(1, 5000).Select(rig.CaseId), records.Select(r => r.Id));
        Assert.Equal(Enumerable.Range(1, 5000).Select(n => RetrievalRig.ExpectedModifiedAt(n, Start, Step)), records.Select(r => r.ModifiedAt));
        Assert.All(records, r => Assert.Equal(TimeSpan.Zero, r.ModifiedAt.Offset));
        var first = records[0];
        Assert.False(string.IsNullOrEmpty(first.CaseNumber));
        Assert.False(string.IsNullOrEmpty(first.Subject));
        Assert.False(string.IsNullOrEmpty(first.Status));
        using var payload = JsonDocument.Parse(first.Payload);
        Assert.Equal(first.Id, payload.RootElement.GetProperty(rig.IsSalesforce ? "Id" : "incidentid").GetString());

        // Every page went to the org's real host (routed to the emulator), with the provider's query.
        var api = rig.Router.Sent.Where(u => u.Host == rig.OrgUrl.Host).ToList();
        Assert.Equal(25, api.Count);
        var firstUrl = Uri.UnescapeDataString(api[0].Query);
        Assert.Contains(rig.IsSalesforce
            ? "q=SELECT Id, CaseNumber, Subject, Description, Status, Priority, SystemModstamp, (SELECT Id, CommentBody, CreatedDate, CreatedBy.Name FROM CaseComments ORDER BY CreatedDate) FROM Case ORDER BY SystemModstamp ASC, Id ASC"
            : "$select=incidentid,ticketnumber,title,description,statecode,prioritycode,modifiedon&$expand=Incident_Annotation($select=annotationid,notetext,createdon,_createdby_value;$orderby=createdon asc)&$orderby=modifiedon asc,incidentid asc", firstUrl, StringComparison.Ordinal);
        Assert.Equal(0, rig.Refreshes);
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task The_watermark_keeps_records_at_and_after_it(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        rig.AddCases(1000, Start, Step);
        var watermark = RetrievalRig.ExpectedModifiedAt(4, Start, Step); // cases 4 and 5 share it
        Assert.Equal(watermark, RetrievalRig.ExpectedModifiedAt(5, Start, Step));

        var log = new PageLog();
        await rig.Source().RetrieveAsync(Query(watermark), log.OnPage, CancellationToken.None);
        Assert.Equal(Enumerable.Range(4, 997).Select(rig.CaseId), log.Records.Select(r => r.Id));

        // A watermark finer than a millisecond is truncated downwards: still inclusive.
        var fine = new PageLog();
        await rig.Source().RetrieveAsync(Query(watermark.AddTicks(4000)), fine.OnPage, CancellationToken.None);
        Assert.Equal(997, fine.Records.Count());

        // Nothing changed since: no page is handed over.
        var none = new PageLog();
        await rig.Source().RetrieveAsync(Query(Start.AddDays(1)), none.OnPage, CancellationToken.None);
        Assert.Empty(none.Pages);
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_changed_case_comes_again_in_the_next_run_newest_version(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        rig.AddCases(600, Start, Step);
        var first = new PageLog();
        await rig.Source().RetrieveAsync(Query(), first.OnPage, CancellationToken.None);
        var watermark = first.Records.Max(r => r.ModifiedAt);
        var before = first.Records.Single(r => r.Id == rig.CaseId(10));

        var at = Start.AddDays(1).AddMilliseconds(5);
        rig.TouchCase(rig.CaseId(10), at);
        var second = new PageLog();
        await rig.Source().RetrieveAsync(Query(watermark), second.OnPage, CancellationToken.None);

        var again = second.Records.Single(r => r.Id == rig.CaseId(10));
        Assert.Equal(at, again.ModifiedAt);
        Assert.NotEqual(before.Subject, again.Subject);
        // Only the record at the watermark and the changed one.
        Assert.Equal([rig.CaseId(600), rig.CaseId(10)], second.Records.Select(r => r.Id));
    }

    [Theory]
    [InlineData("Salesforce", "UNKNOWN_EXCEPTION")]
    [InlineData("Dataverse", "0x80040216")]
    public async Task A_failure_on_page_7_of_25_delivers_pages_1_to_6_and_the_next_run_resumes_without_gaps(string provider, string code)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        rig.AddCases(5000, Start, Step);
        rig.FailOnPage = 7;
        var log = new PageLog();

        var e = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.Source().RetrieveAsync(Query(), log.OnPage, CancellationToken.None));

        Assert.Equal(ErrorIds.JobSourceFailed, e.ErrorId);
        Assert.Equal(ErrorKind.ConnectionError, e.Kind);
        Assert.Contains("HTTP 500", e.Message, StringComparison.Ordinal);
        Assert.Contains(code, e.Message, StringComparison.Ordinal);
        Assert.Contains("page 7", e.Message, StringComparison.Ordinal);
        Assert.Equal(6, log.Pages.Count);
        Assert.Equal(Enumerable.Range(1, 1200).Select(rig.CaseId), log.Records.Select(r => r.Id));
        AssertNoToken(rig, e);

        // The caller committed pages 1..6 and advanced its watermark to the newest committed record. Cases 1200 and 1201 share
        // that timestamp, and 1201 was on the failed page: ">=" brings it (and 1200 again), ">" would have lost it.
        var watermark = log.Records.Max(r => r.ModifiedAt);
        Assert.Equal(watermark, RetrievalRig.ExpectedModifiedAt(1201, Start, Step));
        rig.FailOnPage = null;
        var resumed = new PageLog();
        await rig.Source().RetrieveAsync(Query(watermark), resumed.OnPage, CancellationToken.None);

        var store = new Dictionary<string, CaseRecord>();
        foreach (var record in log.Records.Concat(resumed.Records))
        {
            if (!store.TryGetValue(record.Id, out var existing) || existing.ModifiedAt <= record.ModifiedAt)
            {
                store[record.Id] = record;
            }
        }
        Assert.Equal(5000, store.Count);
        Assert.True(Enumerable.Range(1, 5000).Select(rig.CaseId).ToHashSet().SetEquals(store.Keys));
        var overlap = resumed.Records.Select(r => r.Id).Intersect(log.Records.Select(r => r.Id)).ToList();
        Assert.Equal([rig.CaseId(1200)], overlap);
        Assert.Equal(3801, resumed.Records.Count());
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_401_mid_paging_triggers_exactly_one_refresh_and_the_run_completes(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        rig.AddCases(5000, Start, Step);
        var log = new PageLog { AfterPage = n => { if (n == 3) { rig.ExpireAccessTokens(); } } };

        await rig.Source().RetrieveAsync(Query(), log.OnPage, CancellationToken.None);

        Assert.Equal(1, rig.Refreshes);
        Assert.Equal(1, rig.Unauthorized);
        Assert.Equal(25, log.Pages.Count);
        Assert.Equal(5000, log.Records.Select(r => r.Id).Distinct().Count());
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_second_401_after_the_refresh_is_Job_Unauthorized(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        rig.AddCases(1000, Start, Step);
        rig.RefreshOverride = () => Task.FromResult("bogus-token-value");
        var log = new PageLog { AfterPage = n => { if (n == 2) { rig.ExpireAccessTokens(); } } };

        var e = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.Source().RetrieveAsync(Query(), log.OnPage, CancellationToken.None));

        Assert.Equal(ErrorIds.JobUnauthorized, e.ErrorId);
        Assert.Equal(ErrorKind.AuthenticationError, e.Kind);
        Assert.Contains("page 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("Update-ConnectionAuthorization", e.RecommendedAction, StringComparison.Ordinal);
        Assert.Equal(1, rig.Refreshes);
        Assert.Equal(2, rig.Unauthorized);
        Assert.Equal(2, log.Pages.Count);
        AssertNoToken(rig, e);
    }

    [Theory]
    // The emulator draws 429s from a Random with this seed: 4 of the run's requests are throttled, never 3 in a row (seed 4242 throttles
    // none of these requests; seed 11 throttles one page 3 times, which fails the run with ProviderUnavailable, as it should).
    [InlineData("Salesforce", 2026)]
    [InlineData("Dataverse", 2026)]
    public async Task A_429_storm_backs_off_honouring_Retry_After_and_completes(string provider, int seed)
    {
        await using var rig = await RetrievalRig.StartAsync(provider, seed);
        rig.AddCases(2000, Start, Step);
        rig.Emulator.TooManyRequestsRatio = 0.3;
        var log = new PageLog();
        var clock = Stopwatch.StartNew();

        await rig.Source().RetrieveAsync(Query(), log.OnPage, CancellationToken.None);

        Assert.Equal(Enumerable.Range(1, 2000).Select(rig.CaseId), log.Records.Select(r => r.Id));
        Assert.InRange(rig.Emulator.ThrottledCount, 1, 20);
        // Retry-After: 1 was waited for every throttled answer.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(rig.Emulator.ThrottledCount * 0.95), $"{clock.Elapsed} for {rig.Emulator.ThrottledCount} throttles");
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task A_throttle_that_outlasts_the_retries_is_ProviderUnavailable_without_tokens(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        rig.AddCases(1000, Start, Step);
        var log = new PageLog { AfterPage = n => { if (n == 1) { rig.Emulator.RememberThrottledCallers = false; rig.Emulator.TooManyRequestsRatio = 1; } } };

        var e = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.Source().RetrieveAsync(Query(), log.OnPage, CancellationToken.None));

        Assert.Equal(ErrorIds.AuthorizationProviderUnavailable, e.ErrorId);
        Assert.Contains("page 2", e.Message, StringComparison.Ordinal);
        Assert.Equal(Authorization.ProviderRetry.MaxAttempts, rig.Emulator.ThrottledCount);
        Assert.Single(log.Pages);
        AssertNoToken(rig, e);
    }

    [Theory]
    [InlineData("Salesforce")]
    [InlineData("Dataverse")]
    public async Task Cancelling_stops_before_the_next_page(string provider)
    {
        await using var rig = await RetrievalRig.StartAsync(provider);
        rig.AddCases(1000, Start, Step);
        using var cts = new CancellationTokenSource();
        var log = new PageLog { AfterPage = n => { if (n == 2) { cts.Cancel(); } } };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rig.Source().RetrieveAsync(Query(), log.OnPage, cts.Token));

        Assert.Equal(2, log.Pages.Count);
        Assert.Equal(2, rig.Router.Sent.Count(u => u.Host == rig.OrgUrl.Host));
    }
}
