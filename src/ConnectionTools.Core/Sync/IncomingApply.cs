using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Sync.Apply;
using ConnectionTools.SyncRules;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Sync
{
    /// <summary>What one apply pass did for one private connection.</summary>
    public sealed class ApplyResult
    {
        public int Applied { get; internal set; }

        public int Failed { get; internal set; }

        /// <summary>Why nothing was applied (Paused, the system Inactive, no system), or null.</summary>
        public string? Skipped { get; internal set; }
    }

    /// <summary>
    /// Applies a private connection's incoming events to its bound system: per case one event at a time, in sequence, through the
    /// connection's incoming rule, then written by the system's own API keyed by the partner's case id (so a write repeated after a
    /// crash updates the same case). The write's outcome and the twin are stored in one transaction per batch: an applied event is
    /// deleted, a refused one is Failed with the system's message and the case's later events wait behind it. Nothing is applied
    /// while either side is Paused or the bound system is Inactive (its events are Held then).
    /// </summary>
    public static class IncomingApply
    {
        /// <summary>The fields every case has on both systems, in the shape the rules use.</summary>
        internal static readonly string[] NeutralFields = { "summary", "description", "status", "priority" };

        /// <summary>
        /// One apply pass over every public-side private connection of the node (the public node host runs it on its job poll;
        /// the private side applies after each of its sync rounds). A connection whose apply fails is reported and the others go on.
        /// </summary>
        public static async Task RunPublicSideAsync(ConnectionNode node, Action<string> verbose, Action<Connection, ConnectionToolsException> failed, CancellationToken cancellationToken)
        {
            var connections = node.Store.List(new ConnectionFilter { Types = new[] { ConnectionType.Private }, Statuses = new[] { ConnectionStatus.Active } })
                .Where(c => c.Side == PrivateConnectionSide.Public && c.SystemConnectionId != null)
                .ToList();
            foreach (var connection in connections)
            {
                try
                {
                    await RunAsync(node, connection, access => CaseWriters.For(node, access), verbose, cancellationToken).ConfigureAwait(false);
                }
                catch (ConnectionToolsException e) when (!Hosting.PerItem.IsStoreWide(e))
                {
                    failed(connection, e);
                }
            }
        }

        internal static async Task<ApplyResult> RunAsync(ConnectionNode node, Connection connection, Func<SystemAccess, ICaseWriter> writerFor, Action<string> verbose, CancellationToken cancellationToken)
        {
            var result = new ApplyResult();
            var current = node.Store.Find(connection.Id) ?? connection;
            var system = current.SystemConnectionId is Guid systemId ? node.Store.Find(systemId) : null;
            result.Skipped = current.Status != ConnectionStatus.Active || current.PeerStatus == ConnectionStatus.Paused ? $"'{current.Name}' or its partner is not Active"
                : system is null || system.Status == ConnectionStatus.Removed ? $"'{current.Name}' is not bound to a system connection"
                : system.Status != ConnectionStatus.Active ? $"its system '{system.Name}' is {system.Status}"
                : null;
            if (result.Skipped != null || node.Store.Read(db => SyncEventRows.NextToApply(db, current.Id, 1)).Count == 0)
            {
                return result;
            }

            // Only when there is something to apply: whether a grant is stored (SystemAccess reads and unprotects it).
            if (node.Store.Read(db => GrantRows.Find(db, system!.Id)) is null)
            {
                result.Skipped = $"its system '{system!.Name}' has no grant (authorize it: Update-ConnectionAuthorization -Name '{system.Name}')";
                return result;
            }

            // One process applies a connection's events at a time (the node host and an admin's Sync-Connection may share a store):
            // two would both write the same batch, and comments are not idempotent.
            var owner = ClaimOwner + "|" + Guid.NewGuid().ToString("N");
            if (!Claim(node, current.Id, owner))
            {
                result.Skipped = "another process is applying its incoming events";
                return result;
            }

            try
            {
                await ApplyAsync(node, current, system!, owner, writerFor, verbose, result, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                node.Store.Write(tx =>
                {
                    SyncTwinRows.ReleaseApply(tx, current.Id, owner);
                    return 0;
                });
            }

            return result;
        }

        private static readonly string ClaimOwner = ProcessClaims.Current;

        /// <summary>Long enough for a batch's writes with their retries; renewed before every batch.</summary>
        private static readonly TimeSpan ClaimLease = TimeSpan.FromMinutes(5);

        /// <summary>Takes the claim, also from a process that ended holding it (killed mid-pass), without waiting for its lease.</summary>
        private static bool Claim(ConnectionNode node, Guid connectionId, string owner) =>
            node.Store.Write(tx => SyncTwinRows.TryClaimApply(tx, connectionId, owner, node.Clock(), ClaimLease) ||
                (ProcessClaims.Holder(tx, ConnectionStore.FormatId(connectionId)) is string held && ProcessClaims.HolderGone(held) &&
                 ProcessClaims.TakeOver(tx, ConnectionStore.FormatId(connectionId), held, owner, node.Clock() + ClaimLease)));

        private static async Task ApplyAsync(ConnectionNode node, Connection current, Connection system, string owner, Func<SystemAccess, ICaseWriter> writerFor, Action<string> verbose, ApplyResult result, CancellationToken cancellationToken)
        {
            var rule = OutgoingEvents.RuleFor(node, current, SyncDirection.Incoming);
            var access = await SystemAccess.OpenAsync(node, system, verbose, _ => { }, cancellationToken).ConfigureAwait(false);
            var writer = writerFor(access);
            while (Claim(node, current.Id, owner))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var events = node.Store.Read(db => SyncEventRows.NextToApply(db, current.Id, writer.MaxBatch));
                if (events.Count == 0)
                {
                    break;
                }

                // The batch's twins in one read, with whether an earlier attempt left comment writes uncertain; then the rule runs,
                // each case on its own (one event per case per batch), on all cores.
                var reader = writer as ICommentReader;
                var twins = node.Store.Read(db =>
                {
                    using var statements = db.KeepStatementsPrepared();
                    return events.Select(e => (Twin: SyncTwinRows.FindByPartner(db, current.Id, e.CaseId),
                        Uncertain: reader != null && SyncTwinRows.CommentWritesUncertain(db, current.Id, e.CaseId))).ToList();
                });
                var plans = new Planned[events.Count];
                Parallel.For(0, events.Count, i => plans[i] = Plan(node, current, rule, events[i], twins[i].Twin));
                var planned = plans.ToList();
                for (var i = 0; i < planned.Count; i++)
                {
                    planned[i].Uncertain = twins[i].Uncertain;
                }

                // Only the cases an earlier attempt left uncertain read their comments back: one query each, rarely needed.
                foreach (var p in planned.Where(p => p.Uncertain && p.Write != null && p.Write.NewComments.Count > 0))
                {
                    await ReconcileAsync(p, writer, reader!, cancellationToken).ConfigureAwait(false);
                }

                var writes = planned.Where(p => p.Write != null && p.Outcome is null).ToList();
                if (reader != null && writes.Any(p => p.Write!.NewComments.Count > 0))
                {
                    // Before any comment is sent: if the process dies between the write and the commit below, the next attempt knows
                    // to read the case's comments first.
                    var started = node.Clock();
                    node.Store.Write(tx =>
                    {
                        foreach (var p in writes.Where(p => p.Write!.NewComments.Count > 0))
                        {
                            SyncTwinRows.StartCommentWrites(tx, current.Id, p.CaseId, new JsonArray(p.Write!.NewComments.Select(b => (JsonNode?)JsonValue.Create(b)).ToArray()).ToJsonString(), started);
                        }

                        return 0;
                    });
                }

                var outcomes = writes.Count == 0
                    ? Array.Empty<CaseWriteResult>()
                    : await writer.WriteAsync(writes.Select(p => p.Write!).ToList(), cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < writes.Count; i++)
                {
                    writes[i].Outcome = outcomes[i];
                }

                var now = node.Clock();
                node.Store.Write(tx =>
                {
                    using var statements = tx.KeepStatementsPrepared();
                    foreach (var p in planned)
                    {
                        var error = p.Error ?? p.Outcome?.Error;
                        if (error != null)
                        {
                            if (p.Outcome?.LocalCaseId is string written)
                            {
                                // The case was written but a comment failed: the twin keeps the comments that were added, so a
                                // retry sends only the rest (comments are not idempotent). A comment without a clear answer may have
                                // been added: when the system can list a case's comments, the retry reads them and adds it only if
                                // it is not there; otherwise it counts as added, so it is never sent twice.
                                var unclear = error.Kind == ErrorKind.ConnectionError;
                                var appended = (error.Data[CaseWriteChecks.CommentsAppendedKey] as int? ?? 0) + (unclear && reader is null ? 1 : 0);
                                SyncTwinRows.Save(tx, current.Id, p.CaseId, written, p.EntityWithComments(appended), p.Expected!, p.Agreed!, p.Ours, now, p.WrittenComments(appended));
                                if (!unclear || reader is null)
                                {
                                    SyncTwinRows.EndCommentWrites(tx, current.Id, p.CaseId);
                                }
                            }
                            else if (!p.Uncertain)
                            {
                                // Refused before any comment was sent: nothing of this attempt is uncertain.
                                SyncTwinRows.EndCommentWrites(tx, current.Id, p.CaseId);
                            }

                            SyncEventRows.ApplyFailed(tx, current.Id, p.EventId, error.ErrorId, error.Message, now);
                            result.Failed++;
                            continue;
                        }

                        var local = p.Outcome?.LocalCaseId ?? p.Twin?.LocalCaseId;
                        if (local != null)
                        {
                            SyncTwinRows.Save(tx, current.Id, p.CaseId, local, p.Entity!, p.Expected!, p.Agreed!, p.Ours, now, p.WrittenComments(int.MaxValue));
                        }

                        SyncTwinRows.EndCommentWrites(tx, current.Id, p.CaseId);
                        SyncEventRows.Applied(tx, current.Id, p.EventId);
                        result.Applied++;
                    }

                    return 0;
                });
                verbose($"'{current.Name}': applied {planned.Count(p => p.Error == null && p.Outcome?.Error == null)} incoming sync event(s) to '{system.Name}'.");
                if (events.Count < writer.MaxBatch)
                {
                    break;
                }
            }
        }

        /// <summary>
        /// An earlier attempt at this case may have appended some of these comments without recording it (the process stopped
        /// between the write and the commit, or a comment got no clear answer). Reads the case's comments and leaves out of the
        /// write those already there beyond the ones this node is known to have written: comments carry no key to upsert on, so
        /// this read is what keeps them exactly once. A case not yet known here is written first without comments to learn its
        /// id (the upsert by the partner's case id is idempotent).
        /// </summary>
        private static async Task ReconcileAsync(Planned p, ICaseWriter writer, ICommentReader reader, CancellationToken cancellationToken)
        {
            var write = p.Write!;
            var localId = p.Twin?.LocalCaseId ?? write.LocalCaseId;
            if (localId is null)
            {
                var first = (await writer.WriteAsync(new[] { new CaseWrite(write.PartnerCaseId, write.Fields, null, write.LocalCaseId) }, cancellationToken).ConfigureAwait(false))[0];
                if (first.Error != null || first.LocalCaseId is null)
                {
                    p.Outcome = first;
                    return;
                }

                localId = first.LocalCaseId;
            }

            var there = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var body in await reader.CommentBodiesAsync(localId, cancellationToken).ConfigureAwait(false))
            {
                there[body] = there.TryGetValue(body, out var n) ? n + 1 : 1;
            }

            foreach (var body in Bodies(p.Twin?.WrittenComments))
            {
                // Those recorded as written are accounted for: only a surplus of a body is an unrecorded write.
                if (there.TryGetValue(body, out var n) && n > 0)
                {
                    there[body] = n - 1;
                }
            }

            var send = new List<int>();
            for (var i = 0; i < write.NewComments.Count; i++)
            {
                if (there.TryGetValue(write.NewComments[i], out var n) && n > 0)
                {
                    there[write.NewComments[i]] = n - 1;
                    p.AlreadyThere.Add(i);
                }
                else
                {
                    send.Add(i);
                }
            }

            p.Write = new CaseWrite(write.PartnerCaseId, write.Fields, send.Select(i => write.NewComments[i]).ToList(), write.LocalCaseId);
            p.Sent = send;
        }

        /// <summary>The strings of a JSON array of strings (a twin's written comments); empty for null or anything else.</summary>
        internal static List<string> Bodies(string? json)
        {
            var list = new List<string>();
            if (json != null && JsonNode.Parse(json) is JsonArray array)
            {
                foreach (var item in array)
                {
                    if (item is JsonValue value && value.TryGetValue<string>(out var text))
                    {
                        list.Add(text);
                    }
                }
            }

            return list;
        }

        /// <summary>
        /// Runs the incoming rule on one event and works out what to write: the neutral fields the rule changed (on a case's first
        /// sync, every field it set) and the comments it added.
        /// </summary>
        private static Planned Plan(ConnectionNode node, Connection connection, (CompiledRule? Rule, ConnectionToolsException? Problem) rule, IncomingToApply e, SyncTwinRows.Twin? twin)
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
            var local = JsonNode.Parse(planned.Twin?.Expected ?? "{}") as JsonObject ?? new JsonObject();
            var agreed = JsonNode.Parse(planned.Twin?.Base ?? "{}") as JsonObject ?? new JsonObject();
            var partnerAgreed = e.PartnerAgreed is null ? null : JsonNode.Parse(e.PartnerAgreed) as JsonObject;
            var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var name in NeutralFields)
            {
                // What the rule makes of the partner's case now, against what it made last time: a field it left as it was is
                // no change of the partner's (a rule that never sets a field leaves it null, which must not be written).
                var wanted = CaseEntities.Text(now, name);
                var keep = planned.Twin is null
                    ? wanted is null
                    : string.Equals(wanted, CaseEntities.Text(old, name), StringComparison.Ordinal) ||
                      !PartnerWins(name, wanted, CaseEntities.Text(local, name), CaseEntities.Text(agreed, name), planned.Twin, e.ChangedAt, node.Store.NodeId, connection.PeerNodeId,
                          partnerAgreed is null ? null : CaseEntities.Text(partnerAgreed, name));
                if (!keep)
                {
                    fields[name] = wanted;
                }

                // Agreed is what both sides hold: what was written, or what the partner's case and ours already share. A field one
                // side changed stays as last agreed until the other holds the same value.
                if (!keep || (wanted != null && string.Equals(wanted, CaseEntities.Text(local, name), StringComparison.Ordinal)))
                {
                    agreed[name] = wanted;
                }
            }
            var added = NewComments(old, now);
            var comments = added.Select(CommentBody).Where(body => body.Length > 0).ToList();
            var expected = local;
            foreach (var field in fields)
            {
                expected[field.Key] = field.Value;
            }

            planned.Agreed = agreed.ToJsonString();
            planned.Ours = planned.Twin?.Ours ?? ours != null;

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

        /// <summary>
        /// The three-way merge of one field of a twinned case, against the state both sides last agreed on: a field only the
        /// partner changed takes its value; one only this side changed keeps ours; one both changed follows the rules: the summary
        /// stays with the side that made the case, any other field takes the later change, ties broken by the higher node id. Both
        /// sides decide alike, so they end with the same value whichever applies first.
        /// The partner's own last agreed value (<paramref name="partnerAgreed"/>, sent with its event) is the newer agreement when
        /// this side still holds it: this side's write of the partner's change came back here as an echo and was never sent back,
        /// so only the partner saw that both sides agreed on it.
        /// </summary>
        internal static bool PartnerWins(string field, string? wanted, string? have, string? agreed, SyncTwinRows.Twin twin, long? partnerChangedAt, Guid ourNode, Guid? partnerNode, string? partnerAgreed = null)
        {
            if (partnerAgreed != null && string.Equals(have, partnerAgreed, StringComparison.Ordinal))
            {
                agreed = partnerAgreed;
            }

            if (string.Equals(wanted, have, StringComparison.Ordinal) || string.Equals(wanted, agreed, StringComparison.Ordinal))
            {
                return false; // nothing to change, or the partner did not change it
            }

            if (have is null || string.Equals(have, agreed, StringComparison.Ordinal))
            {
                return true; // only the partner changed it (or this side's value is not known yet)
            }

            if (field == "summary")
            {
                return !twin.Ours;
            }

            var theirs = partnerChangedAt ?? 0;
            var mine = twin.LocalChangedAt ?? 0;
            return theirs != mine
                ? theirs > mine
                : string.CompareOrdinal((partnerNode ?? Guid.Empty).ToString("N"), ourNode.ToString("N")) > 0;
        }

        private const string EmptyEntity = "{\"id\":null,\"key\":null,\"summary\":null,\"description\":null,\"status\":null,\"priority\":null,\"comments\":[],\"fields\":{}}";

        /// <summary>Comments the rule added (by author and body, as commentHelper.mergeComments compares them), oldest first.</summary>
        private static List<JsonNode> NewComments(JsonObject before, JsonObject after)
        {
            static string Key(JsonNode? c) => (c?["author"]?.ToString() ?? "") + "\u0000" + (c?["body"]?.ToString() ?? "");
            var known = new HashSet<string>((before["comments"] as JsonArray ?? new JsonArray()).Select(Key), StringComparer.Ordinal);
            return (after["comments"] as JsonArray ?? new JsonArray())
                .Where(c => c != null && CommentBody(c).Length > 0 && known.Add(Key(c)))
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

            /// <summary>The state both sides agree on after this apply (the twin's base).</summary>
            public string? Agreed { get; set; }

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
