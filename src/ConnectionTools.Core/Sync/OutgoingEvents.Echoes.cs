using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Sync
{
    /// <summary>How the retrieval job tells this node's own writes of partner cases, coming back, from a person's changes.</summary>
    public static partial class OutgoingEvents
    {
        /// <summary>
        /// Whether a twinned case was read before this node's last apply to it committed, in the state it had before that write:
        /// the retrieval job read it while the apply ran. Sending it would take the partner's change back; the case's version
        /// after the write is newer than anything that read saw, so the job reads it again and decides then. A case a person
        /// changed is in neither state, and is sent. A twin the apply just made has no state before it (the apply wrote every
        /// field the partner's case has), so any read of it made before that apply committed is an old one.
        /// </summary>
        internal static bool IsReadBeforeApply(SyncTwinRows.Twin twin, string seen, long readFrom) =>
            twin.AppliedAt is long applied && readFrom < applied && (twin.PriorExpected is null || IsEcho(twin.PriorExpected, seen));

        /// <summary>
        /// The neutral fields of a case entity, as a JSON object: what an apply writes and what the echo check compares; with the
        /// case's comments (author and body) under "comments", so that a comment a person adds is a change the echo check sees.
        /// </summary>
        internal static string NeutralState(string entity)
        {
            var parsed = JsonNode.Parse(entity) as JsonObject ?? new JsonObject();
            var state = new JsonObject();
            foreach (var name in IncomingApply.NeutralFields)
            {
                state[name] = CaseEntities.Text(parsed, name);
            }

            state["comments"] = new JsonArray((parsed["comments"] as JsonArray ?? new JsonArray()).Select(c => (JsonNode?)JsonValue.Create(CommentKey(c))).ToArray());
            return state.ToJsonString();
        }

        /// <summary>A comment's author and body, as the rules' commentHelper.mergeComments tells comments apart.</summary>
        internal static string CommentKey(JsonNode? comment) =>
            (comment?["author"]?.ToString() ?? "") + "\u0000" + (comment?["body"]?.ToString() ?? "");

        /// <summary>
        /// The case without the comments this node's applies wrote into it (<paramref name="written"/>, a JSON array of bodies): each
        /// written body takes away one comment with that body, oldest first, so a person's comment that happens to repeat one stays.
        /// </summary>
        internal static string WithoutWrittenComments(string entity, string written)
        {
            var bodies = IncomingApply.Bodies(written);
            if (bodies.Count == 0 || !(JsonNode.Parse(entity) is JsonObject parsed) || !(parsed["comments"] is JsonArray comments))
            {
                return entity;
            }

            var left = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var body in bodies)
            {
                left[body] = left.TryGetValue(body, out var n) ? n + 1 : 1;
            }

            var kept = new JsonArray();
            foreach (var comment in comments)
            {
                var body = comment?["body"]?.ToString() ?? "";
                if (left.TryGetValue(body, out var n) && n > 0)
                {
                    left[body] = n - 1;
                    continue;
                }

                kept.Add(comment?.DeepClone());
            }

            parsed["comments"] = kept;
            return parsed.ToJsonString();
        }

        /// <summary>
        /// Whether a twinned case, read back by the retrieval job, is in the state this node's last apply left it: every field the
        /// twin knows (a field never read back since the case was created is not known) has the value the apply expected, and it
        /// has no comment the twin did not know. A person's later change of any known field, or new comment, is not an echo, and is sent.
        /// </summary>
        internal static bool IsEcho(string expected, string seen)
        {
            var want = JsonNode.Parse(expected) as JsonObject;
            var got = JsonNode.Parse(seen) as JsonObject;
            if (want is null || got is null)
            {
                return false;
            }

            // Comments are append-only: a comment that was not there when the retrieval job last read the case (nor written by
            // this node, which the caller took out already) is a person's, and the case is sent. A twin whose case was never read
            // back knows no comments.
            var known = new HashSet<string>((want["comments"] as JsonArray ?? new JsonArray()).Select(c => c?.ToString() ?? ""), StringComparer.Ordinal);
            if ((got["comments"] as JsonArray ?? new JsonArray()).Any(c => !known.Contains(c?.ToString() ?? "")))
            {
                return false;
            }

            foreach (var field in want)
            {
                var value = CaseEntities.Text(want, field.Key);
                if (value != null && !string.Equals(value, CaseEntities.Text(got, field.Key), StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
