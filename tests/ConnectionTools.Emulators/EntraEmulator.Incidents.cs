using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace ConnectionTools.Emulators;

/// <summary>
/// Case data and the Dataverse Web API's incidents collection: GET /api/data/v9.2/incidents with $select, a modifiedon ge/gt
/// $filter (or incidentid eq … or …), $orderby modifiedon then incidentid, $expand of the notes (Incident_Annotation), Prefer:
/// odata.maxpagesize, and @odata.nextLink carrying a paging-cookie $skiptoken; and the notes created since a time
/// (GET annotations?$filter=objecttypecode eq 'incident' and createdon ge …). As in Dataverse, a note does not change its incident's
/// modifiedon (unless NotesTouchIncident says so).
/// </summary>
public sealed partial class EntraEmulator
{
    /// <summary>Records per page when the client sends no odata.maxpagesize, and the largest page.</summary>
    public const int DefaultIncidentPageSize = 5000;

    private static readonly string[] IncidentFields = ["incidentid", "ticketnumber", "title", "statecode", "modifiedon"];
    private static readonly int[] IncidentStates = [0, 0, 0, 1, 2];

    private static readonly Regex ModifiedOnFilter = new(@"^\s*modifiedon\s+(?<op>ge|gt)\s+(?<literal>[0-9][0-9T:.+\-Z]*)\s*$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private static readonly Regex IdsFilter = new(@"^\s*incidentid\s+eq\s+(?<id>[0-9a-fA-F-]{36})(?:\s+or\s+incidentid\s+eq\s+(?<id>[0-9a-fA-F-]{36}))*\s*$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private static readonly Regex NotesExpand = new(@"^\s*Incident_Annotation\(\$select=(?<fields>[a-z_,]+)(?:;\$orderby=createdon(?:\s+asc)?)?\)\s*$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private static readonly Regex NotesSinceFilter = new(@"^\s*objecttypecode\s+eq\s+'incident'\s+and\s+createdon\s+(?<op>ge|gt)\s+(?<literal>[0-9][0-9T:.+\-Z]*)\s*$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private static readonly string[] NoteFields = ["annotationid", "subject", "notetext", "_objectid_value", "objecttypecode", "createdon", "_createdby_value"];

    /// <summary>The name of the application user the API writes as, which creates the notes written through the API.</summary>
    public const string ApiUserName = "Integration User";

    private static readonly Regex IncidentOrder = new(@"^\s*modifiedon(\s+asc)?\s*,\s*incidentid(\s+asc)?\s*$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private static readonly Regex PagingCookie = new(
        "^<cookie pagenumber=\"(?<page>[0-9]+)\" pagingcookie=\"&lt;cookie page=&quot;[0-9]+&quot;&gt;&lt;modifiedon last=&quot;(?<ms>-?[0-9]+)&quot; /&gt;&lt;incidentid last=&quot;\\{(?<id>[0-9a-f-]{36})\\}&quot; /&gt;&lt;/cookie&gt;\" istracking=\"False\" />$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private readonly CaseStore _incidents = new();

    // Who created each note other than the API's application user (a person, in the tests); guarded by _incidentWriteGate.
    private readonly Dictionary<Guid, string> _noteAuthors = [];
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

    /// <summary>
    /// A person adds a note to an incident in Dataverse (as through its UI): created now by <paramref name="author"/>; the
    /// incident's modifiedon does not move (unless <see cref="NotesTouchIncident"/>). Returns the note's annotationid.
    /// </summary>
    public Guid AddNote(string incidentId, string text, string author)
    {
        if (!TryParseCaseNumber(incidentId, out var number) || !_incidents.Contains(number))
        {
            throw new KeyNotFoundException($"No incident with id {incidentId}.");
        }
        lock (_incidentWriteGate)
        {
            var note = new Note(Guid.NewGuid(), null, text, Guid.Parse(incidentId), DateTimeOffset.UtcNow);
            _notes.Add(note);
            _noteAuthors[note.Id] = author;
            if (_notesTouchIncident)
            {
                _incidents.TouchWritten(number);
            }
            return note.Id;
        }
    }

    /// <summary>The text of an incident's notes, oldest first.</summary>
    public IReadOnlyList<string?> NoteTexts(string incidentId)
    {
        var id = Guid.Parse(incidentId);
        lock (_incidentWriteGate) { return _notes.Where(n => n.IncidentId == id).Select(n => n.Text).ToList(); }
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
            if (key is not ("$select" or "$filter" or "$orderby" or "$skiptoken" or "$expand"))
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
        string[]? noteFields = null;
        if (query.TryGetValue("$expand", out var expand))
        {
            var match = NotesExpand.Match(expand.ToString());
            if (!match.Success)
            {
                await ODataErrorAsync(context, 400, "0x80060888", "The emulator answers $expand=Incident_Annotation($select=<fields>[;$orderby=createdon asc]) only.");
                return;
            }
            noteFields = match.Groups["fields"].Value.Split(',', StringSplitOptions.TrimEntries);
            if (noteFields.FirstOrDefault(f => !NoteFields.Contains(f, StringComparer.Ordinal)) is { } bad)
            {
                await ODataErrorAsync(context, 400, "0x80060888", $"Could not find a property named '{bad}' on type 'Microsoft.Dynamics.CRM.annotation'.");
                return;
            }
        }
        DateTimeOffset? since = null;
        var inclusive = true;
        HashSet<int>? only = null;
        if (query.TryGetValue("$filter", out var filter))
        {
            var match = ModifiedOnFilter.Match(filter.ToString());
            var ids = IdsFilter.Match(filter.ToString());
            if (ids.Success)
            {
                only = [];
                foreach (Capture id in ids.Groups["id"].Captures)
                {
                    if (TryParseCaseNumber(id.Value, out var number))
                    {
                        only.Add(number);
                    }
                }
            }
            else if (!match.Success || !CaseStore.TryParseLiteral(match.Groups["literal"].Value, out var value))
            {
                await ODataErrorAsync(context, 400, "0x80060888", "Syntax error: the emulator answers $filter=modifiedon ge|gt <DateTimeOffset> or incidentid eq <guid> [or incidentid eq <guid>]... only.");
                return;
            }
            else
            {
                since = value;
                inclusive = match.Groups["op"].Value == "ge";
            }
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
        if (only is not null)
        {
            sorted = sorted.Where(k => only.Contains(k.Number)).ToArray();
        }
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
            foreach (var name in new[] { "$select", "$filter", "$orderby", "$expand" })
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
        await WriteIncidentsAsync(context, root, fields, noteFields, FormattedValues(context.Request), sorted, start, count, nextLink);
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

    private async Task WriteIncidentsAsync(HttpContext context, string root, string[] fields, string[]? noteFields, bool formatted, CaseKey[] sorted, int start, int count, string? nextLink)
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
            if (noteFields is not null)
            {
                json.WriteStartArray("Incident_Annotation");
                foreach (var note in NotesOf(CaseId(key.Number)))
                {
                    WriteNote(json, note, noteFields, formatted);
                }
                json.WriteEndArray();
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

    /// <summary>Whether the request asked for formatted values (Prefer: odata.include-annotations naming them, or *).</summary>
    private static bool FormattedValues(HttpRequest request)
    {
        var prefer = request.Headers["Prefer"].ToString();
        return prefer.Contains("odata.include-annotations", StringComparison.OrdinalIgnoreCase) &&
               (prefer.Contains("OData.Community.Display.V1.FormattedValue", StringComparison.Ordinal) || prefer.Contains("\"*\"", StringComparison.Ordinal));
    }

    /// <summary>An incident's notes, oldest first.</summary>
    private List<(Note Note, string Author)> NotesOf(string incidentId)
    {
        var id = Guid.Parse(incidentId);
        lock (_incidentWriteGate)
        {
            return _notes.Where(n => n.IncidentId == id).OrderBy(n => n.CreatedAt).Select(n => (n, _noteAuthors.GetValueOrDefault(n.Id, ApiUserName))).ToList();
        }
    }

    /// <summary>One note as the Web API answers it: createdon in whole seconds, as Dataverse keeps it; the author's name as a formatted value.</summary>
    private static void WriteNote(Utf8JsonWriter json, (Note Note, string Author) entry, string[] fields, bool formatted)
    {
        var (note, author) = entry;
        json.WriteStartObject();
        json.WriteString("@odata.etag", $"W/\"{note.CreatedAt.ToUnixTimeMilliseconds()}\"");
        foreach (var field in fields)
        {
            switch (field)
            {
                case "annotationid":
                    json.WriteString(field, note.Id.ToString("D"));
                    break;
                case "subject":
                    json.WriteString(field, note.Subject);
                    break;
                case "notetext":
                    json.WriteString(field, note.Text);
                    break;
                case "_objectid_value":
                    json.WriteString(field, note.IncidentId?.ToString("D"));
                    break;
                case "objecttypecode":
                    json.WriteString(field, note.IncidentId is null ? null : "incident");
                    break;
                case "createdon":
                    json.WriteString(field, note.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
                    break;
                case "_createdby_value":
                    // A stable id per author name; the name itself is the formatted value.
                    json.WriteString(field, new Guid(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(author))).ToString("D"));
                    if (formatted)
                    {
                        json.WriteString(field + "@OData.Community.Display.V1.FormattedValue", author);
                    }
                    break;
            }
        }
        json.WriteEndObject();
    }

    /// <summary>
    /// GET annotations?$filter=objecttypecode eq 'incident' and createdon ge|gt &lt;DateTimeOffset&gt;[&amp;$select][&amp;$orderby=createdon asc]:
    /// the notes on incidents created since then, oldest first (createdon compared in whole seconds, as Dataverse keeps it). One page.
    /// </summary>
    private async Task NotesSinceAsync(HttpContext context)
    {
        if (!IsValidApiToken(BearerToken(context.Request)))
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = $"Bearer authorization_uri={Authority.AbsoluteUri}oauth2/authorize, resource_id={BaseUri.AbsoluteUri}";
            return;
        }
        var query = context.Request.Query;
        var match = NotesSinceFilter.Match(query["$filter"].ToString());
        if (!match.Success || !CaseStore.TryParseLiteral(match.Groups["literal"].Value, out var since))
        {
            await ODataErrorAsync(context, 400, "0x80060888", "The emulator answers annotations?$filter=objecttypecode eq 'incident' and createdon ge|gt <DateTimeOffset>.");
            return;
        }
        if (query.TryGetValue("$orderby", out var orderBy) && !Regex.IsMatch(orderBy.ToString(), @"^\s*createdon(\s+asc)?\s*$", RegexOptions.None, EmulatorHost.RegexTimeout))
        {
            await ODataErrorAsync(context, 400, "0x80060888", "The emulator answers $orderby=createdon asc only.");
            return;
        }
        var fields = query.TryGetValue("$select", out var select) ? select.ToString().Split(',', StringSplitOptions.TrimEntries) : NoteFields;
        if (fields.FirstOrDefault(f => !NoteFields.Contains(f, StringComparer.Ordinal)) is { } unknown)
        {
            await ODataErrorAsync(context, 400, "0x80060888", $"Could not find a property named '{unknown}' on type 'Microsoft.Dynamics.CRM.annotation'.");
            return;
        }
        var inclusive = match.Groups["op"].Value == "ge";
        List<(Note Note, string Author)> notes;
        lock (_incidentWriteGate)
        {
            notes = _notes
                .Where(n => n.IncidentId is not null)
                .Select(n => (Note: n, Seconds: n.CreatedAt.ToUnixTimeSeconds() * 1000))
                .Where(n => inclusive ? n.Seconds >= since.ToUnixTimeMilliseconds() : n.Seconds > since.ToUnixTimeMilliseconds())
                .OrderBy(n => n.Note.CreatedAt)
                .Select(n => (n.Note, _noteAuthors.GetValueOrDefault(n.Note.Id, ApiUserName)))
                .ToList();
        }
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json; odata.metadata=minimal";
        context.Response.Headers["OData-Version"] = "4.0";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("@odata.context", $"{context.Request.Scheme}://{context.Request.Host}/api/data/v9.2/$metadata#annotations({string.Join(',', fields)})");
        json.WriteStartArray("value");
        foreach (var note in notes)
        {
            WriteNote(json, note, fields, FormattedValues(context.Request));
        }
        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
