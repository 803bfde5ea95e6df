using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>
    /// Writes partner cases into Salesforce: one sObject Collections upsert by the external id field per call
    /// (<c>PATCH composite/sobjects/Case/{field}</c>, allOrNone false, so a refused record fails alone), then the new comments of
    /// the written cases, one <c>POST sobjects/CaseComment</c> each, oldest first. Neutral fields map summary→Subject,
    /// description→Description, status→Status, priority→Priority; only the fields present in <see cref="CaseWrite.Fields"/> are sent.
    /// </summary>
    public sealed class SalesforceCaseWriter : ICaseWriter
    {
        /// <summary>The external id field's default API name (Text(255), External ID, Unique).</summary>
        public const string DefaultExternalIdField = "ConnectionTools_Partner_Id__c";

        /// <summary>Records one sObject Collections request takes.</summary>
        public const int CollectionLimit = 200;

        private const string ApiVersion = "v60.0";

        private static readonly string[][] FieldMap =
        {
            new[] { "summary", "Subject" },
            new[] { "description", "Description" },
            new[] { "status", "Status" },
            new[] { "priority", "Priority" },
        };

        private readonly WriterChannel _channel;

        /// <param name="http">Shared HttpClient (tests route the org's host to an emulator).</param>
        /// <param name="apiUrl">The org's instance URL, e.g. https://contoso.my.salesforce.com.</param>
        /// <param name="accessToken">Gives the current access token; with forceRefresh true, a new one (after a 401).</param>
        /// <param name="timeout">Timeout of each request.</param>
        /// <param name="externalIdField">API name of the Case field holding the partner's case id.</param>
        public SalesforceCaseWriter(HttpClient http, Uri apiUrl, Func<bool, CancellationToken, Task<string>> accessToken, TimeSpan timeout, string externalIdField = DefaultExternalIdField)
        {
            _channel = new WriterChannel("Salesforce", http, apiUrl, accessToken, timeout);
            if (string.IsNullOrWhiteSpace(externalIdField) || WriterChannel.PlainCode(externalIdField) is null)
            {
                throw new ArgumentException("The external id field must be a field's API name, such as " + DefaultExternalIdField + ".", nameof(externalIdField));
            }

            ExternalIdField = externalIdField;
        }

        public string ExternalIdField { get; }

        /// <summary>The org's scheme, host and port.</summary>
        public Uri Root => _channel.Root;

        /// <inheritdoc/>
        public int MaxBatch => CollectionLimit;

        /// <summary>
        /// Reads Case's describe and checks that <see cref="ExternalIdField"/> exists and is an External ID field, and that the
        /// connected user may create and edit cases and write that field (object permissions and field-level security, as the
        /// describe says them for that user). Null when all hold; otherwise, returned (not thrown), the
        /// <see cref="ErrorIds.SyncApplyMissingExternalId"/> error or, when only permissions are missing, the
        /// <see cref="ErrorIds.SyncApplyNoWriteAccess"/> error naming each one. Throws when the org cannot be asked.
        /// </summary>
        public async Task<ConnectionToolsException?> CheckAsync(CancellationToken cancellationToken)
        {
            const string What = "the Case describe";
            var answer = await _channel.SendAsync(
                _ => new HttpRequestMessage(HttpMethod.Get, new Uri(Root, $"/services/data/{ApiVersion}/sobjects/Case/describe")),
                What,
                idempotent: true,
                cancellationToken).ConfigureAwait(false);
            if (!answer.IsSuccess)
            {
                throw _channel.Failed(What, answer.Status, FirstError(answer.Body)?.Code, null);
            }

            try
            {
                using (var document = JsonDocument.Parse(answer.Body))
                {
                    if (!document.RootElement.TryGetProperty("fields", out var fields) || fields.ValueKind != JsonValueKind.Array)
                    {
                        throw _channel.Malformed(What, "it has no 'fields' array");
                    }

                    foreach (var field in fields.EnumerateArray())
                    {
                        if (field.ValueKind == JsonValueKind.Object && field.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String &&
                            string.Equals(name.GetString(), ExternalIdField, StringComparison.OrdinalIgnoreCase))
                        {
                            var external = field.TryGetProperty("externalId", out var flag) && flag.ValueKind == JsonValueKind.True;
                            if (!external)
                            {
                                return MissingExternalId("it exists on Case but is not marked External ID");
                            }

                            // Only a flag that says false refuses: the describe of a user always carries them.
                            var missing = new List<string>();
                            if (Denied(document.RootElement, "createable"))
                            {
                                missing.Add("create Case records");
                            }

                            if (Denied(document.RootElement, "updateable"))
                            {
                                missing.Add("edit Case records");
                            }

                            if (Denied(field, "createable") || Denied(field, "updateable"))
                            {
                                missing.Add($"edit the field {ExternalIdField} (field-level security makes it read-only)");
                            }

                            return missing.Count == 0 ? null : NoWriteAccess(missing);
                        }
                    }

                    // A field the user may not read is left out of the describe as if it did not exist.
                    return MissingExternalId("Case has no such field, or the connected user may not see it");
                }
            }
            catch (JsonException)
            {
                throw _channel.Malformed(What, "it is not valid JSON");
            }
        }

        /// <inheritdoc/>
        public async Task<IReadOnlyList<CaseWriteResult>> WriteAsync(IReadOnlyList<CaseWrite> writes, CancellationToken cancellationToken)
        {
            CaseWriteChecks.Check(writes, MaxBatch);
            var results = new CaseWriteResult?[writes.Count];
            var sent = new List<int>(writes.Count);
            string body;
            using (var stream = new MemoryStream())
            {
                using (var json = new Utf8JsonWriter(stream))
                {
                    json.WriteStartObject();
                    json.WriteBoolean("allOrNone", false);
                    json.WriteStartArray("records");
                    for (var i = 0; i < writes.Count; i++)
                    {
                        var write = writes[i];
                        var unknown = CaseWriteChecks.UnknownField(write, FieldMap);
                        if (unknown is not null)
                        {
                            results[i] = new CaseWriteResult(write.PartnerCaseId, null, false, CaseWriteChecks.UnknownFieldError("Salesforce", write.PartnerCaseId, unknown));
                            continue;
                        }

                        if (write.LocalCaseId is not null)
                        {
                            // One of this org's own cases, not found by the external id yet: updated by its Id below.
                            continue;
                        }

                        sent.Add(i);
                        json.WriteStartObject();
                        json.WriteStartObject("attributes");
                        json.WriteString("type", "Case");
                        json.WriteEndObject();
                        json.WriteString(ExternalIdField, write.PartnerCaseId);
                        WriteFields(json, write);

                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                    json.WriteEndObject();
                }

                body = Encoding.UTF8.GetString(stream.ToArray());
            }

            if (sent.Count > 0)
            {
                await UpsertAsync(writes, sent, body, results, cancellationToken).ConfigureAwait(false);
            }

            for (var i = 0; i < writes.Count; i++)
            {
                if (results[i] is null && writes[i].LocalCaseId is not null)
                {
                    results[i] = await UpdateByIdAsync(writes[i], cancellationToken).ConfigureAwait(false);
                }
            }

            // Comments after the upsert, for the cases written: a comment needs its case's Id. A comment POST is not idempotent, so it
            // is never sent again when its answer may have been lost; the case then carries CommentFailed and the rest of its comments
            // wait for the engine (which knows from the error's CommentsAppended how many were added).
            for (var i = 0; i < writes.Count; i++)
            {
                var result = results[i]!;
                if (result.Error is null && result.LocalCaseId is not null && writes[i].NewComments.Count > 0)
                {
                    results[i] = await CommentsAsync(writes[i], result, cancellationToken).ConfigureAwait(false);
                }
            }

            return results!;
        }

        private async Task UpsertAsync(IReadOnlyList<CaseWrite> writes, List<int> sent, string body, CaseWriteResult?[] results, CancellationToken cancellationToken)
        {
            var what = $"the upsert of {sent.Count} case(s)";
            var url = new Uri(Root, $"/services/data/{ApiVersion}/composite/sobjects/Case/{Uri.EscapeDataString(ExternalIdField)}");

            // An upsert keyed by the external id is idempotent: sent twice, the second finds the case the first made and updates it
            // with the same values. So timeouts, network failures and 5xx answers are sent again (ProviderRetry's ProviderCalls policy).
            var answer = await _channel.SendAsync(
                _ => new HttpRequestMessage(new HttpMethod("PATCH"), url) { Content = WriterChannel.Json(body) },
                what,
                idempotent: true,
                cancellationToken).ConfigureAwait(false);
            if (!answer.IsSuccess)
            {
                var error = FirstError(answer.Body);
                if ((answer.Status == HttpStatusCode.NotFound && error?.Code == "NOT_FOUND") ||
                    (error?.Code == "INVALID_FIELD" && Names(error.Value.Message, error.Value.Fields, ExternalIdField)))
                {
                    throw MissingExternalId("Salesforce answered " + (error?.Code ?? "NOT_FOUND") + ": " + WriterChannel.Clip(error?.Message));
                }

                throw _channel.Failed(what, answer.Status, error?.Code, error is null ? null : WriterChannel.Clip(error.Value.Message));
            }

            try
            {
                using (var document = JsonDocument.Parse(answer.Body))
                {
                    var root = document.RootElement;
                    if (root.ValueKind != JsonValueKind.Array || root.GetArrayLength() != sent.Count)
                    {
                        throw _channel.Malformed(what, $"it is not an array of {sent.Count} results");
                    }

                    var k = 0;
                    foreach (var record in root.EnumerateArray())
                    {
                        var write = writes[sent[k]];
                        results[sent[k]] = RecordResult(write, record);
                        k++;
                    }
                }
            }
            catch (JsonException)
            {
                throw _channel.Malformed(what, "it is not valid JSON");
            }
            catch (InvalidOperationException)
            {
                throw _channel.Malformed(what, "a result has an unexpected type");
            }
        }

        /// <summary>
        /// Updates one of this org's own cases by its Id, giving it the partner's case id in the external id field, so later writes
        /// find it by that key. Idempotent, like the upsert.
        /// </summary>
        private async Task<CaseWriteResult> UpdateByIdAsync(CaseWrite write, CancellationToken cancellationToken)
        {
            string body;
            using (var stream = new MemoryStream())
            {
                using (var json = new Utf8JsonWriter(stream))
                {
                    json.WriteStartObject();
                    json.WriteString(ExternalIdField, write.PartnerCaseId);
                    WriteFields(json, write);

                    json.WriteEndObject();
                }

                body = Encoding.UTF8.GetString(stream.ToArray());
            }

            var what = $"the update of case {write.LocalCaseId}";
            var url = new Uri(Root, $"/services/data/{ApiVersion}/sobjects/Case/{Uri.EscapeDataString(write.LocalCaseId!)}");
            var answer = await _channel.SendAsync(
                _ => new HttpRequestMessage(new HttpMethod("PATCH"), url) { Content = WriterChannel.Json(body) },
                what,
                idempotent: true,
                cancellationToken).ConfigureAwait(false);
            if (answer.IsSuccess)
            {
                return new CaseWriteResult(write.PartnerCaseId, write.LocalCaseId, false, null);
            }

            var errors = new List<SalesforceError>();
            try
            {
                using (var document = JsonDocument.Parse(string.IsNullOrEmpty(answer.Body) ? "[]" : answer.Body))
                {
                    var root = document.RootElement;
                    foreach (var e in root.ValueKind == JsonValueKind.Array ? root.EnumerateArray() : default)
                    {
                        errors.Add(SalesforceError.Read(e));
                    }
                }
            }
            catch (JsonException)
            {
                throw _channel.Malformed(what, "it is not valid JSON");
            }

            if (errors.Any(e => e.Code == "INVALID_FIELD" && Names(e.Message, e.Fields, ExternalIdField)))
            {
                throw MissingExternalId("Salesforce answered INVALID_FIELD on the update of case " + write.LocalCaseId);
            }

            if (answer.Status == HttpStatusCode.BadRequest || answer.Status == HttpStatusCode.NotFound)
            {
                return new CaseWriteResult(write.PartnerCaseId, null, false, Refused(write.PartnerCaseId, errors));
            }

            throw _channel.Failed(what, answer.Status, errors.FirstOrDefault().Code, errors.Count == 0 ? null : WriterChannel.Clip(errors[0].Message));
        }

        /// <summary>The Case fields of a write, by their Salesforce names; a field the write does not name is left out (unchanged).</summary>
        private static void WriteFields(Utf8JsonWriter json, CaseWrite write)
        {
            foreach (var pair in FieldMap)
            {
                if (write.Fields.TryGetValue(pair[0], out var value))
                {
                    if (value is null)
                    {
                        json.WriteNull(pair[1]);
                    }
                    else
                    {
                        json.WriteString(pair[1], value);
                    }
                }
            }
        }

        private CaseWriteResult RecordResult(CaseWrite write, JsonElement record)
        {
            var success = record.ValueKind == JsonValueKind.Object && record.TryGetProperty("success", out var flag) && flag.ValueKind == JsonValueKind.True;
            if (success)
            {
                var id = record.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.String ? idValue.GetString() : null;
                if (string.IsNullOrEmpty(id))
                {
                    throw _channel.Malformed("the upsert", "a successful result has no id");
                }

                var created = record.TryGetProperty("created", out var createdValue) && createdValue.ValueKind == JsonValueKind.True;
                return new CaseWriteResult(write.PartnerCaseId, id, created, null);
            }

            var errors = new List<SalesforceError>();
            if (record.ValueKind == JsonValueKind.Object && record.TryGetProperty("errors", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var e in list.EnumerateArray())
                {
                    errors.Add(SalesforceError.Read(e));
                }
            }

            foreach (var e in errors)
            {
                if (e.Code == "INVALID_FIELD" && Names(e.Message, e.Fields, ExternalIdField))
                {
                    throw MissingExternalId("Salesforce answered INVALID_FIELD: " + WriterChannel.Clip(e.Message));
                }
            }

            return new CaseWriteResult(write.PartnerCaseId, null, false, Refused(write.PartnerCaseId, errors));
        }

        private async Task<CaseWriteResult> CommentsAsync(CaseWrite write, CaseWriteResult written, CancellationToken cancellationToken)
        {
            var url = new Uri(Root, $"/services/data/{ApiVersion}/sobjects/CaseComment");
            for (var n = 0; n < write.NewComments.Count; n++)
            {
                string body;
                using (var stream = new MemoryStream())
                {
                    using (var json = new Utf8JsonWriter(stream))
                    {
                        json.WriteStartObject();
                        json.WriteString("ParentId", written.LocalCaseId);
                        json.WriteString("CommentBody", write.NewComments[n]);
                        json.WriteBoolean("IsPublished", false);
                        json.WriteEndObject();
                    }

                    body = Encoding.UTF8.GetString(stream.ToArray());
                }

                var what = $"comment {n + 1} of case {write.PartnerCaseId}";
                WriterChannel.Answer answer;
                try
                {
                    // Not idempotent: sent again only when it certainly did not arrive (ProviderRetry's TokenRefresh policy).
                    answer = await _channel.SendAsync(
                        _ => new HttpRequestMessage(HttpMethod.Post, url) { Content = WriterChannel.Json(body) },
                        what,
                        idempotent: false,
                        cancellationToken).ConfigureAwait(false);
                }
                catch (ConnectionToolsException e)
                {
                    // No answer (ProviderUnavailable: it may have arrived) or a token refused after a refresh (it did not): the case
                    // was written either way, so the failure is this case's, not the call's; throwing would make the engine write the
                    // whole call again and double the comments already added.
                    return CommentFailed(write, written, n, e.ErrorId == ErrorIds.AuthorizationProviderUnavailable && ProviderRetry.MayHaveArrived(e), CaseWriteChecks.Detail(e), null);
                }

                if (!answer.IsSuccess)
                {
                    var error = FirstError(answer.Body);
                    var uncertain = (int)answer.Status >= 500;
                    return CommentFailed(write, written, n, uncertain, "Salesforce answered HTTP " + ((int)answer.Status).ToString(CultureInfo.InvariantCulture) +
                        (error is null ? string.Empty : ": " + WriterChannel.Clip(error.Value.Message)), error?.Code);
                }
            }

            return written;
        }

        private CaseWriteResult CommentFailed(CaseWrite write, CaseWriteResult written, int appended, bool uncertain, string detail, string? code) =>
            new CaseWriteResult(write.PartnerCaseId, written.LocalCaseId, written.Created, CaseWriteChecks.CommentFailed("Salesforce", write.PartnerCaseId, written.LocalCaseId!, appended, uncertain, detail, code));

        private static bool Denied(JsonElement element, string flag) =>
            element.TryGetProperty(flag, out var value) && value.ValueKind == JsonValueKind.False;

        private ConnectionToolsException NoWriteAccess(List<string> missing) => new ConnectionToolsException(
            ErrorIds.SyncApplyNoWriteAccess,
            ErrorKind.PermissionDenied,
            $"The connected user of Salesforce may not {string.Join(", nor ", missing)}. Partner cases are written as that user, so none can be written.",
            Root.Host,
            "In Salesforce Setup, give the connected user's profile or a permission set Read, Create and Edit on Cases, and Edit access to the field " +
            $"{ExternalIdField} (Object Manager > Case > Fields & Relationships > {ExternalIdField} > Set Field-Level Security); then run Test-ConnectionSync again.");

        private ConnectionToolsException MissingExternalId(string why) => new ConnectionToolsException(
            ErrorIds.SyncApplyMissingExternalId,
            ErrorKind.InvalidOperation,
            $"Salesforce has no usable external id field '{ExternalIdField}' on Case ({why}). Partner cases are matched by it, so none can be written.",
            Root.Host,
            $"In Salesforce Setup > Object Manager > Case > Fields & Relationships, create a Text(255) field with the API name {ExternalIdField}, " +
            "marked External ID and Unique (case-insensitive), and give the connected user edit access to it; then run the sync again.");

        private static ConnectionToolsException Refused(string partnerCaseId, List<SalesforceError> errors)
        {
            var parts = new List<string>();
            var actions = new List<string>();
            string? field = null;
            foreach (var e in errors)
            {
                var fields = e.Fields.Count > 0 ? " [" + string.Join(", ", e.Fields) + "]" : string.Empty;
                parts.Add((e.Code ?? "error") + fields + ": " + WriterChannel.Clip(e.Message));
                field ??= e.Fields.Count > 0 ? e.Fields[0] : null;
                actions.Add(ActionFor(e.Code, e.Fields.Count > 0 ? string.Join(", ", e.Fields) : "the field"));
            }

            if (parts.Count == 0)
            {
                parts.Add("no reason given");
                actions.Add("Check the case in Salesforce and the incoming rule.");
            }

            var target = field is null ? partnerCaseId : partnerCaseId + ":" + field;
            return new ConnectionToolsException(
                ErrorIds.SyncApplyRefused,
                ErrorKind.InvalidData,
                $"Salesforce refused partner case '{partnerCaseId}': {string.Join("; ", parts)}. The other cases of the batch are not affected.",
                target,
                string.Join(" ", new HashSet<string>(actions)));
        }

        private static string ActionFor(string? code, string fields)
        {
            switch (code)
            {
                case "REQUIRED_FIELD_MISSING":
                    return $"Make the incoming rule set {fields} (mapped from entity.summary, entity.description, entity.status or entity.priority) for every case.";
                case "STRING_TOO_LONG":
                    return $"Shorten {fields} in the incoming rule to the field's length in Salesforce.";
                case "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST":
                case "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST_VALUE":
                    return $"Map the partner's value of {fields} to one of the picklist's values in the incoming rule, or add the value to the picklist in Salesforce.";
                case "INVALID_FIELD_FOR_INSERT_UPDATE":
                    return $"Give the connected user edit access to {fields} (field-level security), or stop the incoming rule from setting it.";
                case "INVALID_TYPE_ON_FIELD_IN_RECORD":
                    return $"Make the incoming rule give {fields} a value of the field's type.";
                default:
                    return $"Fix {fields} in the incoming rule, or the case's setup in Salesforce (validation rules, required fields), as the message says.";
            }
        }

        private static bool Names(string? message, IReadOnlyList<string> fields, string field)
        {
            foreach (var f in fields)
            {
                if (string.Equals(f, field, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return message is not null && message.IndexOf(field, StringComparison.OrdinalIgnoreCase) >= 0;
        }

        // Whole-call errors are an array of {message, errorCode[, fields]}.
        private static SalesforceError? FirstError(string body)
        {
            try
            {
                using (var document = JsonDocument.Parse(string.IsNullOrEmpty(body) ? "null" : body))
                {
                    var root = document.RootElement;
                    var first = root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0 ? root[0] : root;
                    return first.ValueKind == JsonValueKind.Object ? SalesforceError.Read(first) : (SalesforceError?)null;
                }
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private readonly struct SalesforceError
        {
            private SalesforceError(string? code, string? message, IReadOnlyList<string> fields)
            {
                Code = code;
                Message = message;
                Fields = fields;
            }

            public string? Code { get; }

            public string? Message { get; }

            public IReadOnlyList<string> Fields { get; }

            public static SalesforceError Read(JsonElement e)
            {
                if (e.ValueKind != JsonValueKind.Object)
                {
                    return new SalesforceError(null, null, Array.Empty<string>());
                }

                var code = Text(e, "statusCode") ?? Text(e, "errorCode");
                var fields = new List<string>();
                if (e.TryGetProperty("fields", out var list) && list.ValueKind == JsonValueKind.Array)
                {
                    foreach (var f in list.EnumerateArray())
                    {
                        if (f.ValueKind == JsonValueKind.String && WriterChannel.PlainCode(f.GetString()) is { } name)
                        {
                            fields.Add(name);
                        }
                    }
                }

                return new SalesforceError(WriterChannel.PlainCode(code), Text(e, "message"), fields);
            }

            private static string? Text(JsonElement e, string name) =>
                e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        }
    }
}
