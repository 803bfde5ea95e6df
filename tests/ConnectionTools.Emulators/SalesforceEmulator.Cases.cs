using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace ConnectionTools.Emulators;

/// <summary>
/// Case data and the REST API's query resource: GET /services/data/vNN.N/query?q=SOQL (the SOQL shapes the case retrieval
/// sends) and GET /services/data/vNN.N/query/{locator} for the next batches.
/// </summary>
public sealed partial class SalesforceEmulator
{
    /// <summary>Records per batch when the client sends no Sforce-Query-Options, and the largest batch.</summary>
    public const int DefaultQueryBatchSize = 2000;

    /// <summary>The smallest batch Salesforce honours.</summary>
    public const int MinQueryBatchSize = 200;

    private const int MaxOpenCursors = 20;

    private static readonly string[] CaseStatuses = ["New", "Working", "Escalated", "Closed"];
    private static readonly string[] QueryableCaseFields =
        ["Id", "CaseNumber", "Subject", "Description", "Status", "Priority", "Origin", "LastModifiedDate", "SystemModstamp"];

    private static readonly Regex SoqlShape = new(
        @"^\s*SELECT\s+(?<fields>[A-Za-z][A-Za-z0-9_, ]*?)(?:\s*,\s*\(\s*SELECT\s+(?<comments>[A-Za-z][A-Za-z0-9_., ]*?)\s+FROM\s+CaseComments(?:\s+ORDER\s+BY\s+CreatedDate(?:\s+ASC)?)?\s*\))?\s+FROM\s+Case(?:\s+WHERE\s+(?:SystemModstamp|LastModifiedDate)\s*(?<op>>=|>)\s*(?<literal>[0-9][0-9T:.+\-Z]*))?\s+ORDER\s+BY\s+(?:SystemModstamp|LastModifiedDate)(?:\s+ASC)?\s*,\s*Id(?:\s+ASC)?\s*$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private static readonly Regex DataPath = new(@"^/services/data/(?<version>v\d+\.\d)/query(?:/(?<locator>[^/]+))?/?$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private sealed record QueryCursor(CaseKey[] Snapshot, int Start, int Total, int BatchSize, string[] Fields, string[]? CommentFields);

    private readonly CaseStore _cases = new();
    private readonly Dictionary<string, QueryCursor> _cursors = new(StringComparer.Ordinal);
    private readonly Queue<string> _cursorOrder = new();
    private int _cursorSequence;
    private int? _failOnPage;
    private int _queryPagesServed;

    /// <summary>Number of cases.</summary>
    public int CaseCount => _cases.Count;

    /// <summary>Batches answered 200 by the query resource.</summary>
    public int QueryPagesServed => Volatile.Read(ref _queryPagesServed);

    /// <summary>When set, the query resource answers page N (1-based; the first query request is page 1) of every query with
    /// HTTP 500 UNKNOWN_EXCEPTION, until set back to null.</summary>
    public int? FailOnPage
    {
        get { lock (StateGate) { return _failOnPage; } }
        set
        {
            if (value is < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Pages are numbered from 1.");
            }
            lock (StateGate) { _failOnPage = value; }
        }
    }

    /// <summary>
    /// Adds <paramref name="count"/> cases numbered after the existing ones; case k of the call is modified at start + step × (k − k/4),
    /// so every fourth case shares its predecessor's SystemModstamp.
    /// </summary>
    public void AddCases(int count, DateTimeOffset start, TimeSpan step) => _cases.Add(count, start, step);

    /// <summary>The 18-character Id of case <paramref name="number"/> (1-based), e.g. 5005g0000000001AAA.</summary>
    public static string CaseId(int number) => "5005g" + number.ToString("D10", CultureInfo.InvariantCulture) + "AAA";

    /// <summary>Changes a case at <paramref name="at"/>: its SystemModstamp moves there and its Subject and Status change
    /// (a case written through the API keeps its written values; only its SystemModstamp moves).</summary>
    public void TouchCase(string id, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (id.Length != 18 || !int.TryParse(id.AsSpan(5, 10), NumberStyles.None, CultureInfo.InvariantCulture, out var number) || CaseId(number) != id)
        {
            throw new KeyNotFoundException($"No case with Id {id}.");
        }
        _cases.Touch(number, at);
    }

    /// <summary>Makes every access token issued so far invalid on the API and userinfo (401 INVALID_SESSION_ID), as when a session
    /// times out; the grants stay valid, so a refresh (or a new JWT bearer token) gives a working token.</summary>
    public void ExpireAccessTokens()
    {
        lock (StateGate)
        {
            foreach (var access in _grants.AccessTokens.Values)
            {
                access.Revoked = true;
            }
        }
    }

    private static Task SalesforceErrorAsync(HttpContext context, int status, string errorCode, string message) =>
        WriteJsonAsync(context, status, new[] { new { message, errorCode } });

    private async Task DataApiAsync(HttpContext context, string path)
    {
        if (SObjectPath.IsMatch(path) || CollectionPath.IsMatch(path))
        {
            await RecordsApiAsync(context, path);
            return;
        }
        var match = DataPath.Match(path);
        if (!match.Success || !HttpMethods.IsGet(context.Request.Method))
        {
            await SalesforceErrorAsync(context, 404, "NOT_FOUND", "The requested resource does not exist");
            return;
        }
        var latency = Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, context.RequestAborted);
        }
        if (!IsValidAccessToken(BearerToken(context.Request)))
        {
            context.Response.Headers.WWWAuthenticate = "Token";
            await SalesforceErrorAsync(context, 401, "INVALID_SESSION_ID", "Session expired or invalid");
            return;
        }
        var version = match.Groups["version"].Value;
        QueryCursor? cursor;
        string? cursorId;
        int offset;
        if (match.Groups["locator"].Success)
        {
            var locator = match.Groups["locator"].Value;
            var dash = locator.LastIndexOf('-');
            cursorId = dash > 0 ? locator[..dash] : locator;
            lock (StateGate) { _cursors.TryGetValue(cursorId, out cursor); }
            if (cursor is null || dash <= 0 || !int.TryParse(locator.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out offset) ||
                offset <= 0 || offset >= cursor.Total)
            {
                await SalesforceErrorAsync(context, 400, "INVALID_QUERY_LOCATOR", "invalid query locator");
                return;
            }
        }
        else
        {
            var soql = context.Request.Query["q"].ToString();
            if (CommentSoqlShape.Match(soql) is { Success: true } commentQuery)
            {
                await CaseCommentQueryAsync(context, version, commentQuery);
                return;
            }
            if (!TryParseSoql(soql, out var fields, out var commentFields, out var since, out var inclusive, out var problem))
            {
                await SalesforceErrorAsync(context, 400, "MALFORMED_QUERY", problem);
                return;
            }
            var snapshot = _cases.Sorted();
            var start = CaseStore.FilterStart(snapshot, since, inclusive);
            cursor = new QueryCursor(snapshot, start, snapshot.Length - start, BatchSize(context.Request), fields, commentFields);
            offset = 0;
            cursorId = null;
            if (cursor.Total > cursor.BatchSize)
            {
                lock (StateGate)
                {
                    cursorId = "01g5g" + (++_cursorSequence).ToString("D10", CultureInfo.InvariantCulture) + "AAA";
                    _cursors[cursorId] = cursor;
                    _cursorOrder.Enqueue(cursorId);
                    while (_cursorOrder.Count > MaxOpenCursors)
                    {
                        _cursors.Remove(_cursorOrder.Dequeue());
                    }
                }
            }
        }

