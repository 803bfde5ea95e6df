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
    public static partial class IncomingApply
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

            // Each batch claims its cases (the node hosts of one store and an admin's Sync-Connection may apply at once): two applies
            // never write one case, whose events stay in order, and comments are not idempotent. Different cases spread over them.
            var owner = ClaimOwner + "|" + Guid.NewGuid().ToString("N");
            try
            {
                await ApplyAsync(node, current, system!, owner, writerFor, verbose, result, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                node.Store.Write(tx =>
                {
                    SyncTwinRows.ReleaseCases(tx, current.Id, owner);
                    return 0;
                });
            }

            if (result.Applied + result.Failed == 0 && node.Store.Read(db => SyncEventRows.NextToApply(db, current.Id, 1)).Count > 0)
            {
                result.Skipped = "another process is applying its incoming events";
            }

            return result;
        }

        private static readonly string ClaimOwner = ProcessClaims.Current;

        /// <summary>Long enough for a batch's writes with their retries; each batch claims its cases anew.</summary>
        private static readonly TimeSpan ClaimLease = TimeSpan.FromMinutes(5);

        /// <summary>
        /// The next batch's events, of cases no other apply holds, claimed for this one in the same transaction. Claims left by an
        /// apply whose process ended (killed mid-batch) or whose lease ran out are dropped first, without waiting.
        /// </summary>
        private static IReadOnlyList<IncomingToApply> ClaimNext(ConnectionNode node, Guid connectionId, string owner, int limit) => node.Store.Write(tx =>
        {
            var now = node.Clock();
            SyncTwinRows.DropLapsedCaseClaims(tx, connectionId, owner, now);
            var events = SyncEventRows.NextToApply(tx, connectionId, limit, owner, now.ToUnixTimeMilliseconds());
            SyncTwinRows.ClaimCases(tx, connectionId, events.Select(e => e.CaseId), owner, now, ClaimLease);
            return events;
        });

        private static async Task ApplyAsync(ConnectionNode node, Connection current, Connection system, string owner, Func<SystemAccess, ICaseWriter> writerFor, Action<string> verbose, ApplyResult result, CancellationToken cancellationToken)
        {
            var rule = OutgoingEvents.RuleFor(node, current, SyncDirection.Incoming);
            var access = await SystemAccess.OpenAsync(node, system, verbose, _ => { }, cancellationToken).ConfigureAwait(false);
            var writer = writerFor(access);
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var events = ClaimNext(node, current.Id, owner, writer.MaxBatch);
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
                    return events.Select(e =>
                    {
                        var twin = SyncTwinRows.FindByPartner(db, current.Id, e.CaseId);
                        return (Twin: twin, Own: twin is null && e.TwinCaseId != null ? SyncTwinRows.FindOwn(db, current.Id, e.TwinCaseId) : null,
                            Uncertain: reader != null && SyncTwinRows.CommentWritesUncertain(db, current.Id, e.CaseId));
                    }).ToList();
                });
                var plans = new Planned[events.Count];
                Parallel.For(0, events.Count, i => plans[i] = Plan(node, current, rule, events[i], twins[i].Twin, twins[i].Own));
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
                                SyncTwinRows.Save(tx, current.Id, p.CaseId, written, p.EntityWithComments(appended), p.Expected!, p.Versions!, p.Ours, now, p.WrittenComments(appended));
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
                            SyncTwinRows.Save(tx, current.Id, p.CaseId, local, p.Entity!, p.Expected!, p.Versions!, p.Ours, now, p.WrittenComments(int.MaxValue));
                        }

                        SyncTwinRows.EndCommentWrites(tx, current.Id, p.CaseId);
                        SyncEventRows.Applied(tx, current.Id, p.EventId);
                        result.Applied++;
                    }

                    // With the batch's outcome: its cases are free for the next batch, on any host.
                    SyncTwinRows.ReleaseCases(tx, current.Id, owner);
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
    }
}
