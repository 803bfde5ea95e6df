using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>Salesforce case writer: appending CaseComments, and reading those a case has (to reconcile after a crash).</summary>
    public sealed partial class SalesforceCaseWriter
    {
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

        /// <inheritdoc/>
        /// <remarks>
        /// <c>SELECT CommentBody FROM CaseComment WHERE ParentId = '…' ORDER BY CreatedDate</c> through the query resource, following
        /// nextRecordsUrl; a read, so sent again on timeouts and 5xx like the upsert, with the token refreshed once on 401.
        /// </remarks>
        public async Task<IReadOnlyList<string>> CommentBodiesAsync(string localCaseId, CancellationToken cancellationToken)
        {
            // A Salesforce Id is 15 or 18 letters and digits; anything else would not be an Id, and must not reach the SOQL text.
            if (string.IsNullOrEmpty(localCaseId) || (localCaseId.Length != 15 && localCaseId.Length != 18) || !localCaseId.All(char.IsLetterOrDigit))
            {
                throw new ArgumentException("A Salesforce case Id is 15 or 18 letters and digits.", nameof(localCaseId));
            }

            var soql = $"SELECT CommentBody FROM CaseComment WHERE ParentId = '{localCaseId}' ORDER BY CreatedDate";
            var url = new Uri(Root, $"/services/data/{ApiVersion}/query?q=" + Uri.EscapeDataString(soql));
            var what = $"the comments of case {localCaseId}";
            var bodies = new List<string>();
            while (true)
            {
                var page = url;
                var answer = await _channel.SendAsync(_ => new HttpRequestMessage(HttpMethod.Get, page), what, idempotent: true, cancellationToken).ConfigureAwait(false);
                if (!answer.IsSuccess)
                {
                    var error = FirstError(answer.Body);
                    throw _channel.Failed(what, answer.Status, error?.Code, error is null ? null : WriterChannel.Clip(error.Value.Message));
                }

                string? next;
                try
                {
                    using (var document = JsonDocument.Parse(answer.Body))
                    {
                        var root = document.RootElement;
                        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("records", out var records) || records.ValueKind != JsonValueKind.Array)
                        {
                            throw _channel.Malformed(what, "it has no 'records' array");
                        }

                        foreach (var record in records.EnumerateArray())
                        {
                            // A comment without a body is stored as null; it cannot match a body an apply wrote.
                            bodies.Add(record.ValueKind == JsonValueKind.Object && record.TryGetProperty("CommentBody", out var body) && body.ValueKind == JsonValueKind.String
                                ? body.GetString()!
                                : string.Empty);
                        }

                        var done = !root.TryGetProperty("done", out var flag) || flag.ValueKind != JsonValueKind.False;
                        next = done ? null : root.TryGetProperty("nextRecordsUrl", out var link) && link.ValueKind == JsonValueKind.String ? link.GetString() : null;
                        if (!done && (next is null || !next.StartsWith("/services/data/", StringComparison.Ordinal)))
                        {
                            throw _channel.Malformed(what, "it is not done and has no nextRecordsUrl");
                        }
                    }
                }
                catch (JsonException)
                {
                    throw _channel.Malformed(what, "it is not valid JSON");
                }

                if (next is null)
                {
                    return bodies;
                }

                url = new Uri(Root, next);
            }
        }

        private CaseWriteResult CommentFailed(CaseWrite write, CaseWriteResult written, int appended, bool uncertain, string detail, string? code) =>
            new CaseWriteResult(write.PartnerCaseId, written.LocalCaseId, written.Created, CaseWriteChecks.CommentFailed("Salesforce", write.PartnerCaseId, written.LocalCaseId!, appended, uncertain, detail, code));
    }
}
