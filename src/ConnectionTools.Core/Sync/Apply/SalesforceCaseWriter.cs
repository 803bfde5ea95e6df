using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>
    /// Writes partner cases into Salesforce: one sObject Collections upsert by the external id field per call
    /// (<c>PATCH composite/sobjects/Case/{field}</c>, allOrNone false, so a refused record fails alone), then the new comments of
    /// the written cases, one <c>POST sobjects/CaseComment</c> each, oldest first. Neutral fields map summary→Subject,
    /// description→Description, status→Status, priority→Priority; only the fields present in <see cref="CaseWrite.Fields"/> are sent.
    /// </summary>
    public sealed partial class SalesforceCaseWriter : ICaseWriter, ICommentReader
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
    }
}
