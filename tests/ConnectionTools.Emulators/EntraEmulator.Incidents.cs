using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace ConnectionTools.Emulators;

/// <summary>
/// Case data and the Dataverse Web API's incidents collection: GET /api/data/v9.2/incidents with $select, a modifiedon ge/gt
/// $filter, $orderby modifiedon then incidentid, Prefer: odata.maxpagesize, and @odata.nextLink carrying a paging-cookie $skiptoken.
/// </summary>
public sealed partial class EntraEmulator
{
    /// <summary>Records per page when the client sends no odata.maxpagesize, and the largest page.</summary>
    public const int DefaultIncidentPageSize = 5000;

    private static readonly string[] IncidentFields = ["incidentid", "ticketnumber", "title", "statecode", "modifiedon"];
    private static readonly int[] IncidentStates = [0, 0, 0, 1, 2];

    private static readonly Regex ModifiedOnFilter = new(@"^\s*modifiedon\s+(?<op>ge|gt)\s+(?<literal>[0-9][0-9T:.+\-Z]*)\s*$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1));

    private static readonly Regex IncidentOrder = new(@"^\s*modifiedon(\s+asc)?\s*,\s*incidentid(\s+asc)?\s*$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1));

    private static readonly Regex PagingCookie = new(
        "^<cookie pagenumber=\"(?<page>[0-9]+)\" pagingcookie=\"&lt;cookie page=&quot;[0-9]+&quot;&gt;&lt;modifiedon last=&quot;(?<ms>-?[0-9]+)&quot; /&gt;&lt;incidentid last=&quot;\\{(?<id>[0-9a-f-]{36})\\}&quot; /&gt;&lt;/cookie&gt;\" istracking=\"False\" />$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1));

    private readonly CaseStore _incidents = new();
    private int? _incidentFailOnPage;
    private int _incidentPagesServed;

    /// <summary>Number of cases (incidents).</summary>
    public int CaseCount => _incidents.Count;

    /// <summary>Pages of incidents answered 200.</summary>
    public int IncidentPagesServed => Volatile.Read(ref _incidentPagesServed);

    /// <summary>When set, the incidents collection answers page N (1-based; the request without $skiptoken is page 1) of every query
    /// with HTTP 500 (0x80040216), until set back to null.</summary>
    public int? FailOnPage
    {
        get { lock (StateGate) { return _incidentFailOnPage; } }
        set
        {
            if (value is < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Pages are numbered from 1.");
            }
            lock (StateGate) { _incidentFailOnPage = value; }
        }
    }

    /// <summary>
    /// Adds <paramref name="count"/> incidents numbered after the existing ones; incident k of the call is modified at
    /// start + step × (k − k/4), so every fourth one shares its predecessor's modifiedon.
    /// </summary>
    public void AddCases(int count, DateTimeOffset start, TimeSpan step) => _incidents.Add(count, start, step);

    /// <summary>The incidentid of case <paramref name="number"/> (1-based): a GUID whose text sorts in number order.</summary>
    public static string CaseId(int number) =>
        string.Create(CultureInfo.InvariantCulture, $"{number:x8}-c0de-4a5e-9e00-{unchecked((uint)number * 2654435761u):x8}{number & 0xffff:x4}");

    /// <summary>Changes an incident at <paramref name="at"/>: its modifiedon moves there and its title and statecode change
    /// (an incident written through the API keeps its written values; only its modifiedon moves).</summary>
    public void TouchCase(string id, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (!TryParseCaseNumber(id, out var number))
        {
            throw new KeyNotFoundException($"No incident with id {id}.");
        }
        _incidents.Touch(number, at);
    }

    /// <summary>Makes every access token issued so far invalid on the Web API (401), as when it reaches its expiry; the grants stay
    /// valid, so a refresh (or a new client-credentials token) gives a working token.</summary>
    public void ExpireAccessTokens()
    {
        lock (StateGate)
        {
            foreach (var token in _grants.AccessTokens.Keys.ToList())
            {
                _grants.AccessTokens[token] = _grants.AccessTokens[token] with { ExpiresAt = DateTimeOffset.MinValue };
            }
        }
    }

    private static bool TryParseCaseNumber(string id, out int number)
    {
        number = 0;
        var text = id.Trim('{', '}').ToLowerInvariant();
        return text.Length == 36 &&
               int.TryParse(text.AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out number) &&
               number > 0 && CaseId(number) == text;
    }

    private static Task ODataErrorAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.Headers["OData-Version"] = "4.0";
        return WriteJsonAsync(context, status, new { error = new { code, message } });
    }

    private bool IsValidApiToken(string? token)
    {
        lock (StateGate)
        {
            return token is not null && _grants.AccessTokens.TryGetValue(token, out var a) && !a.Grant.Revoked && a.Grant.Expired is null &&
                a.ExpiresAt > DateTimeOffset.UtcNow && string.Equals(a.Resource.TrimEnd('/'), a.Grant.Resource.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);
        }
    }

    private async Task IncidentsAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await ODataErrorAsync(context, 405, "0x80060888", "The requested method is not supported by the emulator.");
            return;
        }
        var latency = Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, context.RequestAborted);
        }
        if (!IsValidApiToken(BearerToken(context.Request)))
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = $"Bearer authorization_uri={Authority.AbsoluteUri}oauth2/authorize, resource_id={BaseUri.AbsoluteUri}";
            return;
        }
        var query = context.Request.Query;
        foreach (var key in query.Keys)
        {
            if (key is not ("$select" or "$filter" or "$orderby" or "$skiptoken"))
            {
                await ODataErrorAsync(context, 400, "0x80060888", $"The query parameter {key} is not supported by the emulator.");
                return;
            }
        }
        var fields = IncidentFields;
        if (query.TryGetValue("$select", out var select))
        {
            fields = select.ToString().Split(',', StringSplitOptions.TrimEntries);
            var selectable = SelectableIncidentFields();
            var unknown = fields.FirstOrDefault(f => !selectable.Contains(f, StringComparer.Ordinal));
            if (unknown is not null)
            {
                await ODataErrorAsync(context, 400, "0x80060888", $"Could not find a property named '{unknown}' on type 'Microsoft.Dynamics.CRM.incident'.");
                return;
            }
        }
        DateTimeOffset? since = null;
        var inclusive = true;
        if (query.TryGetValue("$filter", out var filter))
        {
            var match = ModifiedOnFilter.Match(filter.ToString());
            if (!match.Success || !CaseStore.TryParseLiteral(match.Groups["literal"].Value, out var value))
            {
                await ODataErrorAsync(context, 400, "0x80060888", "Syntax error: the emulator answers $filter=modifiedon ge|gt <DateTimeOffset> only.");
                return;
            }
            since = value;
            inclusive = match.Groups["op"].Value == "ge";
        }
        if (query.TryGetValue("$orderby", out var orderBy) && !IncidentOrder.IsMatch(orderBy.ToString()))
        {
            await ODataErrorAsync(context, 400, "0x80060888", "The emulator answers $orderby=modifiedon asc,incidentid asc only.");
            return;
        }
        var page = 1;
        long? afterMs = null;
        var afterNumber = 0;
        if (query.TryGetValue("$skiptoken", out var skipToken))
        {
            var cookie = PagingCookie.Match(skipToken.ToString());
            if (!cookie.Success || !TryParseCaseNumber(cookie.Groups["id"].Value, out afterNumber) ||
                !int.TryParse(cookie.Groups["page"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out page) || page < 2)
            {
                await ODataErrorAsync(context, 400, "0x80040203", "Invalid paging cookie.");
                return;
            }
            afterMs = long.Parse(cookie.Groups["ms"].ValueSpan, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }
        var (pageSize, preferred) = MaxPageSize(context.Request);
        if (page == FailOnPage)
        {
            await ODataErrorAsync(context, 500, "0x80040216", "An unexpected error occurred.");
            return;
        }

        // Keyset paging, as Dataverse's paging cookie: the next page starts after the last record of this one, in the current data.
        var sorted = _incidents.Sorted();
        var start = CaseStore.FilterStart(sorted, since, inclusive);
        if (afterMs is { } ms)
        {
            start = Math.Max(start, CaseStore.LowerBound(sorted, ms, afterNumber + 1));
        }
        var count = Math.Min(pageSize, sorted.Length - start);
        string? nextLink = null;
        var root = $"{context.Request.Scheme}://{context.Request.Host}/api/data/v9.2/";
        if (start + count < sorted.Length)
        {
            var last = sorted[start + count - 1];
            var token = $"<cookie pagenumber=\"{page + 1}\" pagingcookie=\"&lt;cookie page=&quot;{page}&quot;&gt;&lt;modifiedon last=&quot;{last.ModifiedMs}&quot; /&gt;&lt;incidentid last=&quot;{{{CaseId(last.Number)}}}&quot; /&gt;&lt;/cookie&gt;\" istracking=\"False\" />";
            var options = new List<string>();
            foreach (var name in new[] { "$select", "$filter", "$orderby" })
            {
                if (query.TryGetValue(name, out var v))
                {
                    options.Add(name + "=" + Uri.EscapeDataString(v.ToString()));
                }
            }
            options.Add("$skiptoken=" + Uri.EscapeDataString(token));
            nextLink = root + "incidents?" + string.Join('&', options);
        }
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json; odata.metadata=minimal";
        context.Response.Headers["OData-Version"] = "4.0";
        if (preferred)
        {
            context.Response.Headers["Preference-Applied"] = $"odata.maxpagesize={pageSize}";
        }
        await WriteIncidentsAsync(context, root, fields, sorted, start, count, nextLink);
        Interlocked.Increment(ref _incidentPagesServed);
    }

    /// <summary>Prefer: odata.maxpagesize=N, within 1..5000 (default 5000).</summary>
    private static (int Size, bool Preferred) MaxPageSize(HttpRequest request)
    {
        foreach (var preference in request.Headers["Prefer"].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = preference.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && parts[0].Equals("odata.maxpagesize", StringComparison.OrdinalIgnoreCase) &&
                int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size > 0)
            {
                return (Math.Min(size, DefaultIncidentPageSize), true);
            }
        }
        return (DefaultIncidentPageSize, false);
    }

    private async Task WriteIncidentsAsync(HttpContext context, string root, string[] fields, CaseKey[] sorted, int start, int count, string? nextLink)
    {
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("@odata.context", $"{root}$metadata#incidents({string.Join(',', fields)})");
        json.WriteStartArray("value");
        for (var i = 0; i < count; i++)
        {
            var key = sorted[start + i];
            json.WriteStartObject();
            json.WriteString("@odata.etag", $"W/\"{1_000_000L + (key.Number * 10L) + key.Revision}\"");
            var written = WrittenIncident(key.Number);
            foreach (var field in fields)
            {
                WriteIncidentField(json, key, field, written);
            }
            json.WriteEndObject();
            if (json.BytesPending > 16 * 1024)
            {
                await json.FlushAsync(context.RequestAborted);
            }
        }
        json.WriteEndArray();
        if (nextLink is not null)
        {
            json.WriteString("@odata.nextLink", nextLink);
        }
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }

    private static string TicketSuffix(int number)
    {
        const string Alphabet = "BCDFGHJKLMNPQRSTVWXZ0123456789";
        var h = unchecked((uint)number * 2654435761u);
        Span<char> chars = stackalloc char[6];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[(int)(h % (uint)Alphabet.Length)];
            h /= (uint)Alphabet.Length;
        }
        return new string(chars);
    }
}