        var page = (offset / cursor.BatchSize) + 1;
        if (page == FailOnPage)
        {
            await SalesforceErrorAsync(context, 500, "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)");
            return;
        }
        var count = Math.Min(cursor.BatchSize, cursor.Total - offset);
        var done = offset + count >= cursor.Total;
        await WriteQueryPageAsync(context, version, cursor, offset, count, done ? null : $"/services/data/{version}/query/{cursorId}-{offset + count}");
        Interlocked.Increment(ref _queryPagesServed);
    }

    private bool IsValidAccessToken(string? token)
    {
        lock (StateGate)
        {
            return token is not null && _grants.AccessTokens.TryGetValue(token, out var a) && !a.Revoked && !a.Grant.Revoked && !a.Grant.Expired;
        }
    }

    /// <summary>Sforce-Query-Options: batchSize=N, within 200..2000 (default 2000).</summary>
    private static int BatchSize(HttpRequest request)
    {
        foreach (var option in request.Headers["Sforce-Query-Options"].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = option.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && parts[0].Equals("batchSize", StringComparison.OrdinalIgnoreCase) &&
                int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                return Math.Clamp(size, MinQueryBatchSize, DefaultQueryBatchSize);
            }
        }
        return DefaultQueryBatchSize;
    }

    private bool TryParseSoql(string soql, out string[] fields, out string[]? commentFields, out DateTimeOffset? since, out bool inclusive, out string problem)
    {
        fields = [];
        commentFields = null;
        since = null;
        inclusive = true;
        var match = SoqlShape.Match(soql);
        if (!match.Success)
        {
            problem = "unexpected token: the emulator answers SELECT <Case fields>[, (SELECT <CaseComment fields> FROM CaseComments [ORDER BY CreatedDate])] FROM Case [WHERE SystemModstamp >= or > <datetime>] ORDER BY SystemModstamp ASC, Id ASC, " +
                "and SELECT <CaseComment fields> FROM CaseComment WHERE ParentId = '<Case Id>'";
            return false;
        }
        var names = match.Groups["fields"].Value.Split(',', StringSplitOptions.TrimEntries);
        fields = new string[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            if (ResolveCaseField(names[i], QueryableCaseFields) is not { } canonical)
            {
                problem = $"No such column '{names[i]}' on entity 'Case'.";
                return false;
            }
            fields[i] = canonical;
        }
        if (match.Groups["comments"].Success)
        {
            var childNames = match.Groups["comments"].Value.Split(',', StringSplitOptions.TrimEntries);
            commentFields = new string[childNames.Length];
            for (var i = 0; i < childNames.Length; i++)
            {
                commentFields[i] = CommentFields.FirstOrDefault(f => f.Equals(childNames[i], StringComparison.OrdinalIgnoreCase)) ?? "";
                if (commentFields[i].Length == 0)
                {
                    problem = $"No such column '{childNames[i]}' on entity 'CaseComment'.";
                    return false;
                }
            }
        }
        if (match.Groups["literal"].Success)
        {
            if (!CaseStore.TryParseLiteral(match.Groups["literal"].Value, out var value))
            {
                problem = $"value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes: {match.Groups["literal"].Value}";
                return false;
            }
            since = value;
            inclusive = match.Groups["op"].Value == ">=";
        }
        problem = "";
        return true;
    }

    private async Task WriteQueryPageAsync(HttpContext context, string version, QueryCursor cursor, int offset, int count, string? next)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json;charset=UTF-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteNumber("totalSize", cursor.Total);
        json.WriteBoolean("done", next is null);
        if (next is not null)
        {
            json.WriteString("nextRecordsUrl", next);
        }
        json.WriteStartArray("records");
        for (var i = 0; i < count; i++)
        {
            var key = cursor.Snapshot[cursor.Start + offset + i];
            var id = CaseId(key.Number);
            json.WriteStartObject();
            json.WriteStartObject("attributes");
            json.WriteString("type", "Case");
            json.WriteString("url", $"/services/data/{version}/sobjects/Case/{id}");
            json.WriteEndObject();
            var written = WrittenFields(key.Number);
            foreach (var field in cursor.Fields)
            {
                WriteCaseField(json, key, field, written);
            }
            if (cursor.CommentFields is { } commentFields)
            {
                // A child relationship: null when the case has no comments, else a query result of its own (all of them, done).
                var comments = CommentsOf(id);
                if (comments.Count == 0)
                {
                    json.WriteNull("CaseComments");
                }
                else
                {
                    json.WriteStartObject("CaseComments");
                    json.WriteNumber("totalSize", comments.Count);
                    json.WriteBoolean("done", true);
                    json.WriteStartArray("records");
                    foreach (var comment in comments)
                    {
                        WriteComment(json, version, comment, commentFields);
                    }
                    json.WriteEndArray();
                    json.WriteEndObject();
                }
            }
            json.WriteEndObject();
            if (json.BytesPending > 16 * 1024)
            {
                await json.FlushAsync(context.RequestAborted);
            }
        }
        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
