using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace ConnectionTools.Emulators;

/// <summary>
/// Writes on incidents through the Dataverse Web API, as case sync applies partner cases: upsert by alternate key
/// (PATCH incidents(ct_partnerid='…')), update and read by id (PATCH/GET incidents(guid)), notes (POST annotations, GET
/// annotations?$filter=_objectid_value eq guid, paged), the alternate key's definition (GET EntityDefinitions(LogicalName='incident')/Keys),
/// the incident's state (statecode/statuscode, CloseIncident: EntraEmulator.Status.cs) and $batch (multipart/mixed, change sets all
/// or nothing, at most 1000 requests). Written values lie over the generated incidents, so written ones
/// show up in the incidents query.
/// </summary>
public sealed partial class EntraEmulator
{
    /// <summary>The incident alternate key's default attribute.</summary>
    public const string DefaultAlternateKey = "ct_partnerid";

    private const string Root = "/api/data/v9.2/";

    /// <summary>The most requests one $batch holds, change sets' requests included.</summary>
    public const int MaxBatchRequests = 1000;
    private static readonly int[] PriorityCodes = [1, 2, 3];
    private static readonly int[] OriginCodes = [1, 2, 3, 2483, 3986];

    private static readonly Regex IncidentKeyPath = new(@"^/api/data/v9\.2/incidents\((?<key>.+)\)$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private static readonly Regex AlternateKeyText = new(@"^(?<name>[A-Za-z_][A-Za-z0-9_]*)='(?<value>(?:[^']|'')*)'$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private static readonly Regex BindText = new(@"^/?(?<set>accounts|contacts|incidents)\((?<id>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\)$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private static readonly Regex NotesFilter = new(@"^\s*_objectid_value\s+eq\s+(?<id>[0-9A-Fa-f-]{36})(\s+and\s+objecttypecode\s+eq\s+'incident')?\s*$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    /// <summary>What one Web API operation answers; $batch writes several into one multipart body.</summary>
    private sealed record DataverseResult(int Status, List<(string Name, string Value)> Headers, string? Json)
    {
        public bool Failed => Status >= 400;
    }

    private sealed record Note(Guid Id, string? Subject, string? Text, Guid? IncidentId, DateTimeOffset CreatedAt);

    private readonly object _incidentWriteGate = new();

    // An incident's written attributes: each write publishes a new dictionary and never changes it afterwards.
    private readonly ConcurrentDictionary<int, IReadOnlyDictionary<string, object?>> _writtenIncidents = new();

    // Dataverse alternate keys on text compare case-insensitively (the default collation).
    private readonly Dictionary<string, int> _byAlternateKey = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Note> _notes = [];
    private string _alternateKey = DefaultAlternateKey;
    private bool _omitAlternateKey;
    private string? _rejectedIncidentField;
    private int _failNextIncidentWrites;
    private int _throttleNextIncidentWrites;
    private TimeSpan _incidentWriteDelay;
    private bool _notesTouchIncident;
    private int _maxNotesPage = DefaultIncidentPageSize;
    private int _incidentWritesApplied;

    /// <summary>Attribute of the incident alternate key (text 100). Default <see cref="DefaultAlternateKey"/>.</summary>
    public string AlternateKey
    {
        get { lock (_incidentWriteGate) { return _alternateKey; } }
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            lock (_incidentWriteGate) { _alternateKey = value; }
        }
    }

    /// <summary>When true, the environment lacks the key and its column: Keys lists none, upserts by it answer 400 and bodies
    /// naming the column answer 0x80060888.</summary>
    public bool OmitAlternateKey
    {
        get { lock (_incidentWriteGate) { return _omitAlternateKey; } }
        set { lock (_incidentWriteGate) { _omitAlternateKey = value; } }
    }

    /// <summary>An incident column the caller may not write (field security): writes naming it answer 403 0x80040220. Null: none.</summary>
    public string? RejectedIncidentField
    {
        get { lock (_incidentWriteGate) { return _rejectedIncidentField; } }
        set { lock (_incidentWriteGate) { _rejectedIncidentField = value; } }
    }

    /// <summary>How many coming writes (PATCH, POST; a $batch counts once) answer 500 0x80040216, unapplied.</summary>
    public int FailNextWrites
    {
        get { lock (_incidentWriteGate) { return _failNextIncidentWrites; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            lock (_incidentWriteGate) { _failNextIncidentWrites = value; }
        }
    }

    /// <summary>How many coming writes answer 429 (service protection, 0x80072322) with Retry-After, unapplied.</summary>
    public int ThrottleNextWrites
    {
        get { lock (_incidentWriteGate) { return _throttleNextIncidentWrites; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            lock (_incidentWriteGate) { _throttleNextIncidentWrites = value; }
        }
    }

    /// <summary>Delay before each write is handled (0 .. <see cref="EmulatorHost.MaxLatency"/>), on top of <see cref="EmulatorHost.Latency"/>.</summary>
    public TimeSpan WriteDelay
    {
        get { lock (_incidentWriteGate) { return _incidentWriteDelay; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxLatency);
            lock (_incidentWriteGate) { _incidentWriteDelay = value; }
        }
    }

    /// <summary>Whether a new note moves its incident's modifiedon (default false: a note is a row of its own in Dataverse).</summary>
    public bool NotesTouchIncident
    {
        get { lock (_incidentWriteGate) { return _notesTouchIncident; } }
        set { lock (_incidentWriteGate) { _notesTouchIncident = value; } }
    }

    /// <summary>The most notes one page of annotations holds (Dataverse: 5000); a smaller Prefer: odata.maxpagesize wins.</summary>
    public int MaxNotesPage
    {
        get { lock (_incidentWriteGate) { return _maxNotesPage; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            lock (_incidentWriteGate) { _maxNotesPage = value; }
        }
    }

    /// <summary>Incidents created or updated by writes.</summary>
    public int WritesApplied => Volatile.Read(ref _incidentWritesApplied);

    /// <summary>The incidentid whose alternate key is <paramref name="value"/>, or null.</summary>
    public string? FindIncidentByAlternateKey(string value)
    {
        lock (_incidentWriteGate) { return _byAlternateKey.TryGetValue(value, out var n) ? CaseId(n) : null; }
    }

    private IReadOnlyDictionary<string, object?>? WrittenIncident(int number) => _writtenIncidents.GetValueOrDefault(number);

    private string[] SelectableIncidentFields()
    {
        lock (_incidentWriteGate)
        {
            return _omitAlternateKey ? [.. IncidentFields, "statuscode", "description", "prioritycode", "caseorigincode", "_customerid_value"]
                : [.. IncidentFields, "statuscode", "description", "prioritycode", "caseorigincode", "_customerid_value", _alternateKey];
        }
    }

    /// <summary>An attribute's value: the written one, else the one derived from the incident's number and revision.</summary>
    private static object? IncidentValue(CaseKey key, string field, IReadOnlyDictionary<string, object?>? written)
    {
        switch (field)
        {
            case "incidentid":
                return CaseId(key.Number);
            case "ticketnumber":
                return string.Create(CultureInfo.InvariantCulture, $"CAS-{key.Number:D5}-{TicketSuffix(key.Number)}");
            case "modifiedon":
                var at = key.ModifiedAt.UtcDateTime;
                return at.ToString(at.Millisecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        }
        if (written is not null)
        {
            return written.GetValueOrDefault(field);
        }
        return field switch
        {
            "title" => CaseStore.Subject(key),
            "statecode" => IncidentStates[(key.Number + key.Revision) % IncidentStates.Length],
            "statuscode" => DefaultStatus(IncidentStates[(key.Number + key.Revision) % IncidentStates.Length]),
            "prioritycode" => PriorityCodes[key.Number % PriorityCodes.Length],
            "caseorigincode" => OriginCodes[key.Number % 3],
            _ => null,
        };
    }

    private static void WriteIncidentField(Utf8JsonWriter json, CaseKey key, string field, IReadOnlyDictionary<string, object?>? written)
    {
        switch (IncidentValue(key, field, written))
        {
            case string s:
                json.WriteString(field, s);
                break;
            case int i:
                json.WriteNumber(field, i);
                break;
            default:
                json.WriteNull(field);
                break;
        }
    }

    private static bool IsIncidentWritePath(string path) =>
        IncidentKeyPath.IsMatch(path) ||
        path.Equals(Root + "annotations", StringComparison.OrdinalIgnoreCase) ||
        path.Equals(Root + "$batch", StringComparison.OrdinalIgnoreCase) ||
        path.Equals(Root + "CloseIncident", StringComparison.OrdinalIgnoreCase) ||
        path.Equals(Root + "EntityDefinitions(LogicalName='incident')/Keys", StringComparison.OrdinalIgnoreCase);

    private static DataverseResult Error(int status, string code, string message) =>
        new(status, [("OData-Version", "4.0")], JsonSerializer.Serialize(new { error = new { code, message } }));

    private async Task IncidentWritesAsync(HttpContext context, string path)
    {
        var method = context.Request.Method;
        var write = HttpMethods.IsPatch(method) || HttpMethods.IsPost(method);
        var latency = Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, context.RequestAborted);
        }
        if (write && WriteDelay is var delay && delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, context.RequestAborted);
        }
        if (!IsValidApiToken(BearerToken(context.Request)))
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = $"Bearer authorization_uri={Authority.AbsoluteUri}oauth2/authorize, resource_id={BaseUri.AbsoluteUri}";
            return;
        }
        if (write)
        {
            bool throttle, fail = false;
            lock (_incidentWriteGate)
            {
                throttle = _throttleNextIncidentWrites > 0;
                if (throttle)
                {
                    _throttleNextIncidentWrites--;
                }
                else if (_failNextIncidentWrites > 0)
                {
                    _failNextIncidentWrites--;
                    fail = true;
                }
            }
            if (throttle)
            {
                context.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                await WriteResultAsync(context, Error(429, "0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds."));
                return;
            }
            if (fail)
            {
                await WriteResultAsync(context, Error(500, "0x80040216", "An unexpected error occurred."));
                return;
            }
        }
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var origin = OriginOf(context);
        if (path.Equals(Root + "$batch", StringComparison.OrdinalIgnoreCase))
        {
            await BatchAsync(context, body, origin);
            return;
        }
        DataverseResult result;
        lock (_incidentWriteGate)
        {
            result = Execute(method, path, context.Request.QueryString.Value ?? "", context.Request.Headers, body, origin, dryRun: false, pending: null);
        }
        await WriteResultAsync(context, result);
    }

    private static async Task WriteResultAsync(HttpContext context, DataverseResult result)
    {
        context.Response.StatusCode = result.Status;
        foreach (var (name, value) in result.Headers)
        {
            context.Response.Headers[name] = value;
        }
        if (result.Json is not null)
        {
            context.Response.ContentType = "application/json; odata.metadata=minimal";
            await context.Response.WriteAsync(result.Json, context.RequestAborted);
        }
    }

    /// <summary>
    /// One operation; caller holds _incidentWriteGate. A dry run validates without applying; <paramref name="pending"/> holds the
    /// alternate keys earlier operations of the same change set will create, so a later one sees them as existing.
    /// </summary>
    private DataverseResult Execute(string method, string path, string query, IHeaderDictionary headers, string body, string origin, bool dryRun, ChangeSetState? pending)
    {
        if (path.Equals(Root + "CloseIncident", StringComparison.OrdinalIgnoreCase))
        {
            return HttpMethods.IsPost(method) ? CloseIncident(body, dryRun, pending) : Error(405, "0x80060888", "CloseIncident is an action: POST it.");
        }
        if (path.Equals(Root + "EntityDefinitions(LogicalName='incident')/Keys", StringComparison.OrdinalIgnoreCase) && HttpMethods.IsGet(method))
        {
            return KeysResult(origin);
        }
        if (path.Equals(Root + "annotations", StringComparison.OrdinalIgnoreCase))
        {
            return HttpMethods.IsPost(method) ? CreateNote(headers, body, origin, dryRun)
                : HttpMethods.IsGet(method) ? NotesResult(query, headers, origin)
                : Error(405, "0x80060888", "The requested method is not supported by the emulator.");
        }
        var match = IncidentKeyPath.Match(path);
        if (!match.Success || !(HttpMethods.IsPatch(method) || HttpMethods.IsGet(method)))
        {
            return Error(404, "0x80060888", $"Resource not found for the segment '{path.Split('/')[^1]}'.");
        }
        var keyText = match.Groups["key"].Value;
        int? existing;
        string? alternateValue = null;
        if (Guid.TryParse(keyText, out var guid))
        {
            // Upsert by a new incidentid would create a row with that id; the emulator's ids follow its numbering, so it answers 404.
            existing = TryParseCaseNumber(guid.ToString("D"), out var n) && _incidents.Contains(n) ? n : null;
            if (existing is null)
            {
                return Error(404, "0x80040217", $"incident With Id = {guid:D} Does Not Exist");
            }
        }
        else if (AlternateKeyText.Match(keyText) is { Success: true } alternate)
        {
            if (_omitAlternateKey || !alternate.Groups["name"].Value.Equals(_alternateKey, StringComparison.Ordinal))
            {
                return Error(400, "0x80060888", $"The key '{alternate.Groups["name"].Value}' is not an alternate key of entity 'incident'.");
            }
            alternateValue = alternate.Groups["value"].Value.Replace("''", "'", StringComparison.Ordinal);
            existing = _byAlternateKey.TryGetValue(alternateValue, out var n) ? n : pending?.Created.Contains(alternateValue) == true ? 0 : null;
        }
        else
        {
            return Error(400, "0x80060888", $"Bad Request - Error in query syntax: incidents({keyText}).");
        }
        if (HttpMethods.IsGet(method))
        {
            return existing is { } found and > 0 ? IncidentResult(200, found, origin)
                : Error(404, "0x80040217", $"incident With Ids = {_alternateKey}:{alternateValue} Does Not Exist");
        }
        if (existing is null && headers.IfMatch.ToString() == "*")
        {
            return Error(404, "0x80040217", $"incident With Ids = {_alternateKey}:{alternateValue} Does Not Exist");
        }
        if (existing is not null && headers.IfNoneMatch.ToString() == "*")
        {
            return Error(412, "0x80040237", "A record with matching key values already exists.");
        }
        var problem = ValidateIncident(body, creating: existing is null, alternateValue, out var values) ??
                      StateProblem(creating: existing is null, CurrentState(existing, alternateValue, pending), values);
        if (problem is not null)
        {
            return problem;
        }
        if (dryRun)
        {
            pending?.Record(existing, alternateValue, values);
            return new DataverseResult(204, [], null);
        }
        var number = ApplyIncidentUnlocked(existing, values);
        var representation = headers["Prefer"].ToString().Contains("return=representation", StringComparison.OrdinalIgnoreCase);
        if (representation)
        {
            return IncidentResult(existing is null ? 201 : 200, number, origin);
        }
        return new DataverseResult(204, [("OData-Version", "4.0"), ("OData-EntityId", $"{origin}{Root}incidents({CaseId(number)})")], null);
    }

    /// <summary>Checks a body against incident; caller holds _incidentWriteGate. Null when valid, with the attributes to set.</summary>
    private DataverseResult? ValidateIncident(string body, bool creating, string? alternateValue, out Dictionary<string, object?> values)
    {
        values = new Dictionary<string, object?>(StringComparer.Ordinal);
        JsonObject? json;
        try
        {
            json = JsonNode.Parse(body.Length == 0 ? "{}" : body) as JsonObject;
        }
        catch (JsonException)
        {
            json = null;
        }
        if (json is null)
        {
            return Error(400, "0x80060888", "The request body is not a JSON object.");
        }
        var hasCustomer = false;
        foreach (var (name, node) in json)
        {
            if (name.StartsWith('@'))
            {
                continue;
            }
            if (_rejectedIncidentField is not null && name.Equals(_rejectedIncidentField, StringComparison.Ordinal))
            {
                return Error(403, "0x80040220", $"The user does not have update permissions to a secured field '{name}'.");
            }
            var kind = node?.GetValueKind() ?? JsonValueKind.Null;
            switch (name)
            {
                case "customerid_account@odata.bind" or "customerid_contact@odata.bind":
                    var expected = name.StartsWith("customerid_account", StringComparison.Ordinal) ? "accounts" : "contacts";
                    if (kind != JsonValueKind.String || BindText.Match(node!.GetValue<string>()) is not { Success: true } bind || bind.Groups["set"].Value != expected)
                    {
                        return Error(400, "0x80060888", $"The value of '{name}' is not a valid /{expected}(id) reference: {node?.ToJsonString()}");
                    }
                    values["_customerid_value"] = bind.Groups["id"].Value.ToLowerInvariant();
                    hasCustomer = true;
                    break;
                case "title" or "description":
                    var max = name == "title" ? 200 : 2000;
                    if (kind is not (JsonValueKind.String or JsonValueKind.Null))
                    {
                        return Error(400, "0x80060888", $"Cannot convert the literal '{node!.ToJsonString()}' to the expected type 'Edm.String'.");
                    }
                    var text = node?.GetValue<string>();
                    if (text is not null && text.Length > max)
                    {
                        return Error(400, "0x80044331",
                            $"A validation error occurred. The length of the '{name}' attribute of the 'incident' entity exceeded the maximum allowed length of '{max}'.");
                    }
                    values[name] = text;
                    break;
                case "statecode" or "statuscode":
                    if (kind != JsonValueKind.Number || !node!.AsValue().TryGetValue<int>(out var stateValue))
                    {
                        return Error(400, "0x80060888", $"Cannot convert the literal '{node?.ToJsonString() ?? "null"}' to the expected type 'Edm.Int32'.");
                    }
                    if (name == "statecode" && stateValue is < 0 or > 2)
                    {
                        return Error(400, "0x8004431A", $"A validation error occurred. The value {stateValue} of 'statecode' on record of type 'incident' is outside the valid range.");
                    }
                    values[name] = stateValue;
                    break;
                case "prioritycode" or "caseorigincode":
                    var allowed = name == "prioritycode" ? PriorityCodes : OriginCodes;
                    if (kind == JsonValueKind.Null)
                    {
                        values[name] = null;
                        break;
                    }
                    if (kind != JsonValueKind.Number || !node!.AsValue().TryGetValue<int>(out var code))
                    {
                        return Error(400, "0x80060888", $"Cannot convert the literal '{node!.ToJsonString()}' to the expected type 'Edm.Int32'.");
                    }
                    if (!allowed.Contains(code))
                    {
                        return Error(400, "0x8004431A", $"A validation error occurred. The value {code} of '{name}' on record of type 'incident' is outside the valid range.");
                    }
                    values[name] = code;
                    break;
                case var key when !_omitAlternateKey && key == _alternateKey:
                    if (kind is not (JsonValueKind.String or JsonValueKind.Null))
                    {
                        return Error(400, "0x80060888", $"Cannot convert the literal '{node!.ToJsonString()}' to the expected type 'Edm.String'.");
                    }
                    var keyValue = node?.GetValue<string>();
                    if (alternateValue is not null && !string.Equals(keyValue, alternateValue, StringComparison.OrdinalIgnoreCase))
                    {
                        return Error(400, "0x80060888", $"The value of '{key}' in the body does not match the key in the URL.");
                    }
                    if (keyValue is { Length: > 100 })
                    {
                        return Error(400, "0x80044331",
                            $"A validation error occurred. The length of the '{key}' attribute of the 'incident' entity exceeded the maximum allowed length of '100'.");
                    }
                    values[key] = keyValue;
                    break;
                default:
                    return Error(400, "0x80060888",
                        $"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.incident'. Make sure to only use property names that are defined by the type.");
            }
        }
        if (creating && !hasCustomer)
        {
            return Error(400, "0x80040200", "You should specify a parent contact or account.");
        }
        if (alternateValue is not null)
        {
            if (alternateValue.Length > 100)
            {
                return Error(400, "0x80044331",
                    $"A validation error occurred. The length of the '{_alternateKey}' attribute of the 'incident' entity exceeded the maximum allowed length of '100'.");
            }
            // An update keeps the stored spelling: the key matched case-insensitively.
            values.Remove(_alternateKey);
            if (creating)
            {
                values[_alternateKey] = alternateValue;
            }
        }
        else if (values.GetValueOrDefault(_alternateKey) is string taken && _byAlternateKey.ContainsKey(taken))
        {
            return Error(412, "0x80040237", "A record with matching key values already exists.");
        }
        return null;
    }

    /// <summary>Creates (number null) or updates an incident with valid values, moving its modifiedon; caller holds _incidentWriteGate.</summary>
    private int ApplyIncidentUnlocked(int? number, Dictionary<string, object?> values)
    {
        Dictionary<string, object?> fields;
        CaseKey key;
        if (number is { } existing)
        {
            // A generated incident keeps the values it had before its first write; from then on only writes change them.
            var before = _incidents.Get(existing);
            var written = WrittenIncident(existing);
            fields = written is not null ? new Dictionary<string, object?>(written) : new Dictionary<string, object?>
            {
                ["title"] = IncidentValue(before, "title", null),
                ["statecode"] = IncidentValue(before, "statecode", null),
                ["statuscode"] = IncidentValue(before, "statuscode", null),
                ["prioritycode"] = IncidentValue(before, "prioritycode", null),
                ["caseorigincode"] = IncidentValue(before, "caseorigincode", null),
            };
            key = _incidents.TouchWritten(existing);
        }
        else
        {
            fields = new Dictionary<string, object?> { ["statecode"] = 0, ["statuscode"] = 1, ["prioritycode"] = 2 };
            key = _incidents.AppendWritten();
        }
        if (values.TryGetValue(_alternateKey, out var newKey))
        {
            if (fields.GetValueOrDefault(_alternateKey) is string oldKey)
            {
                _byAlternateKey.Remove(oldKey);
            }
            if (newKey is string k)
            {
                _byAlternateKey[k] = key.Number;
            }
        }
        foreach (var (name, value) in values)
        {
            fields[name] = value;
        }
        _writtenIncidents[key.Number] = fields;
        Interlocked.Increment(ref _incidentWritesApplied);
        return key.Number;
    }

    private DataverseResult IncidentResult(int status, int number, string origin)
    {
        var key = _incidents.Get(number);
        var written = WrittenIncident(number);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("@odata.context", $"{origin}{Root}$metadata#incidents/$entity");
            json.WriteString("@odata.etag", $"W/\"{1_000_000L + (key.Number * 10L) + key.Revision}\"");
            foreach (var field in SelectableIncidentFields())
            {
                WriteIncidentField(json, key, field, written);
            }
            json.WriteEndObject();
        }
        return new DataverseResult(status, [("OData-Version", "4.0"), ("OData-EntityId", $"{origin}{Root}incidents({CaseId(number)})")],
            Encoding.UTF8.GetString(stream.ToArray()));
    }

    private DataverseResult KeysResult(string origin)
    {
        var keys = _omitAlternateKey ? [] : new[]
        {
            new Dictionary<string, object?>
            {
                ["LogicalName"] = _alternateKey,
                ["SchemaName"] = _alternateKey,
                ["EntityLogicalName"] = "incident",
                ["KeyAttributes"] = new[] { _alternateKey },
                ["EntityKeyIndexStatus"] = "Active",
                ["MetadataId"] = "5c0de5a1-7e4a-4e00-9e00-000000000001",
            },
        };
        return new DataverseResult(200, [("OData-Version", "4.0")], JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["@odata.context"] = $"{origin}{Root}$metadata#EntityDefinitions('incident')/Keys",
            ["value"] = keys,
        }));
    }

    private DataverseResult CreateNote(IHeaderDictionary headers, string body, string origin, bool dryRun)
    {
        JsonObject? json;
        try
        {
            json = JsonNode.Parse(body.Length == 0 ? "{}" : body) as JsonObject;
        }
        catch (JsonException)
        {
            json = null;
        }
        if (json is null)
        {
            return Error(400, "0x80060888", "The request body is not a JSON object.");
        }
        string? subject = null, text = null;
        Guid? incident = null;
        foreach (var (name, node) in json)
        {
            var kind = node?.GetValueKind() ?? JsonValueKind.Null;
            switch (name)
            {
                case "subject" or "notetext" when kind is JsonValueKind.String or JsonValueKind.Null:
                    var value = node?.GetValue<string>();
                    var max = name == "subject" ? 500 : 100_000;
                    if (value is { Length: var length } && length > max)
                    {
                        return Error(400, "0x80044331",
                            $"A validation error occurred. The length of the '{name}' attribute of the 'annotation' entity exceeded the maximum allowed length of '{max}'.");
                    }
                    (subject, text) = name == "subject" ? (value, text) : (subject, value);
                    break;
                case "objectid_incident@odata.bind" when kind == JsonValueKind.String &&
                                                        BindText.Match(node!.GetValue<string>()) is { Success: true } bind && bind.Groups["set"].Value == "incidents":
                    var id = bind.Groups["id"].Value.ToLowerInvariant();
                    if (!TryParseCaseNumber(id, out var n) || !_incidents.Contains(n))
                    {
                        return Error(404, "0x80040217", $"incident With Id = {id} Does Not Exist");
                    }
                    incident = Guid.Parse(id);
                    break;
                default:
                    return Error(400, "0x80060888",
                        $"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.annotation' or its value is not valid.");
            }
        }
        if (dryRun)
        {
            return new DataverseResult(204, [], null);
        }
        var note = new Note(Guid.NewGuid(), subject, text, incident, DateTimeOffset.UtcNow);
        _notes.Add(note);
        if (_notesTouchIncident && incident is { } parent && TryParseCaseNumber(parent.ToString("D"), out var number))
        {
            _incidents.TouchWritten(number);
        }
        var entityId = $"{origin}{Root}annotations({note.Id:D})";
        if (headers["Prefer"].ToString().Contains("return=representation", StringComparison.OrdinalIgnoreCase))
        {
            return new DataverseResult(201, [("OData-Version", "4.0"), ("OData-EntityId", entityId)], JsonSerializer.Serialize(NoteJson(note)));
        }
        return new DataverseResult(204, [("OData-Version", "4.0"), ("OData-EntityId", entityId)], null);
    }

    private static Dictionary<string, object?> NoteJson(Note note) => new()
    {
        ["annotationid"] = note.Id.ToString("D"),
        ["subject"] = note.Subject,
        ["notetext"] = note.Text,
        ["_objectid_value"] = note.IncidentId?.ToString("D"),
        ["objecttypecode"] = note.IncidentId is null ? null : "incident",
        ["createdon"] = note.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// GET annotations?$filter=_objectid_value eq id [and objecttypecode eq 'incident'], $orderby createdon [asc|desc], $select,
    /// paged by Prefer: odata.maxpagesize (at most <see cref="MaxNotesPage"/>) with an @odata.nextLink carrying the offset.
    /// </summary>
    private DataverseResult NotesResult(string query, IHeaderDictionary headers, string origin)
    {
        var options = QueryHelpers(query);
        var filter = options.GetValueOrDefault("$filter");
        if (filter is null || NotesFilter.Match(filter) is not { Success: true } match)
        {
            return Error(400, "0x80060888", "The emulator answers annotations?$filter=_objectid_value eq <incidentid> [and objecttypecode eq 'incident'] only.");
        }
        var order = options.GetValueOrDefault("$orderby")?.Trim();
        if (order is not (null or "createdon" or "createdon asc" or "createdon desc"))
        {
            return Error(400, "0x80060888", "The emulator answers $orderby=createdon asc|desc only.");
        }
        var select = options.GetValueOrDefault("$select")?.Split(',', StringSplitOptions.TrimEntries);
        var unknown = select?.FirstOrDefault(f => f is not ("annotationid" or "subject" or "notetext" or "_objectid_value" or "objecttypecode" or "createdon"));
        if (unknown is not null)
        {
            return Error(400, "0x80060888", $"Could not find a property named '{unknown}' on type 'Microsoft.Dynamics.CRM.annotation'.");
        }
        var skip = 0;
        if (options.GetValueOrDefault("$skiptoken") is { } token && (!int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out skip) || skip < 1))
        {
            return Error(400, "0x80040203", "Invalid paging cookie.");
        }
        var id = Guid.Parse(match.Groups["id"].Value);
        IEnumerable<Note> notes = _notes.Where(n => n.IncidentId == id);
        notes = order == "createdon desc" ? notes.Reverse().OrderByDescending(n => n.CreatedAt) : notes.OrderBy(n => n.CreatedAt);
        var all = notes.ToList();
        var size = _maxNotesPage;
        foreach (var preference in headers["Prefer"].ToString().Split(',', StringSplitOptions.TrimEntries))
        {
            if (preference.StartsWith("odata.maxpagesize=", StringComparison.OrdinalIgnoreCase) &&
                int.TryParse(preference["odata.maxpagesize=".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var preferred) && preferred > 0)
            {
                size = Math.Min(size, preferred);
            }
        }
        var page = all.Skip(skip).Take(size).Select(n =>
        {
            var json = NoteJson(n);
            return select is null ? json : json.Where(p => p.Key == "annotationid" || select.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value);
        }).ToArray();
        var result = new Dictionary<string, object?>
        {
            ["@odata.context"] = $"{origin}{Root}$metadata#annotations",
            ["value"] = page,
        };
        if (skip + size < all.Count)
        {
            options["$skiptoken"] = (skip + size).ToString(CultureInfo.InvariantCulture);
            result["@odata.nextLink"] = $"{origin}{Root}annotations?" +
                string.Join('&', options.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        }
        return new DataverseResult(200, [("OData-Version", "4.0")], JsonSerializer.Serialize(result));
    }

    private static Dictionary<string, string> QueryHelpers(string query)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            result[Uri.UnescapeDataString(parts[0])] = parts.Length > 1 ? Uri.UnescapeDataString(parts[1].Replace('+', ' ')) : "";
        }
        return result;
    }

    private sealed record BatchRequest(string Method, string Path, string Query, HeaderDictionary Headers, string Body, string? ContentId);

    /// <summary>
    /// $batch: each part is one request (application/http) or a change set (multipart/mixed) whose requests apply all or none;
    /// a failed change set answers its failing request only. Processing stops at the first failure unless the client sends
    /// Prefer: odata.continue-on-error. The whole batch runs under one lock, so no other write interleaves.
    /// </summary>
    private async Task BatchAsync(HttpContext context, string body, string origin)
    {
        if (!HttpMethods.IsPost(context.Request.Method) || BoundaryOf(context.Request.ContentType) is not { } boundary)
        {
            await WriteResultAsync(context, Error(400, "0x80060888", "A $batch request is a POST with Content-Type: multipart/mixed; boundary=…"));
            return;
        }
        var continueOnError = context.Request.Headers["Prefer"].ToString().Contains("odata.continue-on-error", StringComparison.OrdinalIgnoreCase);
        var parts = SplitParts(body, boundary);
        var count = parts.Sum(p => BoundaryOf(p.Headers.GetValueOrDefault("content-type")) is { } inner ? SplitParts(p.Content, inner).Count : 1);
        if (count > MaxBatchRequests)
        {
            await WriteResultAsync(context, Error(400, "0x80060888", $"The number of requests in a batch ({count}) exceeds the limit of {MaxBatchRequests}."));
            return;
        }
        var answer = "batchresponse_" + Guid.NewGuid().ToString("D");
        var text = new StringBuilder();
        lock (_incidentWriteGate)
        {
            foreach (var (headers, content) in parts)
            {
                bool failed;
                if (BoundaryOf(headers.GetValueOrDefault("content-type")) is { } changeset)
                {
                    var requests = SplitParts(content, changeset).Select(p => ParseHttp(p.Headers, p.Content)).ToList();
                    var pending = new ChangeSetState();
                    var failure = requests.Select(r => (Request: r, Result: Execute(r.Method, r.Path, r.Query, r.Headers, r.Body, origin, dryRun: true, pending)))
                        .FirstOrDefault(x => x.Result.Failed);
                    failed = failure.Result is not null;
                    if (failed)
                    {
                        AppendHttp(text, answer, failure.Request.ContentId, failure.Result!);
                    }
                    else
                    {
                        var inner = "changesetresponse_" + Guid.NewGuid().ToString("D");
                        text.Append("--").Append(answer).Append("\r\nContent-Type: multipart/mixed; boundary=").Append(inner).Append("\r\n\r\n");
                        foreach (var r in requests)
                        {
                            AppendHttp(text, inner, r.ContentId, Execute(r.Method, r.Path, r.Query, r.Headers, r.Body, origin, dryRun: false, pending: null));
                        }
                        text.Append("--").Append(inner).Append("--\r\n");
                    }
                }
                else
                {
                    var r = ParseHttp(headers, content);
                    var result = Execute(r.Method, r.Path, r.Query, r.Headers, r.Body, origin, dryRun: false, pending: null);
                    failed = result.Failed;
                    AppendHttp(text, answer, r.ContentId, result);
                }
                if (failed && !continueOnError)
                {
                    break;
                }
            }
        }
        text.Append("--").Append(answer).Append("--\r\n");
        context.Response.StatusCode = 200;
        context.Response.Headers["OData-Version"] = "4.0";
        context.Response.ContentType = "multipart/mixed; boundary=" + answer;
        await context.Response.WriteAsync(text.ToString(), context.RequestAborted);
    }

    private static string? BoundaryOf(string? contentType)
    {
        if (contentType is null || !contentType.TrimStart().StartsWith("multipart/mixed", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var parameter = contentType.Split(';', StringSplitOptions.TrimEntries).FirstOrDefault(p => p.StartsWith("boundary=", StringComparison.OrdinalIgnoreCase));
        return parameter?["boundary=".Length..].Trim('"');
    }

    /// <summary>The parts of a multipart body: each part's headers (lower-case names) and content.</summary>
    private static List<(Dictionary<string, string> Headers, string Content)> SplitParts(string body, string boundary)
    {
        var parts = new List<(Dictionary<string, string>, string)>();
        var chunks = body.Replace("\r\n", "\n", StringComparison.Ordinal).Split("--" + boundary, StringSplitOptions.None);
        foreach (var chunk in chunks.Skip(1))
        {
            if (chunk.StartsWith("--", StringComparison.Ordinal))
            {
                break;
            }
            var (headers, content) = SplitHead(chunk.TrimStart('\n'));
            parts.Add((headers, content.TrimEnd('\n')));
        }
        return parts;
    }

    private static (Dictionary<string, string> Headers, string Remainder) SplitHead(string text)
    {
        var end = text.IndexOf("\n\n", StringComparison.Ordinal);
        var head = end < 0 ? text : text[..end];
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in head.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
            }
        }
        return (headers, end < 0 ? "" : text[(end + 2)..]);
    }

    /// <summary>An application/http part: request line, headers, body. URLs may be absolute, rooted or relative to the service root.</summary>
    private static BatchRequest ParseHttp(Dictionary<string, string> partHeaders, string content)
    {
        var newline = content.IndexOf('\n', StringComparison.Ordinal);
        var requestLine = (newline < 0 ? content : content[..newline]).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var (headers, body) = SplitHead(newline < 0 ? "" : content[(newline + 1)..]);
        var target = requestLine.Length > 1 ? requestLine[1] : "";
        if (Uri.TryCreate(target, UriKind.Absolute, out var absolute) && absolute.Scheme.StartsWith("http", StringComparison.Ordinal))
        {
            target = absolute.PathAndQuery;
        }
        else if (!target.StartsWith('/'))
        {
            target = Root + target;
        }
        var question = target.IndexOf('?', StringComparison.Ordinal);
        var path = Uri.UnescapeDataString(question < 0 ? target : target[..question]);
        var dictionary = new HeaderDictionary();
        foreach (var (name, value) in headers)
        {
            dictionary[name] = value;
        }
        return new BatchRequest(requestLine.Length > 0 ? requestLine[0] : "", path, question < 0 ? "" : target[question..], dictionary, body,
            partHeaders.GetValueOrDefault("content-id"));
    }

    private static void AppendHttp(StringBuilder text, string boundary, string? contentId, DataverseResult result)
    {
        text.Append("--").Append(boundary).Append("\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
        if (contentId is not null)
        {
            text.Append("Content-ID: ").Append(contentId).Append("\r\n");
        }
        text.Append("\r\nHTTP/1.1 ").Append(result.Status.ToString(CultureInfo.InvariantCulture)).Append(' ')
            .Append(ReasonPhrases.GetReasonPhrase(result.Status)).Append("\r\n");
        foreach (var (name, value) in result.Headers)
        {
            text.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        if (result.Json is not null)
        {
            text.Append("Content-Type: application/json; odata.metadata=minimal\r\n\r\n").Append(result.Json).Append("\r\n");
        }
        else
        {
            text.Append("\r\n");
        }
    }
}
