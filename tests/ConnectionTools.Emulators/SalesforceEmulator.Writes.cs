using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace ConnectionTools.Emulators;

/// <summary>
/// Writes on Case through the REST API, as case sync applies partner cases: upsert by external id
/// (PATCH sobjects/Case/{field}/{value}), sObject Collections upsert (PATCH composite/sobjects/Case/{field}), update by Id
/// (PATCH sobjects/Case/{id}), GET sobjects/Case/{id}, GET sobjects/Case/describe, POST sobjects/CaseComment and the
/// CaseComment query. Written values lie over the generated cases, so written cases show up in the retrieval query.
/// </summary>
public sealed partial class SalesforceEmulator
{
    /// <summary>The external id field's default API name.</summary>
    public const string DefaultExternalIdField = "ConnectionTools_Partner_Id__c";

    /// <summary>Records one sObject Collections request may carry.</summary>
    public const int MaxCollectionRecords = 200;

    private const int MaxCommentLength = 4000;

    private static readonly string[] CasePriorities = ["High", "Medium", "Low"];
    private static readonly string[] CaseOrigins = ["Phone", "Email", "Web"];
    private static readonly string[] ReadOnlyCaseFields = ["Id", "CaseNumber", "LastModifiedDate", "SystemModstamp"];
    private static readonly string[] CommentFields = ["Id", "ParentId", "CommentBody", "IsPublished", "CreatedDate", "CreatedBy.Name"];

    /// <summary>The Name of the connected user, who creates the comments written through the API.</summary>
    public const string ApiUserName = "Integration User";

    private static readonly Regex SObjectPath = new(
        @"^/services/data/(?<version>v\d+\.\d)/sobjects/(?<object>Case|CaseComment)(?:/(?<first>[^/]+)(?:/(?<second>[^/]+))?)?/?$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private static readonly Regex CollectionPath = new(@"^/services/data/(?<version>v\d+\.\d)/composite/sobjects/(?<object>[^/]+)/(?<field>[^/]+)/?$",
        RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private static readonly Regex CommentSoqlShape = new(
        @"^\s*SELECT\s+(?<fields>[A-Za-z][A-Za-z0-9_., ]*?)\s+FROM\s+CaseComment\s+WHERE\s+ParentId\s*=\s*'(?<parent>[A-Za-z0-9]{18})'(?:\s+ORDER\s+BY\s+CreatedDate(?:\s+ASC)?)?\s*$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private sealed record WriteError(string Code, string Message, string[] Fields);

    private sealed record CaseComment(string Id, string ParentId, string Body, bool IsPublished, DateTimeOffset CreatedAt, string CreatedByName);

    /// <summary>Guards the external id index and the comments; written field sets are published whole into _written.</summary>
    private readonly object _writeGate = new();

    // A case's written fields: each write publishes a new dictionary and never changes it afterwards, so readers need no lock.
    private readonly ConcurrentDictionary<int, IReadOnlyDictionary<string, string?>> _written = new();

    // External ids are unique and, as Salesforce's default for text external ids, case-insensitive.
    private readonly Dictionary<string, int> _byExternalId = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<CaseComment> _comments = [];
    private string _externalIdField = DefaultExternalIdField;
    private bool _omitExternalIdField;
    private string? _rejectedField;
    private string[] _requiredCaseFields = ["Subject"];
    private int _failNextWrites;
    private int _throttleNextWrites;
    private TimeSpan _writeDelay;
    private bool _commentsTouchParent = true;
    private int _writesApplied;

    /// <summary>API name of the Case external id field (text 255, unique, case-insensitive). Default <see cref="DefaultExternalIdField"/>.</summary>
    public string ExternalIdField
    {
        get { lock (_writeGate) { return _externalIdField; } }
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            lock (_writeGate) { _externalIdField = value; }
        }
    }

    /// <summary>When true, the org lacks the external id field: describe leaves it out, upserts by it answer 404 and bodies or
    /// queries naming it answer INVALID_FIELD.</summary>
    public bool OmitExternalIdField
    {
        get { lock (_writeGate) { return _omitExternalIdField; } }
        set { lock (_writeGate) { _omitExternalIdField = value; } }
    }

    /// <summary>A Case field the caller may not write (as with field-level security): writes naming it answer
    /// INVALID_FIELD_FOR_INSERT_UPDATE, and the describe shows it neither createable nor updateable. Null: none.</summary>
    public string? RejectedField
    {
        get { lock (_writeGate) { return _rejectedField; } }
        set { lock (_writeGate) { _rejectedField = value; } }
    }

    /// <summary>Case fields a create must set and no write may null (REQUIRED_FIELD_MISSING). Default: Subject.</summary>
    public IReadOnlyList<string> RequiredCaseFields
    {
        get { lock (_writeGate) { return _requiredCaseFields; } }
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            lock (_writeGate) { _requiredCaseFields = [.. value]; }
        }
    }

