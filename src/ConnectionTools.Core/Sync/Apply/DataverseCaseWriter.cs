using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>
    /// Writes partner cases into Dataverse <c>incidents</c> through the Web API, one case at a time, keyed by the alternate key:
    /// <c>PATCH incidents(ct_partnerid='…')</c> with <c>If-Match: *</c> (update only); when there is no such incident, the same PATCH
    /// with <c>If-None-Match: *</c> (create only) and the default customer bound. Then the case's new comments as notes
    /// (<c>POST annotations</c>), oldest first. Neutral fields map summary→title, description→description,
    /// priority→prioritycode (High 1, Normal/Medium 2, Low 3); status is not written yet (an incident's state moves through
    /// statecode/statuscode pairs and resolving a case takes a CloseIncident request).
    /// </summary>
    public sealed class DataverseCaseWriter : ICaseWriter
    {
        /// <summary>The incident alternate key's default column.</summary>
        public const string DefaultAlternateKey = "ct_partnerid";

        /// <summary>Cases per call: each takes one or two requests, so a call stays well inside the service protection limits.</summary>
        public const int BatchLimit = 100;

        private const string ApiPath = "/api/data/v9.2/";

        private static readonly string[][] FieldMap =
        {
            new[] { "summary", "title" },
            new[] { "description", "description" },
            new[] { "priority", "prioritycode" },
            new[] { "status", "" },
        };

        private static readonly Regex CustomerText = new Regex(
            @"^/?(?<set>accounts|contacts)\((?<id>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\)$",
            RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

        private static readonly Regex QuotedName = new Regex(@"'(?<name>[A-Za-z_][A-Za-z0-9_]*)'", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

        private static readonly Regex EntityGuid = new Regex(@"\((?<id>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\)\s*$",
            RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

        private readonly WriterChannel _channel;
        private readonly string? _customerBindName;
        private readonly string? _customerBindValue;

        /// <param name="http">Shared HttpClient (tests route the environment's host to an emulator).</param>
        /// <param name="instanceUrl">The environment's URL, e.g. https://contoso.crm.dynamics.com.</param>
        /// <param name="accessToken">Gives the current access token; with forceRefresh true, a new one (after a 401).</param>
        /// <param name="timeout">Timeout of each request.</param>
        /// <param name="alternateKey">The incident column of the alternate key holding the partner's case id.</param>
        /// <param name="defaultCustomer">The customer new cases are created under: "accounts(guid)" or "contacts(guid)"; null: creating fails per case.</param>
        public DataverseCaseWriter(HttpClient http, Uri instanceUrl, Func<bool, CancellationToken, Task<string>> accessToken, TimeSpan timeout,
            string alternateKey = DefaultAlternateKey, string? defaultCustomer = null)
        {
            _channel = new WriterChannel("Dataverse", http, instanceUrl, accessToken, timeout);
            if (string.IsNullOrWhiteSpace(alternateKey) || !Regex.IsMatch(alternateKey, "^[A-Za-z_][A-Za-z0-9_]{0,99}$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)))
            {
                throw new ArgumentException("The alternate key must be a column's logical name, such as " + DefaultAlternateKey + ".", nameof(alternateKey));
            }

            AlternateKey = alternateKey;
            if (defaultCustomer is not null)
            {
                var match = CustomerText.Match(defaultCustomer.Trim());
                if (!match.Success)
                {
                    throw new ArgumentException("The default customer must be \"accounts(<guid>)\" or \"contacts(<guid>)\".", nameof(defaultCustomer));
                }

                var set = match.Groups["set"].Value;
                _customerBindName = set == "accounts" ? "customerid_account@odata.bind" : "customerid_contact@odata.bind";
                _customerBindValue = "/" + set + "(" + match.Groups["id"].Value.ToLowerInvariant() + ")";
                DefaultCustomer = set + "(" + match.Groups["id"].Value.ToLowerInvariant() + ")";
            }
        }

        public string AlternateKey { get; }

        /// <summary>"accounts(guid)" or "contacts(guid)", or null.</summary>
        public string? DefaultCustomer { get; }

        public Uri Root => _channel.Root;

        /// <inheritdoc/>
        public int MaxBatch => BatchLimit;

        /// <summary>
        /// Reads incident's alternate keys and checks that one is on <see cref="AlternateKey"/> alone and active. Null when so;
        /// otherwise the <see cref="ErrorIds.SyncApplyMissingExternalId"/> error (returned, not thrown). Throws when Dataverse cannot be asked.
        /// </summary>
        public async Task<ConnectionToolsException?> CheckAsync(CancellationToken cancellationToken)
        {
            const string What = "the incident alternate keys";
            var answer = await _channel.SendAsync(
                _ => WithOData(new HttpRequestMessage(HttpMethod.Get, new Uri(Root, ApiPath + "EntityDefinitions(LogicalName='incident')/Keys"))),
                What,
                idempotent: true,
                cancellationToken).ConfigureAwait(false);
            if (!answer.IsSuccess)
            {
                var (code, message) = ReadError(answer.Body);
                throw _channel.Failed(What, answer.Status, code, message is null ? null : WriterChannel.Clip(message));
            }

            try
            {
                using (var document = JsonDocument.Parse(answer.Body))
                {
                    if (!document.RootElement.TryGetProperty("value", out var keys) || keys.ValueKind != JsonValueKind.Array)
                    {
                        throw _channel.Malformed(What, "it has no 'value' array");
                    }

                    foreach (var key in keys.EnumerateArray())
                    {
                        if (key.ValueKind != JsonValueKind.Object || !key.TryGetProperty("KeyAttributes", out var attributes) ||
                            attributes.ValueKind != JsonValueKind.Array || attributes.GetArrayLength() != 1 ||
                            !string.Equals(attributes[0].ValueKind == JsonValueKind.String ? attributes[0].GetString() : null, AlternateKey, StringComparison.OrdinalIgnoreCase))
                        {
                            continue;
                        }

                        var status = key.TryGetProperty("EntityKeyIndexStatus", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
                        return status is null || status == "Active" ? null : MissingExternalId($"its index is {WriterChannel.PlainCode(status) ?? "not active"}");
                    }

                    return MissingExternalId("incident has no alternate key on that column alone");
                }
            }
            catch (JsonException)
            {
                throw _channel.Malformed(What, "it is not valid JSON");
            }
            catch (InvalidOperationException)
            {
                throw _channel.Malformed(What, "a key has an unexpected type");
            }
        }

        /// <inheritdoc/>
        public async Task<IReadOnlyList<CaseWriteResult>> WriteAsync(IReadOnlyList<CaseWrite> writes, CancellationToken cancellationToken)
        {
            CaseWriteChecks.Check(writes, MaxBatch);

            // All upserts first, then the comments: an upsert that throws (no answer after retries) leaves no comment sent, so the
            // engine can write the whole call again without doubling a comment.
            var results = new CaseWriteResult[writes.Count];
            for (var i = 0; i < writes.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                results[i] = await UpsertAsync(writes[i], cancellationToken).ConfigureAwait(false);
            }

            for (var i = 0; i < writes.Count; i++)
            {
                if (results[i].Error is null && results[i].LocalCaseId is not null && writes[i].NewComments.Count > 0)
                {
                    results[i] = await CommentsAsync(writes[i], results[i], cancellationToken).ConfigureAwait(false);
                }
            }

            return results;
        }

        private async Task<CaseWriteResult> UpsertAsync(CaseWrite write, CancellationToken cancellationToken)
        {
            var unknown = CaseWriteChecks.UnknownField(write, FieldMap);
            if (unknown is not null)
            {
                return new CaseWriteResult(write.PartnerCaseId, null, false, CaseWriteChecks.UnknownFieldError("Dataverse", write.PartnerCaseId, unknown));
            }

            var values = new List<KeyValuePair<string, object?>>();
            foreach (var pair in FieldMap)
            {
                if (pair[1].Length == 0 || !write.Fields.TryGetValue(pair[0], out var value))
                {
                    continue;
                }

                if (pair[1] == "prioritycode")
                {
                    if (value is null)
                    {
                        values.Add(new KeyValuePair<string, object?>("prioritycode", null));
                    }
                    else if (PriorityCode(value) is int code)
                    {
                        values.Add(new KeyValuePair<string, object?>("prioritycode", code));
                    }
                    else
                    {
                        return new CaseWriteResult(write.PartnerCaseId, null, false, new ConnectionToolsException(
                            ErrorIds.SyncApplyRefused,
                            ErrorKind.InvalidData,
                            $"Partner case '{write.PartnerCaseId}' has entity.priority '{Clip(value, 40)}', which has no Dataverse prioritycode (High, Normal or Medium, Low). Nothing of the case was sent.",
                            write.PartnerCaseId + ":prioritycode",
                            "Map the partner's priority to High, Normal or Low in the incoming rule."));
                    }
                }
                else
                {
                    values.Add(new KeyValuePair<string, object?>(pair[1], value));
                }
            }

            var what = $"the write of case {write.PartnerCaseId}";
            if (write.LocalCaseId is not null)
            {
                // One of this environment's own incidents: updated by its id, and given the partner's case id as its key, so later
                // writes find it by the key. If-Match: * only updates; sent twice it sets the same values.
                if (!Guid.TryParse(write.LocalCaseId, out var own))
                {
                    throw new ArgumentException($"'{write.LocalCaseId}' is not an incident id.", nameof(write));
                }

                values.Add(new KeyValuePair<string, object?>(AlternateKey, write.PartnerCaseId));
                var ownBody = Json(values, withCustomer: false);
                var byId = new Uri(Root, ApiPath + "incidents(" + own.ToString("D") + ")");
                var answer = await _channel.SendAsync(_ => Patch(byId, ownBody, "If-Match"), what, idempotent: true, cancellationToken).ConfigureAwait(false);
                return answer.IsSuccess ? Written(write, answer, created: false, what) : Refusal(write, answer, what);
            }

            var url = new Uri(Root, ApiPath + "incidents(" + AlternateKey + "='" + Uri.EscapeDataString(write.PartnerCaseId.Replace("'", "''")) + "')");
            var updateBody = Json(values, withCustomer: false);

            // Both PATCHes are idempotent: If-Match: * only updates, and an update sent twice sets the same values; If-None-Match: *
            // only creates, and a create that arrives twice answers 412 the second time, which is read as "exists, update it". So
            // timeouts, network failures and 5xx answers are sent again.
            for (var round = 0; round < 2; round++)
            {
                var update = await _channel.SendAsync(
                    _ => Patch(url, updateBody, "If-Match"),
                    what,
                    idempotent: true,
                    cancellationToken).ConfigureAwait(false);
                if (update.IsSuccess)
                {
                    return Written(write, update, created: false, what);
                }

                if (update.Status != HttpStatusCode.NotFound)
                {
                    return Refusal(write, update, what);
                }

                if (_customerBindName is null)
                {
                    return new CaseWriteResult(write.PartnerCaseId, null, false, new ConnectionToolsException(
                        ErrorIds.SyncApplyNoDefaultCustomer,
                        ErrorKind.InvalidOperation,
                        $"Partner case '{write.PartnerCaseId}' is new to Dataverse, and the connection has no default customer to create it under (a case needs an account or a contact).",
                        write.PartnerCaseId,
                        "Name the customer new incidents are created under on the Dynamics 365 connection: Set-Connection -Name <connection> -DefaultCustomer 'accounts(<guid>)' (or contacts(<guid>)); the next sync creates the case."));
                }

                var createBody = Json(values, withCustomer: true);
                var create = await _channel.SendAsync(
                    _ => Patch(url, createBody, "If-None-Match"),
                    what,
                    idempotent: true,
                    cancellationToken).ConfigureAwait(false);
                if (create.IsSuccess)
                {
                    return Written(write, create, created: true, what);
                }

                if (create.Status != HttpStatusCode.PreconditionFailed)
                {
                    return Refusal(write, create, what);
                }

                // 412: the incident exists after all (made meanwhile, or by an earlier attempt of this create): update it.
            }

            throw _channel.Failed(what, HttpStatusCode.PreconditionFailed, null, "the incident kept appearing and disappearing between update and create");
        }

        private CaseWriteResult Written(CaseWrite write, WriterChannel.Answer answer, bool created, string what)
        {
            string? id = null;
            if (!string.IsNullOrEmpty(answer.Body))
            {
                try
                {
                    using (var document = JsonDocument.Parse(answer.Body))
                    {
                        if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("incidentid", out var value) &&
                            value.ValueKind == JsonValueKind.String)
                        {
                            id = value.GetString();
                        }
                    }
                }
                catch (JsonException)
                {
                    throw _channel.Malformed(what, "it is not valid JSON");
                }
            }

            if (id is null && answer.EntityId is not null && EntityGuid.Match(answer.EntityId) is { Success: true } match)
            {
                id = match.Groups["id"].Value;
            }

            if (id is null || !Guid.TryParse(id, out var guid))
            {
                throw _channel.Malformed(what, "it names no incidentid");
            }

            return new CaseWriteResult(write.PartnerCaseId, guid.ToString("D"), created, null);
        }

        private CaseWriteResult Refusal(CaseWrite write, WriterChannel.Answer answer, string what)
        {
            var (code, message) = ReadError(answer.Body);
            if (answer.Status == HttpStatusCode.BadRequest && message is not null &&
                message.IndexOf("alternate key", StringComparison.OrdinalIgnoreCase) >= 0 && message.IndexOf(AlternateKey, StringComparison.OrdinalIgnoreCase) >= 0)
            {
                throw MissingExternalId("Dataverse answered " + (code ?? "HTTP 400") + ": " + WriterChannel.Clip(message));
            }

            var status = (int)answer.Status;
            if (status >= 500 || answer.Status == HttpStatusCode.Forbidden && code != "0x80040220" || HttpPolicyThrottle(answer.Status))
            {
                throw _channel.Failed(what, answer.Status, code, message is null ? null : WriterChannel.Clip(message));
            }

            string? field = null;
            if (message is not null)
            {
                foreach (Match m in QuotedName.Matches(message))
                {
                    var name = m.Groups["name"].Value;
                    if (name == "title" || name == "description" || name == "prioritycode" || name == "incident" || name.StartsWith("customerid", StringComparison.Ordinal) ||
                        string.Equals(name, AlternateKey, StringComparison.OrdinalIgnoreCase))
                    {
                        if (name != "incident")
                        {
                            field = name;
                            break;
                        }
                    }
                }
            }

            return new CaseWriteResult(write.PartnerCaseId, null, false, new ConnectionToolsException(
                ErrorIds.SyncApplyRefused,
                ErrorKind.InvalidData,
                string.Format(
                    CultureInfo.InvariantCulture,
                    "Dataverse refused partner case '{0}' with HTTP {1}{2}{3}: {4}. The other cases of the batch are not affected.",
                    write.PartnerCaseId,
                    status,
                    code is null ? string.Empty : " (" + code + ")",
                    field is null ? string.Empty : " on " + field,
                    WriterChannel.Clip(message)),
                field is null ? write.PartnerCaseId : write.PartnerCaseId + ":" + field,
                ActionFor(code, field ?? "the field")));
        }

        private static bool HttpPolicyThrottle(HttpStatusCode status) => (int)status == 429 || status == HttpStatusCode.ServiceUnavailable;

        private static string ActionFor(string? code, string field)
        {
            switch (code)
            {
                case "0x80044331":
                    return $"Shorten {field} in the incoming rule to the column's length in Dataverse.";
                case "0x8004431A":
                    return $"Map the partner's value of {field} to one of the choice's values in the incoming rule.";
                case "0x80040220":
                    return $"Add the connection's application user to a field security profile that may update {field}, or stop the incoming rule from setting it.";
                case "0x80040200":
                    return "Name a default customer on the Dynamics 365 connection: Set-Connection -DefaultCustomer 'accounts(<guid>)' (or contacts(<guid>)).";
                default:
                    return $"Fix {field} in the incoming rule, or the incident's setup in Dataverse (business rules, plug-ins, required columns), as the message says.";
            }
        }

        private async Task<CaseWriteResult> CommentsAsync(CaseWrite write, CaseWriteResult written, CancellationToken cancellationToken)
        {
            var url = new Uri(Root, ApiPath + "annotations");
            for (var n = 0; n < write.NewComments.Count; n++)
            {
                string body;
                using (var stream = new MemoryStream())
                {
                    using (var json = new Utf8JsonWriter(stream))
                    {
                        json.WriteStartObject();
                        json.WriteString("notetext", write.NewComments[n]);
                        json.WriteString("objectid_incident@odata.bind", "/incidents(" + written.LocalCaseId + ")");
                        json.WriteEndObject();
                    }

                    body = Encoding.UTF8.GetString(stream.ToArray());
                }

                WriterChannel.Answer answer;
                try
                {
                    // A note POST is not idempotent: sent again only when it certainly did not arrive (ProviderRetry's TokenRefresh policy).
                    answer = await _channel.SendAsync(
                        _ => WithOData(new HttpRequestMessage(HttpMethod.Post, url) { Content = WriterChannel.Json(body) }),
                        $"comment {n + 1} of case {write.PartnerCaseId}",
                        idempotent: false,
                        cancellationToken).ConfigureAwait(false);
                }
                catch (ConnectionToolsException e)
                {
                    // No answer (ProviderUnavailable: it may have arrived) or a token refused after a refresh (it did not): the case
                    // was written either way, so the failure is this case's, not the call's; throwing would make the engine write the
                    // whole call again and double the comments already added.
                    return Failed(n, e.ErrorId == ErrorIds.AuthorizationProviderUnavailable && ProviderRetry.MayHaveArrived(e), CaseWriteChecks.Detail(e), null);
                }

                if (!answer.IsSuccess)
                {
                    var (code, message) = ReadError(answer.Body);
                    return Failed(n, (int)answer.Status >= 500, "Dataverse answered HTTP " + ((int)answer.Status).ToString(CultureInfo.InvariantCulture) +
                        (message is null ? string.Empty : ": " + WriterChannel.Clip(message)), code);
                }
            }

            return written;

            CaseWriteResult Failed(int appended, bool uncertain, string detail, string? code) => new CaseWriteResult(
                write.PartnerCaseId,
                written.LocalCaseId,
                written.Created,
                CaseWriteChecks.CommentFailed("Dataverse", write.PartnerCaseId, written.LocalCaseId!, appended, uncertain, detail, code));
        }

        private HttpRequestMessage Patch(Uri url, string body, string condition)
        {
            var request = WithOData(new HttpRequestMessage(new HttpMethod("PATCH"), url) { Content = WriterChannel.Json(body) });
            request.Headers.TryAddWithoutValidation(condition, "*");
            request.Headers.TryAddWithoutValidation("Prefer", "return=representation");
            return request;
        }

        private static HttpRequestMessage WithOData(HttpRequestMessage request)
        {
            request.Headers.TryAddWithoutValidation("OData-MaxVersion", "4.0");
            request.Headers.TryAddWithoutValidation("OData-Version", "4.0");
            return request;
        }

        private string Json(List<KeyValuePair<string, object?>> values, bool withCustomer)
        {
            using (var stream = new MemoryStream())
            {
                using (var json = new Utf8JsonWriter(stream))
                {
                    json.WriteStartObject();
                    foreach (var pair in values)
                    {
                        switch (pair.Value)
                        {
                            case null:
                                json.WriteNull(pair.Key);
                                break;
                            case int number:
                                json.WriteNumber(pair.Key, number);
                                break;
                            default:
                                json.WriteString(pair.Key, (string)pair.Value);
                                break;
                        }
                    }

                    if (withCustomer)
                    {
                        json.WriteString(_customerBindName!, _customerBindValue);
                    }

                    json.WriteEndObject();
                }

                return Encoding.UTF8.GetString(stream.ToArray());
            }
        }

        /// <summary>incident.prioritycode of a neutral priority: High 1, Normal or Medium 2, Low 3 (any case); null when unknown.</summary>
        public static int? PriorityCode(string value)
        {
            switch ((value ?? string.Empty).Trim().ToUpperInvariant())
            {
                case "HIGH":
                    return 1;
                case "NORMAL":
                case "MEDIUM":
                    return 2;
                case "LOW":
                    return 3;
                default:
                    return null;
            }
        }

        // Dataverse errors are {"error": {"code": "0x80040216", "message": "..."}}.
        private static (string? Code, string? Message) ReadError(string body)
        {
            try
            {
                using (var document = JsonDocument.Parse(string.IsNullOrEmpty(body) ? "null" : body))
                {
                    var root = document.RootElement;
                    if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
                    {
                        var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                        var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                        return (WriterChannel.PlainCode(code), message);
                    }
                }
            }
            catch (JsonException)
            {
            }

            return (null, null);
        }

        private static string Clip(string text, int max) => text.Length <= max ? text : text.Substring(0, max) + "…";

        private ConnectionToolsException MissingExternalId(string why) => new ConnectionToolsException(
            ErrorIds.SyncApplyMissingExternalId,
            ErrorKind.InvalidOperation,
            $"Dataverse has no usable alternate key '{AlternateKey}' on incident ({why}). Partner cases are matched by it, so none can be written.",
            Root.Host,
            $"In Power Apps (make.powerapps.com) > Tables > Case (incident): add a Text column {AlternateKey} (max length 100), then under Keys add a key " +
            $"on that column alone; wait until the key's index is Active, then run the sync again.");
    }
}
