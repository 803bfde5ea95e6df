using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Sync.Apply;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Sync
{
    /// <summary>
    /// What one incoming event makes of a case: the incoming rule's result, merged three ways with what this side holds
    /// against what both sides last agreed on, and the comments it adds.
    /// </summary>
    public static partial class IncomingApply
    {
        /// <summary>
        /// Runs the incoming rule on one event and works out what to write: the neutral fields where the partner's value wins the
        /// merge (on a case's first sync, every field the rule set) and the comments it added. <paramref name="own"/> is what this
        /// side kept of its own case when the partner's event is about its copy of it and no twin exists yet.
        /// </summary>
        private static Planned Plan(ConnectionNode node, Connection connection, (CompiledRule? Rule, ConnectionToolsException? Problem) rule, IncomingToApply e, SyncTwinRows.Twin? twin, (string State, string Versions)? own)
        {
            var planned = new Planned(e.EventId, e.CaseId) { Twin = twin };

            // The partner's case was made from one of ours (its event names our case): not a first sync, and not a new case here.
            var ours = planned.Twin is null ? e.TwinCaseId : null;
            var firstSync = planned.Twin is null && ours is null;
            var before = planned.Twin?.Entity ?? EmptyEntity;
            string after;
            try
            {
                after = RuleSandbox.RunIncoming(rule.Rule ?? throw rule.Problem!, before, e.Replica, firstSync, e.CaseId);
            }
            catch (ConnectionToolsException error)
            {
                planned.Error = error;
                return planned;
            }

            var old = JsonNode.Parse(before) as JsonObject ?? new JsonObject();
            var now = JsonNode.Parse(after) as JsonObject ?? new JsonObject();
            var local = JsonNode.Parse(planned.Twin?.Expected ?? own?.State ?? "{}") as JsonObject ?? new JsonObject();
            var mine = FieldVersions.Parse(planned.Twin?.Versions ?? own?.Versions);
            var theirs = e.PartnerVersions is null ? null : FieldVersions.Parse(e.PartnerVersions).Flipped();
            planned.Ours = planned.Twin?.Ours ?? ours != null;
            var versions = mine;
            var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var name in NeutralFields)
            {
                // What the rule makes of the partner's case now, against what it made last time: a field it left as it was is no
                // new value of the partner's, whatever its version (a rule that never sets a field leaves it null, which must not
                // be written over ours).
                var wanted = CaseEntities.Text(now, name);
                var unchanged = planned.Twin is null ? wanted is null : string.Equals(wanted, CaseEntities.Text(old, name), StringComparison.Ordinal);

                // An event from a sender before store V14 carries no versions: a field its rule output changed is a change of the
                // partner's that has seen none of ours, so it replaces a field this side never changed and meets one it did as a
                // conflict (the later change wins, by the case's change time).
                var have = mine[name];
                var their = theirs?[name] ?? (unchanged ? have : new FieldVersion(0, have.Theirs + 1, e.ChangedAt ?? 0, byUs: false));
                var (partnerWins, merged) = FieldVersions.Decide(name, have, their, planned.Ours, node.Store.NodeId, connection.PeerNodeId ?? Guid.Empty);
                if (partnerWins && unchanged)
                {
                    (partnerWins, merged) = (false, have.JoinedWith(their));
                }

                versions = versions.With(name, merged);
                if (partnerWins && !string.Equals(wanted, CaseEntities.Text(local, name), StringComparison.Ordinal))
                {
                    fields[name] = wanted;
                }
            }

            var added = NewComments(old, now);
            var comments = added.Select(CommentBody).Where(body => body.Length > 0).ToList();
            var expected = local;
            foreach (var field in fields)
            {
                expected[field.Key] = field.Value;
            }

            planned.Versions = versions.ToJson();
            planned.Before = old;
            planned.Added = added;
            planned.Entity = now.ToJsonString();
            planned.Expected = expected.ToJsonString();
            if (planned.Twin is null || fields.Count > 0 || comments.Count > 0)
            {
                planned.Write = new CaseWrite(e.CaseId, fields, comments, ours);
            }

            return planned;
        }

        private const string EmptyEntity = "{\"id\":null,\"key\":null,\"summary\":null,\"description\":null,\"status\":null,\"priority\":null,\"comments\":[],\"fields\":{}}";

        /// <summary>Comments the rule added (by author and body, as commentHelper.mergeComments compares them), oldest first.</summary>
        private static List<JsonNode> NewComments(JsonObject before, JsonObject after)
        {
            var known = new HashSet<string>((before["comments"] as JsonArray ?? new JsonArray()).Select(OutgoingEvents.CommentKey), StringComparer.Ordinal);
            return (after["comments"] as JsonArray ?? new JsonArray())
                .Where(c => c != null && CommentBody(c).Length > 0 && known.Add(OutgoingEvents.CommentKey(c)))
                .Select(c => c!)
                .ToList();
        }

        /// <summary>A comment as the system stores it: its body, after its author's name (comments carry no custom fields).</summary>
        private static string CommentBody(JsonNode comment) =>
            string.IsNullOrEmpty(comment["author"]?.ToString()) ? comment["body"]?.ToString() ?? "" : $"{comment["author"]}: {comment["body"]}";

        private sealed class Planned
        {
            public Planned(Guid eventId, string caseId)
            {
                EventId = eventId;
                CaseId = caseId;
            }

            public Guid EventId { get; }

            public string CaseId { get; }

            public SyncTwinRows.Twin? Twin { get; set; }

            public ConnectionToolsException? Error { get; set; }

            public string? Entity { get; set; }

            public string? Expected { get; set; }

            /// <summary>The versions of the case's fields after this apply (see <see cref="FieldVersions"/>).</summary>
            public string? Versions { get; set; }

            public bool Ours { get; set; }

            public CaseWrite? Write { get; set; }

            public CaseWriteResult? Outcome { get; set; }

            public JsonObject? Before { get; set; }

            public List<JsonNode> Added { get; set; } = new List<JsonNode>();

            /// <summary>Whether an earlier attempt at this case left comment writes uncertain (read before writing).</summary>
            public bool Uncertain { get; set; }

            /// <summary>Indexes of the new comments found already in the system by <see cref="ReconcileAsync"/>: added, not sent.</summary>
            public List<int> AlreadyThere { get; } = new List<int>();

            /// <summary>Indexes of the new comments the write sends, in order; null when it sends them all.</summary>
            public List<int>? Sent { get; set; }

            /// <summary>Indexes of the new comments in the system once the first <paramref name="appended"/> sent ones were added.</summary>
            private HashSet<int> AddedIndexes(int appended) => new HashSet<int>(
                AlreadyThere.Concat((Sent ?? Enumerable.Range(0, Added.Count).ToList()).Take(appended)));

            /// <summary>The case after the rule, with only the new comments that were added (the first <paramref name="appended"/> sent).</summary>
            public string EntityWithComments(int appended)
            {
                var entity = (JsonNode.Parse(Entity!) as JsonObject)!;
                var added = AddedIndexes(appended);
                var comments = new JsonArray();
                foreach (var c in (Before?["comments"] as JsonArray ?? new JsonArray()).Concat(Added.Where((_, i) => added.Contains(i))))
                {
                    comments.Add(c?.DeepClone());
                }

                entity["comments"] = comments;
                return entity.ToJsonString();
            }

            /// <summary>
            /// The twin's written comments after this apply (JSON array): those written before, and the bodies of this apply's new
            /// comments that are in the system (the first <paramref name="appended"/> sent ones, and those found already there).
            /// </summary>
            public string WrittenComments(int appended)
            {
                var added = AddedIndexes(appended);
                var all = new JsonArray(Bodies(Twin?.WrittenComments).Select(b => (JsonNode?)JsonValue.Create(b)).ToArray());
                for (var i = 0; i < Added.Count; i++)
                {
                    if (added.Contains(i))
                    {
                        all.Add(JsonValue.Create(CommentBody(Added[i])));
                    }
                }

                return all.ToJsonString();
            }
        }
    }
}
