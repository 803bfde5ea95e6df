using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>The cases' upserts as one Dataverse <c>$batch</c> per round: a change set per case, continue-on-error.</summary>
    public sealed partial class DataverseCaseWriter
    {
        // Update → 404 → create → 412 (made meanwhile) → update → closed → reopen: four rounds are enough for any case.
        private const int MaxRounds = 4;

        private enum Step
        {
            Reopen,
            Update,
            Create,
            Close,
        }

        /// <summary>
        /// Sends the pending cases' change sets, one $batch per round, until each case is written or refused. A case goes to the
        /// next round when its update found no incident (create it), its create found one (update it), or its update found it
        /// closed while the case has a state to go to (reopen it first). Whole-call failures (no answer, 5xx, 429 after retries,
        /// a token refused after a refresh) throw.
        /// </summary>
        private async Task UpsertAllAsync(List<PendingCase> pending, CaseWriteResult?[] results, CancellationToken cancellationToken)
        {
            for (var round = 0; pending.Count > 0; round++)
            {
                var what = pending.Count == 1 ? $"the write of case {pending[0].Write.PartnerCaseId}" : $"the $batch write of {pending.Count} cases";
                if (round == MaxRounds)
                {
                    throw _channel.Failed(what, HttpStatusCode.PreconditionFailed, null, "the incident kept appearing and disappearing between update and create");
                }

                var contentId = 0;
                var plans = pending.Select(p => Plan(p, ref contentId)).ToList();
                var boundary = "batch_" + Guid.NewGuid().ToString("D");
                var body = BatchBody(boundary, plans);

                // Every change set is repeatable (see the class comment), so the batch is sent again after a 5xx or a lost answer.
                var answer = await _channel.SendAsync(_ => BatchRequest(boundary, body), what, idempotent: true, cancellationToken).ConfigureAwait(false);
                if (!answer.IsSuccess)
                {
                    var (code, message) = ReadError(answer.Body);
                    throw _channel.Failed(what, answer.Status, code, message is null ? null : WriterChannel.Clip(message));
                }

                var changeSets = ReadBatch(answer, what);
                if (changeSets.Count != pending.Count)
                {
                    throw _channel.Malformed(what, $"it answers {changeSets.Count} of {pending.Count} change sets");
                }

                var next = new List<PendingCase>();
                for (var i = 0; i < pending.Count; i++)
                {
                    if (Settle(pending[i], plans[i], changeSets[i], results))
                    {
                        next.Add(pending[i]);
                    }
                }

                pending = next;
            }
        }

        /// <summary>Reads a case's change set answer into its result; true when the case goes to the next round.</summary>
        private bool Settle(PendingCase pending, List<Operation> plan, List<PartAnswer> answers, CaseWriteResult?[] results)
        {
            var write = pending.Write;
            var what = $"the write of case {write.PartnerCaseId}";
            var failed = answers.FirstOrDefault(a => !a.Answer.IsSuccess);
            if (failed is null)
            {
                var fields = plan.First(o => o.Step == Step.Update || o.Step == Step.Create);
                var answer = answers.FirstOrDefault(a => a.ContentId == fields.ContentId) ?? (answers.Count == plan.Count ? answers[plan.IndexOf(fields)] : null);
                results[pending.Index] = answer is null
                    ? throw _channel.Malformed(what, "it has no answer to the case's upsert")
                    : Written(write, answer.Answer, created: pending.Create, what);
                return false;
            }

            // A failed change set answers its failing request only; without a Content-ID it is the first one.
            var step = (plan.FirstOrDefault(o => o.ContentId == failed.ContentId) ?? plan[0]).Step;
            var status = failed.Answer.Status;
            if ((step == Step.Update || step == Step.Reopen) && status == HttpStatusCode.NotFound && write.LocalCaseId is null)
            {
                if (_customerBindName is null)
                {
                    results[pending.Index] = NoDefaultCustomer(write);
                    return false;
                }

                pending.Create = true;
                pending.Reopen = false;
                return true;
            }

            if (step == Step.Create && status == HttpStatusCode.PreconditionFailed)
            {
                // The incident exists after all (made meanwhile, or by an earlier attempt of this create): update it.
                pending.Create = false;
                pending.Reopen = pending.Target is { Closes: true };
                return true;
            }

            if (step == Step.Update && !pending.Reopen && pending.Target is not null && IsClosedCase(failed.Answer))
            {
                pending.Reopen = true;
                return true;
            }

            results[pending.Index] = Refusal(write, failed.Answer, what);
            return false;
        }

        /// <summary>A case's change set: reactivate, the fields, then cancel or resolve; each step only when it applies.</summary>
        private List<Operation> Plan(PendingCase pending, ref int contentId)
        {
            var write = pending.Write;
            var incident = write.LocalCaseId is not null
                ? "incidents(" + Guid.Parse(write.LocalCaseId).ToString("D") + ")"
                : "incidents(" + AlternateKey + "='" + Uri.EscapeDataString(write.PartnerCaseId.Replace("'", "''")) + "')";
            var url = new Uri(Root, ApiPath + incident).AbsoluteUri;
            var plan = new List<Operation>();
            if (pending.Reopen && !pending.Create)
            {
                plan.Add(new Operation(Step.Reopen, ++contentId, "PATCH", url, "If-Match", StateJson(0, ActiveStatus)));
            }

            plan.Add(pending.Create
                ? new Operation(Step.Create, ++contentId, "PATCH", url, "If-None-Match", Json(pending.Values, withCustomer: true))
                : new Operation(Step.Update, ++contentId, "PATCH", url, "If-Match", Json(pending.Values, withCustomer: false)));
            if (pending.Target is { Closes: true } target)
            {
                plan.Add(target.State == ResolvedState
                    ? new Operation(Step.Close, ++contentId, "POST", new Uri(Root, ApiPath + "CloseIncident").AbsoluteUri, null, CloseIncidentJson("/" + incident, target.Status, write.PartnerCaseId))
                    : new Operation(Step.Close, ++contentId, "PATCH", url, "If-Match", StateJson(target.State, target.Status)));
            }

            return plan;
        }

        // The published $batch shape: a multipart/mixed body; per case a change set (multipart/mixed) of application/http parts,
        // each with Content-Transfer-Encoding: binary and a Content-ID unique in the batch.
        private static string BatchBody(string boundary, List<List<Operation>> plans)
        {
            var text = new StringBuilder();
            foreach (var plan in plans)
            {
                var changeSet = "changeset_" + Guid.NewGuid().ToString("D");
                text.Append("--").Append(boundary).Append("\r\nContent-Type: multipart/mixed; boundary=").Append(changeSet).Append("\r\n\r\n");
                foreach (var operation in plan)
                {
                    text.Append("--").Append(changeSet).Append("\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: ")
                        .Append(operation.ContentId.ToString(CultureInfo.InvariantCulture)).Append("\r\n\r\n")
                        .Append(operation.Method).Append(' ').Append(operation.Url).Append(" HTTP/1.1\r\nContent-Type: application/json\r\n");
                    if (operation.Condition is not null)
                    {
                        text.Append(operation.Condition).Append(": *\r\n");
                    }

                    if (operation.Step == Step.Update || operation.Step == Step.Create)
                    {
                        text.Append("Prefer: return=representation\r\n");
                    }

                    text.Append("\r\n").Append(operation.Body).Append("\r\n");
                }

                text.Append("--").Append(changeSet).Append("--\r\n");
            }

            return text.Append("--").Append(boundary).Append("--\r\n").ToString();
        }

        private HttpRequestMessage BatchRequest(string boundary, string body)
        {
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/mixed; boundary=" + boundary);
            var request = WithOData(new HttpRequestMessage(HttpMethod.Post, new Uri(Root, ApiPath + "$batch")) { Content = content });

            // Outside change sets: a refused case's change set does not stop the ones after it.
            request.Headers.TryAddWithoutValidation("Prefer", "odata.continue-on-error");
            return request;
        }

        /// <summary>A $batch answer: per top-level part (a case's change set) its answers, in order.</summary>
        private List<List<PartAnswer>> ReadBatch(WriterChannel.Answer answer, string what)
        {
            var boundary = Boundary(answer.ContentType) ?? throw _channel.Malformed(what, "it is not multipart/mixed");
            var changeSets = new List<List<PartAnswer>>();
            foreach (var (headers, content) in Parts(answer.Body, boundary))
            {
                var inner = Boundary(headers.TryGetValue("content-type", out var type) ? type : null);
                changeSets.Add(inner is null
                    ? new List<PartAnswer> { Response(headers, content, what) }
                    : Parts(content, inner).Select(p => Response(p.Headers, p.Content, what)).ToList());
            }

            return changeSets;
        }

        private static string? Boundary(string? contentType)
        {
            if (contentType is null || !contentType.TrimStart().StartsWith("multipart/mixed", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            var parameter = contentType.Split(';').Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("boundary=", StringComparison.OrdinalIgnoreCase));
            return parameter?.Substring("boundary=".Length).Trim('"');
        }

        /// <summary>The parts of a multipart body: each part's headers (lower-case names) and content.</summary>
        private static List<(Dictionary<string, string> Headers, string Content)> Parts(string body, string boundary)
        {
            var parts = new List<(Dictionary<string, string>, string)>();
            var chunks = body.Replace("\r\n", "\n").Split(new[] { "--" + boundary }, StringSplitOptions.None);
            foreach (var chunk in chunks.Skip(1))
            {
                if (chunk.StartsWith("--", StringComparison.Ordinal))
                {
                    break;
                }

                var (headers, content) = Head(chunk.TrimStart('\n'));
                parts.Add((headers, content.TrimEnd('\n')));
            }

            return parts;
        }

        private static (Dictionary<string, string> Headers, string Remainder) Head(string text)
        {
            var end = text.IndexOf("\n\n", StringComparison.Ordinal);
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in (end < 0 ? text : text.Substring(0, end)).Split('\n'))
            {
                var colon = line.IndexOf(':');
                if (colon > 0)
                {
                    headers[line.Substring(0, colon).Trim().ToLowerInvariant()] = line.Substring(colon + 1).Trim();
                }
            }

            return (headers, end < 0 ? string.Empty : text.Substring(end + 2));
        }

        /// <summary>An application/http part of the answer: "HTTP/1.1 204 No Content", headers, body.</summary>
        private PartAnswer Response(Dictionary<string, string> partHeaders, string content, string what)
        {
            var newline = content.IndexOf('\n');
            var statusLine = (newline < 0 ? content : content.Substring(0, newline)).Split(' ');
            if (statusLine.Length < 2 || !statusLine[0].StartsWith("HTTP/", StringComparison.Ordinal) ||
                !int.TryParse(statusLine[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
            {
                throw _channel.Malformed(what, "a part has no HTTP status line");
            }

            var (headers, body) = Head(newline < 0 ? string.Empty : content.Substring(newline + 1));
            var entityId = headers.TryGetValue("odata-entityid", out var id) ? id : headers.TryGetValue("location", out var location) ? location : null;
            var contentId = partHeaders.TryGetValue("content-id", out var cid) && int.TryParse(cid, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (int?)null;
            return new PartAnswer(contentId, new WriterChannel.Answer((HttpStatusCode)status, body.Trim(), entityId));
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

        private CaseWriteResult NoDefaultCustomer(CaseWrite write) => new CaseWriteResult(write.PartnerCaseId, null, false, new ConnectionToolsException(
            ErrorIds.SyncApplyNoDefaultCustomer,
            ErrorKind.InvalidOperation,
            $"Partner case '{write.PartnerCaseId}' is new to Dataverse, and the connection has no default customer to create it under (a case needs an account or a contact).",
            write.PartnerCaseId,
            "Name the customer new incidents are created under on the Dynamics 365 connection: Set-Connection -Name <connection> -DefaultCustomer 'accounts(<guid>)' (or contacts(<guid>)); the next sync creates the case."));

        /// <summary>A case of the call still to write, and how the next round writes it.</summary>
        private sealed class PendingCase
        {
            public PendingCase(int index, CaseWrite write, List<KeyValuePair<string, object?>> values, StatusTarget? target)
            {
                Index = index;
                Write = write;
                Values = values;
                Target = target;

                // A case going to a closed state reopens first, so its fields can be written whatever state it is in now.
                Reopen = target is { Closes: true };
            }

            public int Index { get; }

            public CaseWrite Write { get; }

            public List<KeyValuePair<string, object?>> Values { get; }

            public StatusTarget? Target { get; }

            public bool Create { get; set; }

            public bool Reopen { get; set; }
        }

        private sealed class Operation
        {
            public Operation(Step step, int contentId, string method, string url, string? condition, string body)
            {
                Step = step;
                ContentId = contentId;
                Method = method;
                Url = url;
                Condition = condition;
                Body = body;
            }

            public Step Step { get; }

            public int ContentId { get; }

            public string Method { get; }

            public string Url { get; }

            /// <summary>If-Match or If-None-Match (with *), or null.</summary>
            public string? Condition { get; }

            public string Body { get; }
        }

        private sealed class PartAnswer
        {
            public PartAnswer(int? contentId, WriterChannel.Answer answer)
            {
                ContentId = contentId;
                Answer = answer;
            }

            public int? ContentId { get; }

            public WriterChannel.Answer Answer { get; }
        }
    }
}
