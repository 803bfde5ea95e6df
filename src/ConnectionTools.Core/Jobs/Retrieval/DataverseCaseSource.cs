using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionTools.Jobs.Retrieval
{
    /// <summary>
    /// Dataverse cases (<c>incidents</c>) changed since the watermark, through the Web API: a <c>modifiedon ge</c> filter, ordered by
    /// modifiedon then incidentid, pages of <c>Prefer: odata.maxpagesize</c> records, following <c>@odata.nextLink</c>; each with its
    /// notes (annotations, the case's comments) expanded. Before them, the cases whose only change is a new note, which Dataverse
    /// does not show in the incident's modifiedon (see <see cref="BeforePagesAsync"/>).
    /// </summary>
    public sealed class DataverseCaseSource : CasePager
    {
        public const string ApiPath = "/api/data/v9.2/";

        private const string Select = "incidentid,ticketnumber,title,description,statecode,prioritycode,modifiedon";

        /// <summary>The incident's notes, oldest first: incident_annotations' navigation property on incident is Incident_Annotation.</summary>
        public const string ExpandNotes = "Incident_Annotation($select=annotationid,notetext,createdon,_createdby_value;$orderby=createdon asc)";

        /// <summary>
        /// How far before the watermark the notes query looks. The watermark follows incidents' modifiedon only, and the notes query
        /// runs before the incidents query, so the next run's notes query starts at most this long before the newest modifiedon
        /// the incidents query reached: a note created while the incidents query ran (after the notes query) is found by the next
        /// run as long as that query took less than this (seconds to a few minutes, even for a catch-up of many thousand cases),
        /// and so is a note committed late with an earlier createdon. A case read again within the lookback has the same version
        /// (below), so the outbound queue does not queue it twice; the cost is one request per 50 such cases.
        /// </summary>
        public static readonly TimeSpan NoteLookback = TimeSpan.FromMinutes(15);

        /// <summary>Incidents read per request when reading the cases that have new notes (50 ids keep the URL short).</summary>
        public const int IdsPerRead = 50;

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
            return "$select=" + Select + filter + "&$expand=" + Uri.EscapeDataString(ExpandNotes) + "&$orderby=" + Uri.EscapeDataString("modifiedon asc,incidentid asc");
        }

        /// <summary>The query string of the notes query (after "annotations?"): notes on incidents created at or after <paramref name="since"/>.</summary>
        public static string NoteQueryOptions(DateTimeOffset since) =>
            "$select=_objectid_value,createdon&$filter=" + Uri.EscapeDataString("objecttypecode eq 'incident' and createdon ge " + CaseTimestamps.ToLiteral(since)) +
            "&$orderby=" + Uri.EscapeDataString("createdon asc");

        /// <summary>The query string that reads the given incidents (after "incidents?"), with their notes.</summary>
        public static string ByIdQueryOptions(IEnumerable<string> ids) =>
            "$select=" + Select + "&$expand=" + Uri.EscapeDataString(ExpandNotes) + "&$filter=" + Uri.EscapeDataString(string.Join(" or ", ids.Select(id => "incidentid eq " + id)));

        /// <summary>
        /// A note does not change its incident's modifiedon in Dataverse, so a case whose only change is a new comment is not in the
        /// incidents query. Before it (never on a first run, which reads every case with all its notes), the notes created since
        /// the watermark (less <see cref="NoteLookback"/>) name the incidents to read, with their notes. Those records do not move
        /// the watermark: they are not read in modifiedon order, so moving it to them would skip incidents the incidents query has
        /// not reached yet if the run failed; the watermark keeps meaning "incidents modified up to here were read". The notes
        /// query goes first so that a failure of the incidents query cannot leave notes unread behind a watermark it moved.
        /// </summary>
        private protected override async Task BeforePagesAsync(CaseQuery query, Func<IReadOnlyList<CaseRecord>, CancellationToken, Task> onPage, CancellationToken cancellationToken)
        {
            if (!(query.Since is DateTimeOffset since))
            {
                return;
            }

            var ids = new List<string>();
            var known = new HashSet<string>(StringComparer.Ordinal);
            await PagesAsync(
                new Uri(Root, ApiPath + "annotations?" + NoteQueryOptions(since - NoteLookback)),
                query,
                "note query",
                ParseNotePage,
                (page, ct) =>
                {
                    ids.AddRange(page.Where(known.Add));
                    return Task.CompletedTask;
                },
                cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < ids.Count; i += IdsPerRead)
            {
                var uri = new Uri(Root, ApiPath + "incidents?" + ByIdQueryOptions(ids.Skip(i).Take(IdsPerRead)));
                await PagesAsync(uri, query, "query of cases with new notes", ParsePage, (page, ct) => onPage(page.Select(r => r.Watermark(null)).ToList(), ct), cancellationToken).ConfigureAwait(false);
            }
        }

        private protected override Uri FirstPage(CaseQuery query) => new Uri(Root, ApiPath + "incidents?" + QueryOptions(query.Since));

        private protected override void AddHeaders(HttpRequestMessage request, CaseQuery query)
        {
            request.Headers.TryAddWithoutValidation("OData-MaxVersion", "4.0");
            request.Headers.TryAddWithoutValidation("OData-Version", "4.0");
            // The formatted values carry a note's author's name (_createdby_value's FormattedValue), which becomes the comment's author.
            request.Headers.TryAddWithoutValidation("Prefer", "odata.maxpagesize=" + query.PageSize.ToString(CultureInfo.InvariantCulture) +
                ",odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\"");
        }

        private protected override Page<CaseRecord> ParsePage(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("it has no 'value' array");
            }

            var list = new List<CaseRecord>(value.GetArrayLength());
            foreach (var record in value.EnumerateArray())
            {
                // The case's version is its newest change, a note's included: a case read again because of a new note must be
                // newer than its last queued version, or the outbound queue takes it for one it already has. The watermark
                // follows modifiedon alone, the order the incidents query pages in.
                var modified = RequiredTimestamp(record, "modifiedon");
                var (newest, notes) = Notes(record);
                var changed = CaseTimestamps.Version(newest is DateTimeOffset note && note > modified ? note : modified, notes);
                list.Add(new CaseRecord(
                    RequiredString(record, "incidentid").ToLowerInvariant(),
                    changed,
                    OptionalString(record, "ticketnumber"),
                    OptionalString(record, "title"),
                    StateLabel(record),
                    record.GetRawText()).Watermark(modified));
            }

            return new Page<CaseRecord>(list, NextLink(root));
        }

        /// <summary>The createdon of the newest of a record's expanded notes (null when it has none), and how many it has.</summary>
        private static (DateTimeOffset? Newest, int Count) Notes(JsonElement record)
        {
            DateTimeOffset? newest = null;
            var count = 0;
            if (record.TryGetProperty("Incident_Annotation", out var notes) && notes.ValueKind == JsonValueKind.Array)
            {
                foreach (var note in notes.EnumerateArray())
                {
                    count++;
                    if (note.ValueKind == JsonValueKind.Object && CaseTimestamps.TryParse(OptionalString(note, "createdon"), out var created) && (newest is null || created > newest))
                    {
                        newest = created;
                    }
                }
            }

            return (newest, count);
        }

        /// <summary>A page of the notes query: the incidents the notes belong to (lower case).</summary>
        private static Page<string> ParseNotePage(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("it has no 'value' array");
            }

            var ids = new List<string>(value.GetArrayLength());
            foreach (var note in value.EnumerateArray())
            {
                if (OptionalString(note, "_objectid_value") is string id && Guid.TryParse(id, out var guid))
                {
                    ids.Add(guid.ToString("D"));
                }
            }

            return new Page<string>(ids, NextLink(root));
        }

        private static Uri? NextLink(JsonElement root)
        {
            var next = OptionalString(root, "@odata.nextLink");
            if (next is null)
            {
                return null;
            }

            return Uri.TryCreate(next, UriKind.Absolute, out var nextUri) ? nextUri : throw new FormatException("its @odata.nextLink is not an absolute URL");
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
