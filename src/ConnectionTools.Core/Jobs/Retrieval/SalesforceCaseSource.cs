using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionTools.Jobs.Retrieval
{
    /// <summary>
    /// Salesforce cases changed since the watermark, through the REST API's query resource: SOQL on <c>Case</c> ordered by
    /// SystemModstamp then Id, batches of <c>Sforce-Query-Options: batchSize</c> records (Salesforce accepts 200 to 2,000),
    /// following <c>nextRecordsUrl</c> until <c>done</c>.
    /// </summary>
    public sealed class SalesforceCaseSource : CasePager
    {
        /// <summary>The REST API version the queries use.</summary>
        public const string ApiVersion = "v60.0";

        public const int MinBatchSize = 200;
        public const int MaxBatchSize = 2000;

        /// <param name="http">Shared HttpClient (tests route the org's host to an emulator).</param>
        /// <param name="apiUrl">The org's instance URL, e.g. https://contoso.my.salesforce.com.</param>
        /// <param name="accessToken">Gives the current access token; with forceRefresh true, a new one (after a 401).</param>
        /// <param name="timeout">Timeout of each request.</param>
        public SalesforceCaseSource(HttpClient http, Uri apiUrl, Func<bool, CancellationToken, Task<string>> accessToken, TimeSpan timeout)
            : base(http, apiUrl, accessToken, timeout)
        {
        }

        private protected override string Provider => "Salesforce";

        /// <summary>The child subquery of a case's comments, oldest first (CaseEntities maps CaseComments.records to entity.comments).</summary>
        public const string CommentsSubquery = "(SELECT Id, CommentBody, CreatedDate, CreatedBy.Name FROM CaseComments ORDER BY CreatedDate)";

        /// <summary>The SOQL of a run.</summary>
        public static string Soql(DateTimeOffset? since)
        {
            // ">=" and not ">": the watermark is the SystemModstamp of the newest committed record, and other records can share that
            // timestamp (one transaction, bulk updates) without all of them having been committed, for example when a run failed
            // between two pages that split such a group. ">" would skip the rest of the group for good. With ">=" the records at the
            // watermark come again; the outbound queue is idempotent (same id and version: stored once), so nothing is lost and
            // nothing is duplicated.
            var where = since is DateTimeOffset watermark ? " WHERE SystemModstamp >= " + CaseTimestamps.ToLiteral(watermark) : string.Empty;
            // The comments come along as a child relationship (CaseComments), so a case and its thread are read in one request. A
            // new CaseComment moves its parent's SystemModstamp in Salesforce, so a case whose only change is a comment is found too.
            return "SELECT Id, CaseNumber, Subject, Description, Status, Priority, SystemModstamp, " + CommentsSubquery + " FROM Case" + where + " ORDER BY SystemModstamp ASC, Id ASC";
        }

        private protected override Uri FirstPage(CaseQuery query) =>
            new Uri(Root, $"/services/data/{ApiVersion}/query?q=" + Uri.EscapeDataString(Soql(query.Since)));

        private protected override void AddHeaders(HttpRequestMessage request, CaseQuery query)
        {
            var batch = Math.Min(MaxBatchSize, Math.Max(MinBatchSize, query.PageSize));
            request.Headers.TryAddWithoutValidation("Sforce-Query-Options", "batchSize=" + batch.ToString(CultureInfo.InvariantCulture));
        }

        private protected override Page<CaseRecord> ParsePage(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("records", out var records) || records.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("it has no 'records' array");
            }

            var list = new List<CaseRecord>(records.GetArrayLength());
            foreach (var record in records.EnumerateArray())
            {
                // A new CaseComment moves SystemModstamp, but within the same second as an edit it may not change it: the version
                // counts the comments too (CaseTimestamps.Version). The watermark stays SystemModstamp, the order of the query.
                var modstamp = RequiredTimestamp(record, "SystemModstamp");
                var comments = record.TryGetProperty("CaseComments", out var relation) && relation.ValueKind == JsonValueKind.Object &&
                    relation.TryGetProperty("totalSize", out var size) && size.TryGetInt32(out var count) ? count : 0;
                list.Add(new CaseRecord(
                    RequiredString(record, "Id"),
                    CaseTimestamps.Version(modstamp, comments),
                    OptionalString(record, "CaseNumber"),
                    OptionalString(record, "Subject"),
                    OptionalString(record, "Status"),
                    record.GetRawText()).Watermark(modstamp));
            }

            var done = root.TryGetProperty("done", out var doneValue) && doneValue.ValueKind == JsonValueKind.True;
            if (done)
            {
                return new Page<CaseRecord>(list, null);
            }

            var next = OptionalString(root, "nextRecordsUrl");
            if (next is null || !next.StartsWith("/services/data/", StringComparison.Ordinal))
            {
                throw new FormatException("it is not done and has no nextRecordsUrl");
            }

            return new Page<CaseRecord>(list, new Uri(Root, next));
        }

        // Salesforce errors are an array of {message, errorCode}.
        private protected override string? ErrorCode(JsonElement root)
        {
            var first = root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0 ? root[0] : root;
            return first.ValueKind == JsonValueKind.Object ? OptionalString(first, "errorCode") ?? OptionalString(first, "error") : null;
        }
    }
}
