using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Sync
{
    /// <summary>
    /// Turns the cases a system connection's retrieval job queued into outgoing sync events, one per private connection bound to
    /// that system, through each connection's outgoing rule. A Paused connection keeps queuing (resume delivers in order); a
    /// removed one is not bound any more. A rule that fails for a case makes that case's event Failed, with the rule's line,
    /// and every other case still flows. Rules run outside the write transaction; the events are stored, and the cases taken
    /// off the retrieval queue, in one transaction per batch.
    /// </summary>
    public static partial class OutgoingEvents
    {
        public const int BatchSize = 500;

        // Parsed once per rule version: the key holds the script itself, so an edited rule is parsed again.
        private static readonly ConcurrentDictionary<(Guid Connection, SyncDirection Direction), CompiledRule> Rules = new ConcurrentDictionary<(Guid, SyncDirection), CompiledRule>();

        /// <summary>Queues events for the cases waiting in <paramref name="system"/>'s retrieval queue; returns how many events were queued or replaced.</summary>
        public static int Produce(ConnectionNode node, Connection system, Action<string>? verbose = null)
        {
            if (node is null)
            {
                throw new ArgumentNullException(nameof(node));
            }

            var bound = node.Store.List(new ConnectionFilter { Types = new[] { ConnectionType.Private } }).Where(c => c.SystemConnectionId == system.Id).ToList();
            if (bound.Count == 0)
            {
                // Nothing to sync yet: the queue keeps the latest change of each case for the first connection bound to it.
                return 0;
            }

            var rules = bound.Select(c => (Connection: c, Rule: OutgoingRule(node, c))).ToList();
            var total = 0;
            while (true)
            {
                var rows = node.Store.Read(db => SyncEventRows.ReadOutbound(db, system.Id, BatchSize));
                if (rows.Count == 0)
                {
                    break;
                }

                var (twins, owns) = Known(node, rules.Select(r => r.Connection.Id).ToList(), rows.Select(r => r.RecordId).ToList());

                // An apply that has not committed (running in another process, or cut off by a crash) may have written partner
                // cases into the system whose twins are not stored yet: read back now, they look like this node's own new cases,
                // and the partner would make them a second time. Cases without a twin wait in the queue until that apply is done
                // (it writes them again by their key, then stores their twins).
                var applying = node.Store.Read(db => rules.Select(r => SyncTwinRows.ApplyUnfinished(db, r.Connection.Id)).ToArray());
                var events = MakeAll(rows.Count, rules.Count, (i, slots) =>
                {
                    var row = rows[i];
                    var entity = CaseEntities.FromQueued(system.Type, row.RecordId, DateTimeOffset.FromUnixTimeMilliseconds(row.ModifiedAt), row.Payload);
                    for (var r = 0; r < rules.Count; r++)
                    {
                        var slot = (i * rules.Count) + r;
                        var twin = twins?[slot];

                        // The comments this node's applies wrote into a twinned case are the partner's own, coming back: they are
                        // neither sent (the rule never sees them) nor a change that makes the case worth sending.
                        var ours = twin is null ? entity : WithoutWrittenComments(entity, twin.WrittenComments);
                        var seen = NeutralState(ours);
                        slots[slot] = (twin is null && applying[r]
                            ? PendingEvent.Waiting(rules[r].Connection.Id, row.RecordId)
                            : twin != null && IsEcho(twin.Expected, seen)
                            ? PendingEvent.Echo(rules[r].Connection.Id, row.RecordId, seen)
                            : twin != null && IsReadBeforeApply(twin, seen, row.ReadFrom)
                            ? PendingEvent.Superseded(rules[r].Connection.Id, row.RecordId)
                            : Make(rules[r].Connection.Id, row.RecordId, ours, rules[r].Rule, seen, twin?.PartnerCaseId,
                                Changes(twin?.Expected ?? owns[slot]?.State, twin?.Versions ?? owns[slot]?.Versions, seen, row.ModifiedAt), own: twin is null)).At(row.ModifiedAt).Knowing(twin, owns[slot]);
                    }
                });

                var waiting = Enumerable.Range(0, rows.Count).Where(i => Enumerable.Range(0, rules.Count).Any(r => events[(i * rules.Count) + r].Waits)).ToList();
                var stale = new HashSet<string>(StringComparer.Ordinal);
                Save(node, events, stale, tx =>
                {
                    foreach (var row in rows.Where((row, i) => !waiting.Contains(i) && !stale.Contains(row.RecordId)))
                    {
                        SyncEventRows.DeleteOutbound(tx, system.Id, row.Entity, row.RecordId, row.ModifiedAt);
                    }
                });
                var echoes = events.Count(e => e.IsEcho && e.Seen != null);
                var superseded = events.Count(e => e.IsEcho && e.Seen is null && !e.Waits);
                var waits = events.Count(e => e.Waits);
                total += events.Length - echoes - superseded - waits;
                var failed = events.Count(e => e.Error != null);
                verbose?.Invoke($"Queued {events.Length - echoes - superseded - waits - failed} sync event(s) from {rows.Count} case(s) of '{system.Name}' for {string.Join(", ", bound.Select(c => "'" + c.Name + "'"))}" +
                    (failed > 0 ? $"; the outgoing rule failed for {failed} (Failed events, see their errors)" : "") +
                    (echoes > 0 ? $"; {echoes} change(s) were this node's own writes of partner cases coming back, not sent" : "") +
                    (superseded > 0 ? $"; {superseded} case(s) were read before this node's own write of them, not sent (read again next time)" : "") +
                    (waits > 0 ? $"; {waits} case(s) without a twin wait until an unfinished apply of partner cases is done" : "") + ".");
                if (stale.Count > 0)
                {
                    verbose?.Invoke($"{stale.Count} case(s) of '{system.Name}' changed in the store (an apply on another host) while they were read; they stay queued and are read again.");
                }

                if (rows.Count < BatchSize || waiting.Count > 0 || stale.Count > 0)
                {
                    break;
                }
            }

            return total;
        }

        /// <summary>
        /// Queues events for one connection only, from cases read straight from the system (an initial load): through its
        /// outgoing rule, in one transaction for the page. Returns the events queued and how many of them failed at the rule.
        /// </summary>
        internal static (int Queued, int Failed) QueueFor(ConnectionNode node, Connection system, Connection connection, IReadOnlyList<Jobs.Retrieval.CaseRecord> page)
        {
            var rule = OutgoingRule(node, connection);
            var events = MakeAll(page.Count, 1, (i, slots) =>
            {
                var entity = CaseEntities.FromRecord(system.Type, page[i]);
                var seen = NeutralState(entity);
                var at = page[i].ModifiedAt.ToUnixTimeMilliseconds();
                slots[i] = Make(connection.Id, page[i].Id, entity, rule, seen, versions: Changes(null, null, seen, at), own: true).At(at);
            });
            Save(node, events, null, null);
            return (events.Length, events.Count(e => e.Error != null));
        }

        /// <summary>
        /// Runs a connection's outgoing rule (or reports why it does not parse) on one case: the replica, or the error that makes
        /// the case's event Failed. Used for new changes and for retries alike.
        /// </summary>
        internal static (string? Replica, ConnectionToolsException? Error) Run((CompiledRule? Rule, ConnectionToolsException? Problem) outgoing, string entity, string caseId)
        {
            try
            {
                return (RuleSandbox.RunOutgoing(outgoing.Rule ?? throw outgoing.Problem!, entity, caseId), null);
            }
            catch (ConnectionToolsException e)
            {
                return (null, e);
            }
        }

        /// <summary>
        /// The events of a batch of <paramref name="cases"/> cases, <paramref name="perCase"/> per case, in case order: the rule
        /// runs are most of a batch's time and independent of each other (each in its engine, on one thread, with its own
        /// limits), so they run on all cores. The events keep their order, so what is stored is the same as one by one.
        /// </summary>
        private static PendingEvent[] MakeAll(int cases, int perCase, Action<int, PendingEvent[]> makeCase)
        {
            var events = new PendingEvent[cases * perCase];
            try
            {
                Parallel.For(0, cases, i => makeCase(i, events));
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                // What a rule run throws besides its own errors (a bug) surfaces as itself, as it did one by one.
                ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
                throw;
            }

            return events;
        }

        private static PendingEvent Make(Guid connectionId, string caseId, string entity, (CompiledRule? Rule, ConnectionToolsException? Problem) outgoing, string? seen = null, string? twinCaseId = null, string? versions = null, bool own = false)
        {
            var (replica, error) = Run(outgoing, entity, caseId);
            return new PendingEvent(connectionId, caseId, entity, replica, error) { Seen = seen, TwinCaseId = twinCaseId, Versions = versions, Own = own };
        }

        /// <summary>The fields' versions with this side's changes since <paramref name="known"/> (what it last knew the case held) counted.</summary>
        private static string Changes(string? known, string? versions, string seen, long changedAt) =>
            FieldVersions.Parse(versions).Stamp(known is null ? null : JsonNode.Parse(known) as JsonObject, (JsonObject)JsonNode.Parse(seen)!, changedAt).ToJson();

        /// <summary>
        /// What this side knows of each slot's case, per (case, connection) slot as <see cref="MakeAll"/> numbers them, in one read:
        /// its twin; or, for a case of this side's own without a twin, the state it was last sent in and its fields' versions.
        /// Twins are null when none of the connections has one (a node that only sends), so that case costs one query less per case.
        /// </summary>
        private static (SyncTwinRows.Twin?[]? Twins, (string State, string Versions)?[] Owns) Known(ConnectionNode node, IReadOnlyList<Guid> connections, IReadOnlyList<string> caseIds) => node.Store.Read(db =>
        {
            var twins = connections.Any(c => SyncTwinRows.Any(db, c)) ? new SyncTwinRows.Twin?[caseIds.Count * connections.Count] : null;
            var owns = new (string State, string Versions)?[caseIds.Count * connections.Count];
            using var statements = db.KeepStatementsPrepared();
            for (var i = 0; i < caseIds.Count; i++)
            {
                for (var r = 0; r < connections.Count; r++)
                {
                    var slot = (i * connections.Count) + r;
                    var twin = twins is null ? null : twins[slot] = SyncTwinRows.FindByLocal(db, connections[r], caseIds[i]);
                    owns[slot] = twin is null ? SyncTwinRows.FindOwn(db, connections[r], caseIds[i]) : null;
                }
            }

            return (twins, owns);
        });

        /// <summary>
        /// Stores the events of a batch (and whatever goes with them) in one transaction, each statement prepared once. With
        /// <paramref name="stale"/>, an event whose twin (or own-case row) changed since it was read is neither stored nor taken as
        /// seen, and its case id is added there: an apply on another host committed in between, and the event was made from an
        /// older view (written back, it would undo the apply's versions). Its case stays queued and is read again.
        /// </summary>
        private static void Save(ConnectionNode node, IReadOnlyList<PendingEvent> events, ISet<string>? stale, Action<StoreTransaction>? alsoWrite)
        {
            var now = node.Clock();
            node.Store.Write(tx =>
            {
                stale?.Clear();
                using var statements = tx.KeepStatementsPrepared();
                foreach (var e in events)
                {
                    if (stale != null && !e.Waits && !e.StillKnown(tx))
                    {
                        stale.Add(e.CaseId);
                    }
                }

                foreach (var e in events)
                {
                    if (stale != null && stale.Contains(e.CaseId))
                    {
                        continue;
                    }

                    if (e.Own && e.Seen != null && e.Versions != null)
                    {
                        SyncTwinRows.SaveOwn(tx, e.Connection, e.CaseId, e.Seen, e.Versions);
                    }
                    else if (e.Seen != null)
                    {
                        // The twin's known state follows what the system holds now, echo or not.
                        SyncTwinRows.SaveSeen(tx, e.Connection, e.CaseId, e.Seen, e.Versions, now);
                    }

                    if (!e.IsEcho)
                    {
                        SyncEventRows.QueueOutgoing(tx, e.Connection, e.CaseId, e.Entity, e.Replica, e.Error?.ErrorId, e.Error?.Message, now, e.TwinCaseId, e.ChangedAt, e.Versions);
                    }
                }

                alsoWrite?.Invoke(tx);
                return 0;
            });
        }

        private sealed class PendingEvent
        {
            public PendingEvent(Guid connection, string caseId, string entity, string? replica, ConnectionToolsException? error)
            {
                Connection = connection;
                CaseId = caseId;
                Entity = entity;
                Replica = replica;
                Error = error;
            }

            public Guid Connection { get; }

            public string CaseId { get; }

            public string Entity { get; }

            public string? Replica { get; }

            public ConnectionToolsException? Error { get; }

            /// <summary>The case's neutral fields as the retrieval job read them.</summary>
            public string? Seen { get; set; }

            /// <summary>For a twinned case: the partner's case it is the twin of (the partner updates that case).</summary>
            public string? TwinCaseId { get; set; }

            /// <summary>The versions of the case's fields with this change counted (kept, and sent with the event).</summary>
            public string? Versions { get; set; }

            /// <summary>This side's own case without a twin: what was read is kept in sync_own_cases instead of on a twin.</summary>
            public bool Own { get; set; }

            /// <summary>When the system changed the case (Unix ms), as retrieval read it.</summary>
            public long? ChangedAt { get; private set; }

            public PendingEvent At(long changedAt)
            {
                ChangedAt = changedAt;
                return this;
            }

            private SyncTwinRows.Twin? _twin;

            private (string State, string Versions)? _own;

            /// <summary>What this side knew of the case when the event was made: its twin, or its own-case row.</summary>
            public PendingEvent Knowing(SyncTwinRows.Twin? twin, (string State, string Versions)? own)
            {
                _twin = twin;
                _own = own;
                return this;
            }

            /// <summary>Whether the store still holds what the event was made from (read again inside the saving transaction).</summary>
            public bool StillKnown(StoreSession db)
            {
                var twin = SyncTwinRows.FindByLocal(db, Connection, CaseId);
                if (_twin is null || twin is null)
                {
                    return _twin is null && twin is null && Equals(SyncTwinRows.FindOwn(db, Connection, CaseId), _own);
                }

                return twin.Expected == _twin.Expected && twin.Versions == _twin.Versions && twin.WrittenComments == _twin.WrittenComments;
            }

            /// <summary>Nothing is queued for the partner: the case came back as this node's own apply wrote it, or was read before that write.</summary>
            public bool IsEcho { get; private set; }

            public static PendingEvent Echo(Guid connection, string caseId, string seen) =>
                new PendingEvent(connection, caseId, "", null, null) { Seen = seen, IsEcho = true };

            /// <summary>Left in the outbound queue until an unfinished apply is done: neither queued nor taken as seen.</summary>
            public bool Waits { get; private set; }

            public static PendingEvent Waiting(Guid connection, string caseId) =>
                new PendingEvent(connection, caseId, "", null, null) { IsEcho = true, Waits = true };

            /// <summary>Read before this node's own write of it (<see cref="IsReadBeforeApply"/>): neither queued nor taken as seen.</summary>
            public static PendingEvent Superseded(Guid connection, string caseId) =>
                new PendingEvent(connection, caseId, "", null, null) { IsEcho = true };
        }

        /// <summary>The connection's outgoing rule, parsed (once per version); or why the stored script does not parse.</summary>
        internal static (CompiledRule? Rule, ConnectionToolsException? Problem) OutgoingRule(ConnectionNode node, Connection connection) =>
            RuleFor(node, connection, SyncDirection.Outgoing);

        /// <summary>The connection's rule for <paramref name="direction"/>, parsed (once per version); or why the stored script does not parse.</summary>
        internal static (CompiledRule? Rule, ConnectionToolsException? Problem) RuleFor(ConnectionNode node, Connection connection, SyncDirection direction)
        {
            var script = node.Store.Read(db => SyncRuleRows.List(db, connection.Id)).FirstOrDefault(r => r.Direction == direction).Script ?? BasicSyncRules.For(direction);
            var key = (connection.Id, direction);
            if (Rules.TryGetValue(key, out var cached) && cached.Script == script && cached.ConnectionName == connection.Name)
            {
                return (cached, null);
            }

            try
            {
                var compiled = CompiledRule.Compile(connection.Name, direction, script);
                Rules[key] = compiled;
                return (compiled, null);
            }
            catch (ConnectionToolsException e)
            {
                // A rule stored before scripts were checked: each case's event carries the parse error, and other connections still flow.
                return (null, e);
            }
        }
    }
}
