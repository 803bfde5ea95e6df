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
    /// Dataverse cases (<c>incidents</c>) changed since the watermark, through the Web API: a <c>modifiedon ge</c> filter, ordered by
    /// modifiedon then incidentid, pages of <c>Prefer: odata.maxpagesize</c> records, following <c>@odata.nextLink</c>.
    /// </summary>
    public sealed class DataverseCaseSource : CasePager
    {
        public const string ApiPath = "/api/data/v9.2/";

        private const string Select = "incidentid,ticketnumber,title,description,statecode,prioritycode,modifiedon";

        /// <param name="http">Shared HttpClient (tests route the environment's host to an emulator).</param>
        /// <param name="instanceUrl">The environment's URL, e.g. https://contoso.crm.dynamics.com.</param>
        /// <param name="accessToken">Gives the current access token; with forceRefresh true, a new one (after a 401).</param>
        /// <param name="timeout">Timeout of each request.</param>
        public DataverseCaseSource(HttpClient http, Uri instanceUrl, Func<bool, CancellationToken, Task<string>> accessToken, TimeSpan timeout)
            : base(http, instanceUrl, accessToken, timeout)
        {
        }

        private protected override string Provider => "Dataverse";

        /// <summary>The query string of a run's first page (after "incidents?").</summary>
        public static string QueryOptions(DateTimeOffset? since)
        {
            // "ge" and not "gt", for the reason SalesforceCaseSource.Soql gives: records sharing the watermark's modifiedon may not all
            // have been committed; they come again and the idempotent outbound queue stores each once.
            var filter = since is DateTimeOffset watermark ? "&$filter=" + Uri.EscapeDataString("modifiedon ge " + CaseTimestamps.ToLiteral(watermark)) : string.Empty;
            return "$select=" + Select + filter + "&$orderby=" + Uri.EscapeDataString("modifiedon asc,incidentid asc");
        }

        private protected override Uri FirstPage(CaseQuery query) => new Uri(Root, ApiPath + "incidents?" + QueryOptions(query.Since));

        private protected override void AddHeaders(HttpRequestMessage request, CaseQuery query)
        {
            request.Headers.TryAddWithoutValidation("OData-MaxVersion", "4.0");
            request.Headers.TryAddWithoutValidation("OData-Version", "4.0");
            request.Headers.TryAddWithoutValidation("Prefer", "odata.maxpagesize=" + query.PageSize.ToString(CultureInfo.InvariantCulture));
        }

        private protected override PageResult ParsePage(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("it has no 'value' array");
            }

            var list = new List<CaseRecord>(value.GetArrayLength());
            foreach (var record in value.EnumerateArray())
            {
                list.Add(new CaseRecord(
                    RequiredString(record, "incidentid").ToLowerInvariant(),
                    RequiredTimestamp(record, "modifiedon"),
                    OptionalString(record, "ticketnumber"),
                    OptionalString(record, "title"),
                    StateLabel(record),
                    record.GetRawText()));
            }

            var next = OptionalString(root, "@odata.nextLink");
            if (next is null)
            {
                return new PageResult(list, null);
            }

            if (!Uri.TryCreate(next, UriKind.Absolute, out var nextUri))
            {
                throw new FormatException("its @odata.nextLink is not an absolute URL");
            }

            return new PageResult(list, nextUri);
        }

        // incident.statecode: 0 Active, 1 Resolved, 2 Canceled.
        private static string? StateLabel(JsonElement record) =>
            record.TryGetProperty("statecode", out var state) && state.ValueKind == JsonValueKind.Number && state.TryGetInt32(out var code) ? StateLabel(code) : null;

        /// <summary>The label of an incident's statecode (what the API's formatted value says, in English).</summary>
        internal static string StateLabel(int code)
        {
            switch (code)
            {
                case 0: return "Active";
                case 1: return "Resolved";
                case 2: return "Canceled";
                default: return code.ToString(CultureInfo.InvariantCulture);
            }
        }

        // Dataverse errors are {"error": {"code": "0x80040216", "message": "..."}}.
        private protected override string? ErrorCode(JsonElement root) =>
            root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                ? OptionalString(error, "code")
                : null;
    }
}
