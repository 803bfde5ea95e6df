using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>
    /// Writes partner cases into Dataverse <c>incidents</c> through the Web API: one <c>$batch</c> per round, a change set per case
    /// (all of a case or none of it), <c>Prefer: odata.continue-on-error</c> so one case's refusal leaves the others written. A case
    /// is keyed by the alternate key: <c>PATCH incidents(ct_partnerid='…')</c> with <c>If-Match: *</c> (update only); the cases
    /// with no such incident go in a second round with <c>If-None-Match: *</c> (create only) and the default customer bound. So a
    /// call whose cases all exist takes one $batch, a call with new cases two. After the batches, the cases' new comments as notes
    /// (<c>POST annotations</c>), oldest first, one at a time (a note POST is not repeatable, so it is never resent in a batch).
    /// Neutral fields map summary→title, description→description, priority→prioritycode (High 1, Normal/Medium 2, Low 3) and
    /// status→statecode/statuscode:
    /// <list type="bullet">
    /// <item>Resolved, Closed, Problem Solved → Resolved (5 Problem Solved); Information Provided → Resolved (1000). Dataverse refuses
    /// a PATCH of statecode 1, so resolving is the <c>CloseIncident</c> action with an IncidentResolution.</item>
    /// <item>Canceled, Cancelled → Canceled: <c>PATCH statecode 2, statuscode 6</c>.</item>
    /// <item>Active, New, Open, Reopened, Working, Escalated, In Progress, On Hold, Waiting for Details, Researching → Active: an
    /// active incident keeps its statuscode; a resolved or canceled one is reactivated (<c>PATCH statecode 0, statuscode 1</c>).</item>
    /// <item>Null: the state is left as it is. Any other value is that case's Refused error, before any request.</item>
    /// </list>
    /// Dataverse refuses any update of a resolved or canceled incident, so a case's change set is: reactivate (when the case goes to a
    /// closed state, or when Dataverse answered that it is closed), then the fields, then cancel or resolve. Reactivating first
    /// also makes the change set repeatable: sent again after a lost answer, it reopens, writes and closes the same way.
    /// </summary>
    public sealed partial class DataverseCaseWriter : ICaseWriter, ICommentReader
    {
        /// <summary>The incident alternate key's default column.</summary>
        public const string DefaultAlternateKey = "ct_partnerid";

        /// <summary>
        /// Cases per call. A case takes up to three requests of the $batch (reactivate, fields, close), so 100 cases stay far below
        /// $batch's 1000 requests, and one batch stays a few seconds of server time, well inside the 2-minute request timeout and the
        /// service protection limits; a batch resent after a 429 or a lost answer is small.
        /// </summary>
        public const int BatchLimit = 100;

        private const string ApiPath = "/api/data/v9.2/";

        private static readonly string[][] FieldMap =
        {
            new[] { "summary", "title" },
            new[] { "description", "description" },
            new[] { "priority", "prioritycode" },
            new[] { "status", "statecode" },
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

        /// <inheritdoc/>
        public async Task<IReadOnlyList<CaseWriteResult>> WriteAsync(IReadOnlyList<CaseWrite> writes, CancellationToken cancellationToken)
        {
            CaseWriteChecks.Check(writes, MaxBatch);

            // Every case is checked before any request, so a case this writer cannot map has nothing of it written.
            var results = new CaseWriteResult?[writes.Count];
            var pending = new List<PendingCase>();
            for (var i = 0; i < writes.Count; i++)
            {
                var prepared = Prepare(i, writes[i], out var refused);
                if (prepared is null)
                {
                    results[i] = refused;
                }
                else
                {
                    pending.Add(prepared);
                }
            }

            // All upserts first, then the comments: a batch that throws (no answer after retries) leaves no comment sent, so the
            // engine can write the whole call again without doubling a comment.
            cancellationToken.ThrowIfCancellationRequested();
            await UpsertAllAsync(pending, results, cancellationToken).ConfigureAwait(false);

            var done = new CaseWriteResult[writes.Count];
            for (var i = 0; i < writes.Count; i++)
            {
                done[i] = results[i] ?? throw new InvalidOperationException("A case of the batch was left unanswered.");
                if (done[i].Error is null && done[i].LocalCaseId is not null && writes[i].NewComments.Count > 0)
                {
                    done[i] = await CommentsAsync(writes[i], done[i], cancellationToken).ConfigureAwait(false);
                }
            }

            return done;
        }

        /// <summary>The case's incident values and target state, or null with the case's error when it cannot be written.</summary>
        private PendingCase? Prepare(int index, CaseWrite write, out CaseWriteResult? refused)
        {
            refused = null;
            var unknown = CaseWriteChecks.UnknownField(write, FieldMap);
            if (unknown is not null)
            {
                refused = new CaseWriteResult(write.PartnerCaseId, null, false, CaseWriteChecks.UnknownFieldError("Dataverse", write.PartnerCaseId, unknown));
                return null;
            }

            var values = new List<KeyValuePair<string, object?>>();
            StatusTarget? target = null;
            foreach (var pair in FieldMap)
            {
                if (!write.Fields.TryGetValue(pair[0], out var value))
                {
                    continue;
                }

                if (pair[1] == "statecode")
                {
                    if (value is not null)
                    {
                        target = Target(value);
                        if (target is null)
                        {
                            refused = new CaseWriteResult(write.PartnerCaseId, null, false, UnknownStatus(write.PartnerCaseId, value));
                            return null;
                        }
                    }
                }
                else if (pair[1] == "prioritycode")
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
                        refused = new CaseWriteResult(write.PartnerCaseId, null, false, new ConnectionToolsException(
                            ErrorIds.SyncApplyRefused,
                            ErrorKind.InvalidData,
                            $"Partner case '{write.PartnerCaseId}' has entity.priority '{Clip(value, 40)}', which has no Dataverse prioritycode (High, Normal or Medium, Low). Nothing of the case was sent.",
                            write.PartnerCaseId + ":prioritycode",
                            "Map the partner's priority to High, Normal or Low in the incoming rule."));
                        return null;
                    }
                }
                else
                {
                    values.Add(new KeyValuePair<string, object?>(pair[1], value));
                }
            }

            if (write.LocalCaseId is not null)
            {
                // One of this environment's own incidents: updated by its id, and given the partner's case id as its key, so later
                // writes find it by the key.
                if (!Guid.TryParse(write.LocalCaseId, out _))
                {
                    throw new ArgumentException($"'{write.LocalCaseId}' is not an incident id.", nameof(write));
                }

                values.Add(new KeyValuePair<string, object?>(AlternateKey, write.PartnerCaseId));
            }

            return new PendingCase(index, write, values, target);
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
                    if (name == "title" || name == "description" || name == "prioritycode" || name == "statecode" || name == "statuscode" || name == "incident" ||
                        name.StartsWith("customerid", StringComparison.Ordinal) ||
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
                case ClosedCaseCode:
                    return "The incident is resolved or canceled in Dataverse, which takes no changes then: make the incoming rule set entity.status (Active reopens it), or reactivate the case in Dataverse.";
                case "0x80040200":
                    return "Name a default customer on the Dynamics 365 connection: Set-Connection -DefaultCustomer 'accounts(<guid>)' (or contacts(<guid>)).";
                default:
                    return $"Fix {field} in the incoming rule, or the incident's setup in Dataverse (business rules, plug-ins, required columns), as the message says.";
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
    }
}
