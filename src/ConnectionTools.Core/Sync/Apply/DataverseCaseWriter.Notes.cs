using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>A case's comments as Dataverse notes (annotations): appended one at a time after the upserts, and read back.</summary>
    public sealed partial class DataverseCaseWriter
    {
        /// <summary>Notes per page when reading a case's comments (Dataverse answers at most 5000).</summary>
        public const int NotesPageSize = 500;

        /// <inheritdoc/>
        public async Task<IReadOnlyList<string>> CommentBodiesAsync(string localCaseId, CancellationToken cancellationToken)
        {
            if (!Guid.TryParse(localCaseId, out var id))
            {
                throw new ArgumentException($"'{localCaseId}' is not an incident id.", nameof(localCaseId));
            }

            var what = $"the comments of case {id:D}";
            var filter = Uri.EscapeDataString($"_objectid_value eq {id:D} and objecttypecode eq 'incident'");
            var url = new Uri(Root, ApiPath + "annotations?$select=notetext,createdon&$filter=" + filter + "&$orderby=" + Uri.EscapeDataString("createdon asc"));
            var bodies = new List<string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                var page = url;
                var answer = await _channel.SendAsync(
                    _ =>
                    {
                        var request = WithOData(new HttpRequestMessage(HttpMethod.Get, page));
                        request.Headers.TryAddWithoutValidation("Prefer", "odata.maxpagesize=" + NotesPageSize.ToString(CultureInfo.InvariantCulture));
                        return request;
                    },
                    what,
                    idempotent: true,
                    cancellationToken).ConfigureAwait(false);
                if (!answer.IsSuccess)
                {
                    var (code, message) = ReadError(answer.Body);
                    throw _channel.Failed(what, answer.Status, code, message is null ? null : WriterChannel.Clip(message));
                }

                var next = ReadNotes(answer.Body, bodies, what);
                if (next is null)
                {
                    return bodies;
                }

                // The token goes to the environment only, and a link that repeats would never end.
                if (!Uri.TryCreate(next, UriKind.Absolute, out var link) || Uri.Compare(link, Root, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0 ||
                    !seen.Add(link.AbsoluteUri))
                {
                    throw _channel.Malformed(what, "its @odata.nextLink is not a new link into the environment");
                }

                url = link;
            }
        }

        /// <summary>Adds a page's note texts to <paramref name="bodies"/>; returns its @odata.nextLink, or null on the last page.</summary>
        private string? ReadNotes(string body, List<string> bodies, string what)
        {
            try
            {
                using (var document = JsonDocument.Parse(body))
                {
                    var root = document.RootElement;
                    if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("value", out var notes) || notes.ValueKind != JsonValueKind.Array)
                    {
                        throw _channel.Malformed(what, "it has no 'value' array");
                    }

                    foreach (var note in notes.EnumerateArray())
                    {
                        // A note without text (an attachment, say) counts as an empty comment, so positions still line up.
                        bodies.Add(note.ValueKind == JsonValueKind.Object && note.TryGetProperty("notetext", out var text) && text.ValueKind == JsonValueKind.String
                            ? text.GetString()!
                            : string.Empty);
                    }

                    return root.TryGetProperty("@odata.nextLink", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
                }
            }
            catch (JsonException)
            {
                throw _channel.Malformed(what, "it is not valid JSON");
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
    }
}