    /// <summary>How many coming writes (each PATCH or POST, a collection counting once) answer 500 UNKNOWN_EXCEPTION, unapplied.</summary>
    public int FailNextWrites
    {
        get { lock (_writeGate) { return _failNextWrites; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            lock (_writeGate) { _failNextWrites = value; }
        }
    }

    /// <summary>How many coming writes answer 429 REQUEST_LIMIT_EXCEEDED with Retry-After (<see cref="EmulatorHost.RetryAfter"/>), unapplied.</summary>
    public int ThrottleNextWrites
    {
        get { lock (_writeGate) { return _throttleNextWrites; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            lock (_writeGate) { _throttleNextWrites = value; }
        }
    }

    /// <summary>Delay before each write is handled (0 .. <see cref="EmulatorHost.MaxLatency"/>), on top of <see cref="EmulatorHost.Latency"/>.</summary>
    public TimeSpan WriteDelay
    {
        get { lock (_writeGate) { return _writeDelay; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxLatency);
            lock (_writeGate) { _writeDelay = value; }
        }
    }

    /// <summary>Whether a new CaseComment moves its case's SystemModstamp (default true, so retrieval sees cases with new comments).</summary>
    public bool CommentsTouchParent
    {
        get { lock (_writeGate) { return _commentsTouchParent; } }
        set { lock (_writeGate) { _commentsTouchParent = value; } }
    }

    /// <summary>Records created or updated by writes (a collection counts each record applied).</summary>
    public int WritesApplied => Volatile.Read(ref _writesApplied);

    /// <summary>The bodies of a case's comments, oldest first.</summary>
    public IReadOnlyList<string> CommentBodies(string caseId)
    {
        lock (_writeGate) { return _comments.Where(c => c.ParentId == caseId).Select(c => c.Body).ToList(); }
    }

    /// <summary>
    /// A person adds a comment to a case in Salesforce (as through its UI): the comment is created by <paramref name="author"/>
    /// and, as every new CaseComment, moves the case's SystemModstamp unless <see cref="CommentsTouchParent"/> is false.
    /// </summary>
    public void AddComment(string caseId, string body, string author)
    {
        lock (_writeGate)
        {
            if (!TryParseCaseId(caseId, out var number))
            {
                throw new KeyNotFoundException($"No case with Id {caseId}.");
            }
            AddCommentLocked(number, caseId, body, published: true, author);
        }
    }

    /// <summary>Adds a comment and moves its case (caller holds _writeGate); returns the comment's Id.</summary>
    private string AddCommentLocked(int parentNumber, string parentId, string body, bool published, string author)
    {
        var id = "00a5g" + (_comments.Count + 1).ToString("D10", CultureInfo.InvariantCulture) + "AAA";
        _comments.Add(new CaseComment(id, parentId, body, published, DateTimeOffset.UtcNow, author));
        if (_commentsTouchParent)
        {
            _cases.TouchWritten(parentNumber);
        }
        return id;
    }

    /// <summary>A case's comments, oldest first.</summary>
    private List<CaseComment> CommentsOf(string caseId)
    {
        lock (_writeGate) { return _comments.Where(c => c.ParentId == caseId).ToList(); }
    }

    /// <summary>The Id of the case whose external id is <paramref name="value"/>, or null.</summary>
    public string? FindCaseByExternalId(string value)
    {
        lock (_writeGate) { return _byExternalId.TryGetValue(value, out var n) ? CaseId(n) : null; }
    }

    /// <summary>The value of a Case field as the API answers it (written or generated); null when unset.</summary>
    public string? CaseFieldValue(string id, string field)
    {
        if (!TryParseCaseId(id, out var number))
        {
            throw new KeyNotFoundException($"No case with Id {id}.");
        }
        return CaseValue(_cases.Get(number), field, WrittenFields(number));
    }

    private bool TryParseCaseId(string id, out int number) =>
        int.TryParse(id.Length == 18 ? id.AsSpan(5, 10) : default, NumberStyles.None, CultureInfo.InvariantCulture, out number) &&
        CaseId(number) == id && _cases.Contains(number);

    private IReadOnlyDictionary<string, string?>? WrittenFields(int number) => _written.GetValueOrDefault(number);

    /// <summary>The canonical name of a Case field among <paramref name="standard"/> or the external id field (when present), or null.</summary>
    private string? ResolveCaseField(string name, string[] standard)
    {
        var known = standard.FirstOrDefault(f => f.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (known is not null)
        {
            return known;
        }
        lock (_writeGate)
        {
            return !_omitExternalIdField && _externalIdField.Equals(name, StringComparison.OrdinalIgnoreCase) ? _externalIdField : null;
        }
    }

    private static string Stamp(CaseKey key) => key.ModifiedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);

    /// <summary>A field's value: the written one, else the one derived from the case's number and revision.</summary>
    private static string? CaseValue(CaseKey key, string field, IReadOnlyDictionary<string, string?>? written)
    {
        switch (field)
        {
            case "Id":
                return CaseId(key.Number);
            case "CaseNumber":
                return key.Number.ToString("D8", CultureInfo.InvariantCulture);
            case "SystemModstamp" or "LastModifiedDate":
                return Stamp(key);
        }
        if (written is not null)
        {
            return written.GetValueOrDefault(field);
        }
        return field switch
        {
            "Subject" => CaseStore.Subject(key),
            "Status" => CaseStatuses[(key.Number + key.Revision) % CaseStatuses.Length],
            "Priority" => CasePriorities[key.Number % CasePriorities.Length],
            "Origin" => CaseOrigins[key.Number % CaseOrigins.Length],
            _ => null,
        };
    }

    private static void WriteCaseField(Utf8JsonWriter json, CaseKey key, string field, IReadOnlyDictionary<string, string?>? written)
    {
        if (CaseValue(key, field, written) is { } value)
        {
            json.WriteString(field, value);
        }
        else
        {
            json.WriteNull(field);
        }
    }

    private static Task SalesforceErrorsAsync(HttpContext context, int status, IEnumerable<WriteError> errors) =>
        WriteJsonAsync(context, status, errors.Select(e => new { message = e.Message, errorCode = e.Code, fields = e.Fields }).ToArray());

    private async Task RecordsApiAsync(HttpContext context, string path)
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
        if (!IsValidAccessToken(BearerToken(context.Request)))
        {
            context.Response.Headers.WWWAuthenticate = "Token";
            await SalesforceErrorAsync(context, 401, "INVALID_SESSION_ID", "Session expired or invalid");
            return;
        }
        if (write)
        {
            bool throttle, fail = false;
            lock (_writeGate)
            {
                throttle = _throttleNextWrites > 0;
                if (throttle)
                {
                    _throttleNextWrites--;
                }
                else if (_failNextWrites > 0)
                {
                    _failNextWrites--;
                    fail = true;
                }
                else
                {
                    (throttle, fail) = NextRandomWriteFault(); // SalesforceEmulator.Faults.cs
                }
            }
            if (throttle)
            {
                context.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                await SalesforceErrorAsync(context, 429, "REQUEST_LIMIT_EXCEEDED", "Too many requests: try again later.");
                return;
            }
            if (fail)
            {
                await SalesforceErrorAsync(context, 500, "UNKNOWN_EXCEPTION",
                    "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)");
                return;
            }
        }

        if (CollectionPath.Match(path) is { Success: true } collection)
        {
            if (!HttpMethods.IsPatch(method) || collection.Groups["object"].Value != "Case")
            {
                await SalesforceErrorAsync(context, 404, "NOT_FOUND", "The requested resource does not exist");
                return;
            }
            await CollectionUpsertAsync(context, collection.Groups["field"].Value);
            return;
        }
        var match = SObjectPath.Match(path);
        var version = match.Groups["version"].Value;
        var first = match.Groups["first"].Success ? match.Groups["first"].Value : null;
        var second = match.Groups["second"].Success ? match.Groups["second"].Value : null;
        if (match.Groups["object"].Value == "CaseComment")
        {
            if (HttpMethods.IsPost(method) && first is null)
            {
                await CreateCommentAsync(context);
                return;
            }
        }
        else if (first == "describe" && second is null && HttpMethods.IsGet(method))
        {
            await DescribeCaseAsync(context, version);
            return;
        }
        else if (first is not null && second is null && (HttpMethods.IsGet(method) || HttpMethods.IsPatch(method)))
        {
            if (!TryParseCaseId(first, out var number))
            {
                await SalesforceErrorAsync(context, 404, "NOT_FOUND", "The requested resource does not exist");
                return;
            }
            if (HttpMethods.IsGet(method))
            {
                await GetCaseAsync(context, version, number);
            }
            else
            {
                await UpdateCaseAsync(context, number);
            }
            return;
        }
        else if (first is not null && second is not null && HttpMethods.IsPatch(method))
        {
            await UpsertCaseAsync(context, first, second);
            return;
        }
        await SalesforceErrorAsync(context, 404, "NOT_FOUND", "The requested resource does not exist");
    }

    private static async Task<JsonElement?> ReadObjectAsync(HttpContext context)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document.RootElement.Clone();
            }
        }
        catch (JsonException)
        {
        }
        await SalesforceErrorAsync(context, 400, "JSON_PARSER_ERROR", "The request body is not a JSON object.");
        return null;
    }

    /// <summary>The external id field named in a URL, or null when the org has no such field.</summary>
    private string? ExternalIdFieldNamed(string name)
    {
        lock (_writeGate)
        {
            return !_omitExternalIdField && _externalIdField.Equals(name, StringComparison.OrdinalIgnoreCase) ? _externalIdField : null;
        }
    }

    private async Task UpsertCaseAsync(HttpContext context, string fieldName, string value)
    {
        if (ExternalIdFieldNamed(fieldName) is not { } field)
        {
            await SalesforceErrorAsync(context, 404, "NOT_FOUND", "The requested resource does not exist");
            return;
        }
        if (await ReadObjectAsync(context) is not { } body)
        {
            return;
        }
        WriteError[] errors;
        string? id;
        bool created;
        lock (_writeGate)
        {
            errors = UpsertUnlocked(body, field, value, out id, out created);
        }
        if (errors.Length > 0)
        {
            await SalesforceErrorsAsync(context, 400, errors);
            return;
        }
        if (created)
        {
            context.Response.Headers.Location = $"/services/data/{VersionOf(context)}/sobjects/Case/{id}";
        }
        await WriteJsonAsync(context, created ? 201 : 200, new { id, success = true, errors = Array.Empty<object>(), created });
    }

    private static string VersionOf(HttpContext context) => context.Request.Path.Value!.Split('/')[3];

    /// <summary>Validates and applies one upsert by external id; caller holds _writeGate.</summary>
    private WriteError[] UpsertUnlocked(JsonElement record, string field, string value, out string? id, out bool created)
    {
        id = null;
        created = false;
        var existing = _byExternalId.TryGetValue(value, out var n) ? n : (int?)null;
        var errors = ValidateUnlocked(record, creating: existing is null, out var values);
        if (values.TryGetValue(field, out var inBody) && !string.Equals(inBody, value, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(new WriteError("INVALID_FIELD", $"The {field} value in the body does not match the external id {value}.", [field]));
        }
        if (value.Length > 255)
        {
            errors.Add(new WriteError("STRING_TOO_LONG", $"{field}: data value too large: {value[..20]} (max length=255)", [field]));
        }
        if (errors.Count > 0)
        {
            return [.. errors];
        }
        // An update keeps the stored spelling: the match was case-insensitive.
        values.Remove(field);
        if (existing is null)
        {
            values[field] = value;
        }
        var number = ApplyUnlocked(existing, values);
        id = CaseId(number);
        created = existing is null;
        return [];
    }

    private async Task UpdateCaseAsync(HttpContext context, int number)
    {
        if (await ReadObjectAsync(context) is not { } body)
        {
            return;
        }
        List<WriteError> errors;
        lock (_writeGate)
        {
            errors = ValidateUnlocked(body, creating: false, out var values);
            if (values.TryGetValue(_externalIdField, out var external) && external is not null &&
                _byExternalId.TryGetValue(external, out var holder) && holder != number)
            {
                errors.Add(new WriteError("DUPLICATE_VALUE", $"duplicate value found: {_externalIdField} duplicates value on record with id: {CaseId(holder)}", [_externalIdField]));
            }
            if (errors.Count == 0)
            {
                ApplyUnlocked(number, values);
            }
        }
        if (errors.Count > 0)
        {
            await SalesforceErrorsAsync(context, 400, errors);
            return;
        }
        context.Response.StatusCode = 204;
    }

    private async Task CollectionUpsertAsync(HttpContext context, string fieldName)
    {
        if (ExternalIdFieldNamed(fieldName) is not { } field)
        {
            await SalesforceErrorAsync(context, 400, "INVALID_FIELD", $"Provided external ID field does not exist or is not accessible: {fieldName}");
            return;
        }
        if (await ReadObjectAsync(context) is not { } body)
        {
            return;
        }
        if (!body.TryGetProperty("records", out var records) || records.ValueKind != JsonValueKind.Array)
        {
            await SalesforceErrorAsync(context, 400, "JSON_PARSER_ERROR", "records: a list of sObjects is required.");
            return;
        }
        if (records.GetArrayLength() > MaxCollectionRecords)
        {
            await SalesforceErrorAsync(context, 400, "EXCEEDED_ID_LIMIT", $"record limit reached. cannot submit more than {MaxCollectionRecords} records into this call");
            return;
        }
        var allOrNone = body.TryGetProperty("allOrNone", out var flag) && flag.ValueKind == JsonValueKind.True;
        var results = new List<Dictionary<string, object?>>();
        lock (_writeGate)
        {
            // Duplicates within one request fail both records, as Salesforce does, before anything is applied.
            var keys = records.EnumerateArray().Select(r => r.ValueKind == JsonValueKind.Object && r.TryGetProperty(field, out var v) &&
                v.ValueKind == JsonValueKind.String ? v.GetString() : null).ToList();
            var duplicates = keys.Where(k => k is not null).GroupBy(k => k!, StringComparer.OrdinalIgnoreCase)
                .Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var planned = new List<(WriteError[] Errors, int? Existing, Dictionary<string, string?> Values)>();
            var index = 0;
            foreach (var record in records.EnumerateArray())
            {
                var key = keys[index++];
                var errors = new List<WriteError>();
                var values = new Dictionary<string, string?>();
                int? existing = null;
                if (record.ValueKind != JsonValueKind.Object || !record.TryGetProperty("attributes", out var attributes) ||
                    attributes.ValueKind != JsonValueKind.Object || !attributes.TryGetProperty("type", out var type) || type.GetString() != "Case")
                {
                    errors.Add(new WriteError("INVALID_TYPE", "Must send a concrete entity type Case in attributes.type.", []));
                }
                else if (key is null)
                {
                    errors.Add(new WriteError("MISSING_ARGUMENT", $"{field} not specified", [field]));
                }
                else if (duplicates.Contains(key))
                {
                    errors.Add(new WriteError("DUPLICATE_EXTERNAL_ID", $"Duplicate external id specified: {key}", [field]));
                }
                else
                {
                    existing = _byExternalId.TryGetValue(key, out var n) ? n : null;
                    errors = ValidateUnlocked(record, creating: existing is null, out values);
                    if (key.Length > 255)
                    {
                        errors.Add(new WriteError("STRING_TOO_LONG", $"{field}: data value too large: {key[..20]} (max length=255)", [field]));
                    }
                }
                planned.Add(([.. errors], existing, values));
            }
            var rollBack = allOrNone && planned.Any(p => p.Errors.Length > 0);
            foreach (var (errors, existing, values) in planned)
            {
                if (errors.Length > 0 || rollBack)
                {
                    var shown = errors.Length > 0 ? errors :
                        [new WriteError("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records were valid and the request was using AllOrNone header", [])];
                    results.Add(new()
                    {
                        ["success"] = false,
                        ["errors"] = shown.Select(e => new { statusCode = e.Code, message = e.Message, fields = e.Fields }).ToArray(),
                    });
                    continue;
                }
                var number = ApplyUnlocked(existing, values);
                results.Add(new()
                {
                    ["id"] = CaseId(number),
                    ["success"] = true,
                    ["errors"] = Array.Empty<object>(),
                    ["created"] = existing is null,
                });
            }
        }
        await WriteJsonAsync(context, 200, results);
    }

    /// <summary>Checks a record's fields against Case; caller holds _writeGate. <paramref name="values"/> holds the valid ones.</summary>
    private List<WriteError> ValidateUnlocked(JsonElement record, bool creating, out Dictionary<string, string?> values)
    {
        var valid = new Dictionary<string, string?>(StringComparer.Ordinal);
        values = valid;
        var errors = new List<WriteError>();
        foreach (var property in record.EnumerateObject())
        {
            if (property.Name == "attributes")
            {
                continue;
            }
            if (_rejectedField is not null && property.Name.Equals(_rejectedField, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(new WriteError("INVALID_FIELD_FOR_INSERT_UPDATE",
                    $"Unable to create/update fields: {_rejectedField}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    [_rejectedField]));
                continue;
            }
            var readOnly = ReadOnlyCaseFields.FirstOrDefault(f => f.Equals(property.Name, StringComparison.OrdinalIgnoreCase));
            if (readOnly is not null)
            {
                errors.Add(new WriteError("INVALID_FIELD_FOR_INSERT_UPDATE", $"Unable to create/update fields: {readOnly}.", [readOnly]));
                continue;
            }
            var definition = CaseFieldDefinitions().FirstOrDefault(f => f.Name.Equals(property.Name, StringComparison.OrdinalIgnoreCase));
            if (definition is null)
            {
                errors.Add(new WriteError("INVALID_FIELD", $"No such column '{property.Name}' on sobject of type Case", [property.Name]));
                continue;
            }
            var name = definition.Name;
            if (property.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                errors.Add(new WriteError("INVALID_TYPE_ON_FIELD_IN_RECORD", $"{name}: value not of required type: {property.Value.GetRawText()}", [name]));
                continue;
            }
            var value = property.Value.GetString();
            if (value is not null && value.Length > definition.Length)
            {
                errors.Add(new WriteError("STRING_TOO_LONG", $"{name}: data value too large: {value[..20]}... (max length={definition.Length})", [name]));
                continue;
            }
            if (definition.Restricted && !definition.Picklist!.Contains(value, StringComparer.Ordinal))
            {
                errors.Add(new WriteError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", $"{name}: bad value for restricted picklist field: {value}", [name]));
                continue;
            }
            valid[name] = value;
        }
        var missing = _requiredCaseFields.Where(f => valid.TryGetValue(f, out var v) ? string.IsNullOrEmpty(v) : creating)
            .Where(f => errors.All(e => !e.Fields.Contains(f))).ToArray();
        if (missing.Length > 0)
        {
            errors.Add(new WriteError("REQUIRED_FIELD_MISSING", $"Required fields are missing: [{string.Join(", ", missing)}]", missing));
        }
        return errors;
    }

    /// <summary>Creates (number null) or updates a case with valid values, moving its SystemModstamp; caller holds _writeGate.</summary>
    private int ApplyUnlocked(int? number, Dictionary<string, string?> values)
    {
        Dictionary<string, string?> fields;
        CaseKey key;
        if (number is { } existing)
        {
            // A generated case keeps the values it had before its first write; from then on only writes change them.
            var before = _cases.Get(existing);
            var written = WrittenFields(existing);
            fields = written is not null ? new Dictionary<string, string?>(written) : new Dictionary<string, string?>
            {
                ["Subject"] = CaseValue(before, "Subject", null),
                ["Status"] = CaseValue(before, "Status", null),
                ["Priority"] = CaseValue(before, "Priority", null),
                ["Origin"] = CaseValue(before, "Origin", null),
            };
            key = _cases.TouchWritten(existing);
        }
        else
        {
            fields = new Dictionary<string, string?> { ["Status"] = "New", ["Priority"] = "Medium" };
            key = _cases.AppendWritten();
        }
        if (values.TryGetValue(_externalIdField, out var newExternal))
        {
            if (fields.GetValueOrDefault(_externalIdField) is { } oldExternal)
            {
                _byExternalId.Remove(oldExternal);
            }
            if (newExternal is not null)
            {
                _byExternalId[newExternal] = key.Number;
            }
        }
        foreach (var (name, value) in values)
        {
            fields[name] = value;
        }
        _written[key.Number] = fields;
        Interlocked.Increment(ref _writesApplied);
        return key.Number;
    }

    private sealed record FieldDefinition(string Name, string Type, int Length, string[]? Picklist = null, bool Restricted = false, bool ExternalId = false);

    private FieldDefinition[] CaseFieldDefinitions()
    {
        var fields = new List<FieldDefinition>
        {
            new("Subject", "string", 255),
            new("Description", "textarea", 32000),
            new("Status", "picklist", 40, CaseStatuses, Restricted: true),
            new("Priority", "picklist", 40, CasePriorities, Restricted: true),
            new("Origin", "picklist", 40, CaseOrigins),
        };
        lock (_writeGate)
        {
            if (!_omitExternalIdField)
            {
                fields.Add(new FieldDefinition(_externalIdField, "string", 255, ExternalId: true));
            }
        }
        return [.. fields];
    }

    private Task DescribeCaseAsync(HttpContext context, string version)
    {
        var fields = new List<object>
        {
            DescribeField(new FieldDefinition("Id", "id", 18), createable: false),
            DescribeField(new FieldDefinition("CaseNumber", "string", 30), createable: false),
        };
        var rejected = RejectedField;
        fields.AddRange(CaseFieldDefinitions().Select(f => DescribeField(f, createable: !string.Equals(f.Name, rejected, StringComparison.OrdinalIgnoreCase))));
        fields.Add(DescribeField(new FieldDefinition("LastModifiedDate", "datetime", 0), createable: false));
        fields.Add(DescribeField(new FieldDefinition("SystemModstamp", "datetime", 0), createable: false));
        return WriteJsonAsync(context, 200, new
        {
            name = "Case",
            label = "Case",
            custom = false,
            createable = true,
            updateable = true,
            fields,
            urls = new { sobject = $"/services/data/{version}/sobjects/Case", describe = $"/services/data/{version}/sobjects/Case/describe" },
        });

        object DescribeField(FieldDefinition f, bool createable) => new Dictionary<string, object?>
        {
            ["name"] = f.Name,
            ["label"] = f.Name.Replace("__c", "", StringComparison.Ordinal).Replace('_', ' '),
            ["type"] = f.Type,
            ["length"] = f.Length,
            ["custom"] = f.Name.EndsWith("__c", StringComparison.Ordinal),
            ["externalId"] = f.ExternalId,
            ["unique"] = f.ExternalId,
            ["caseSensitive"] = false,
            ["idLookup"] = f.ExternalId || f.Name == "Id",
            ["nillable"] = !ReadOnlyCaseFields.Contains(f.Name) && !RequiredCaseFields.Contains(f.Name),
            ["createable"] = createable,
            ["updateable"] = createable,
            ["restrictedPicklist"] = f.Restricted,
            ["picklistValues"] = (f.Picklist ?? []).Select(v => new { active = true, defaultValue = (f.Name, v) is ("Status", "New") or ("Priority", "Medium"), label = v, value = v }).ToArray(),
        };
    }

    private async Task GetCaseAsync(HttpContext context, string version, int number)
    {
        var key = _cases.Get(number);
        var written = WrittenFields(number);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json;charset=UTF-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteStartObject("attributes");
        json.WriteString("type", "Case");
        json.WriteString("url", $"/services/data/{version}/sobjects/Case/{CaseId(number)}");
        json.WriteEndObject();
        foreach (var field in new[] { "Id", "CaseNumber" }.Concat(CaseFieldDefinitions().Select(f => f.Name)).Concat(["LastModifiedDate", "SystemModstamp"]))
        {
            WriteCaseField(json, key, field, written);
        }
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }

    private async Task CreateCommentAsync(HttpContext context)
    {
        if (await ReadObjectAsync(context) is not { } body)
        {
            return;
        }
        var errors = new List<WriteError>();
        string? parentId = null, text = null;
        var published = false;
        var parentNumber = 0;
        foreach (var property in body.EnumerateObject())
        {
            switch (property.Name)
            {
                case "attributes":
                    break;
                case "ParentId" when property.Value.ValueKind == JsonValueKind.String:
                    parentId = property.Value.GetString();
                    break;
                case "CommentBody" when property.Value.ValueKind is JsonValueKind.String or JsonValueKind.Null:
                    text = property.Value.GetString();
                    break;
                case "IsPublished" when property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    published = property.Value.GetBoolean();
                    break;
                case "ParentId" or "CommentBody" or "IsPublished":
                    errors.Add(new WriteError("INVALID_TYPE_ON_FIELD_IN_RECORD", $"{property.Name}: value not of required type: {property.Value.GetRawText()}", [property.Name]));
                    break;
                default:
                    errors.Add(new WriteError("INVALID_FIELD", $"No such column '{property.Name}' on sobject of type CaseComment", [property.Name]));
                    break;
            }
        }
        var missing = new[] { ("ParentId", parentId), ("CommentBody", text) }.Where(p => string.IsNullOrEmpty(p.Item2)).Select(p => p.Item1).ToArray();
        if (missing.Length > 0)
        {
            errors.Add(new WriteError("REQUIRED_FIELD_MISSING", $"Required fields are missing: [{string.Join(", ", missing)}]", missing));
        }
        else if (!TryParseCaseId(parentId!, out parentNumber))
        {
            errors.Add(new WriteError("FIELD_INTEGRITY_EXCEPTION", $"Parent ID: id value of incorrect type: {parentId}", ["ParentId"]));
        }
        else if (text!.Length > MaxCommentLength)
        {
            errors.Add(new WriteError("STRING_TOO_LONG", $"Body: data value too large: {text[..20]}... (max length={MaxCommentLength})", ["CommentBody"]));
        }
        if (errors.Count > 0)
        {
            await SalesforceErrorsAsync(context, 400, errors);
            return;
        }
        string id;
        lock (_writeGate)
        {
            id = AddCommentLocked(parentNumber, parentId!, text!, published, ApiUserName);
        }
        context.Response.Headers.Location = $"/services/data/{VersionOf(context)}/sobjects/CaseComment/{id}";
        await WriteJsonAsync(context, 201, new { id, success = true, errors = Array.Empty<object>() });
    }

    private async Task CaseCommentQueryAsync(HttpContext context, string version, Match query)
    {
        var names = query.Groups["fields"].Value.Split(',', StringSplitOptions.TrimEntries);
        var fields = new string[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            fields[i] = CommentFields.FirstOrDefault(f => f.Equals(names[i], StringComparison.OrdinalIgnoreCase)) ?? "";
            if (fields[i].Length == 0)
            {
                await SalesforceErrorAsync(context, 400, "INVALID_FIELD", $"No such column '{names[i]}' on entity 'CaseComment'.");
                return;
            }
        }
        var parent = query.Groups["parent"].Value;
        List<CaseComment> comments;
        lock (_writeGate)
        {
            comments = _comments.Where(c => c.ParentId == parent).ToList();
        }
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json;charset=UTF-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteNumber("totalSize", comments.Count);
        json.WriteBoolean("done", true);
        json.WriteStartArray("records");
        foreach (var comment in comments)
        {
            WriteComment(json, version, comment, fields);
        }
        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }

    /// <summary>One CaseComment record as the query resource answers it, with the fields asked for (CreatedBy.Name as a User object).</summary>
    private static void WriteComment(Utf8JsonWriter json, string version, CaseComment comment, string[] fields)
    {
        json.WriteStartObject();
        json.WriteStartObject("attributes");
        json.WriteString("type", "CaseComment");
        json.WriteString("url", $"/services/data/{version}/sobjects/CaseComment/{comment.Id}");
        json.WriteEndObject();
        foreach (var field in fields)
        {
            switch (field)
            {
                case "Id":
                    json.WriteString(field, comment.Id);
                    break;
                case "ParentId":
                    json.WriteString(field, comment.ParentId);
                    break;
                case "CommentBody":
                    json.WriteString(field, comment.Body);
                    break;
                case "IsPublished":
                    json.WriteBoolean(field, comment.IsPublished);
                    break;
                case "CreatedDate":
                    json.WriteString(field, comment.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture));
                    break;
                case "CreatedBy.Name":
                    json.WriteStartObject("CreatedBy");
                    json.WriteStartObject("attributes");
                    json.WriteString("type", "User");
                    json.WriteString("url", $"/services/data/{version}/sobjects/User/005000000000000AAA");
                    json.WriteEndObject();
                    json.WriteString("Name", comment.CreatedByName);
                    json.WriteEndObject();
                    break;
            }
        }
        json.WriteEndObject();
    }
}
