using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.SyncRules;
using ConnectionTools.Text;

namespace ConnectionTools.Sync
{
    /// <summary>
    /// What admins do with sync events: list them and their errors, retry a Failed outgoing event after fixing its rule, and
    /// discard an event that was not sent (recorded in the connection's history). Both directions are listed; incoming events
    /// arrive with the transport.
    /// </summary>
    public sealed class SyncEventCommands
    {
        private readonly ConnectionNode _node;
        private readonly IHostContext _host;

        public SyncEventCommands(ConnectionNode node, IHostContext host)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
        }

        /// <summary>Writes the events that match, in the order they were queued. Reads only.</summary>
        public void Get(SyncEventQuery query)
        {
            foreach (var e in Find(query, query.Statuses))
            {
                _host.WriteObject(e);
            }
        }

        /// <summary>Writes one <see cref="SyncError"/> per Failed event that matches, by connection (the view groups them), then in queue order.</summary>
        public void GetErrors(SyncEventQuery query)
        {
            foreach (var e in Find(query, new[] { SyncEventStatus.Failed }).OrderBy(e => e.ConnectionName, StringComparer.OrdinalIgnoreCase))
            {
                _host.WriteObject(SyncError.From(e));
            }
        }

        /// <summary>
        /// Runs the connection's current outgoing rule again on each Failed outgoing event's stored case: success makes it Queued (same
        /// event id, sequence and trace id), failure keeps it Failed with the new error, which is also reported. A Failed incoming
        /// event is Queued again, for the next apply to write.
        /// </summary>
        public void Retry(IEnumerable<Guid> eventIds, bool passThru)
        {
            foreach (var eventId in eventIds)
            {
                PerItem.Run(_host, () =>
                {
                    var e = Single(eventId);
                    if (e.Status != SyncEventStatus.Failed)
                    {
                        throw new ConnectionToolsException(ErrorIds.SyncEventNotFailed, ErrorKind.InvalidOperation,
                            $"Sync event {e.TraceId} of '{e.ConnectionName}' (case {e.CaseId} #{e.Sequence}) is {e.Status}; only Failed events are retried.", e.TraceId, null);
                    }

                    if (e.Direction == SyncDirection.Incoming)
                    {
                        // Applied again by the next apply (Sync-Connection, or the node host), in the case's order.
                        if (!_host.ShouldProcess(Describe(e), "Queue it to be applied again"))
                        {
                            return;
                        }

                        if (!_node.Store.Write(tx => SyncEventRows.RetryIncoming(tx, e.ConnectionId, e.EventId, _node.Clock())))
                        {
                            throw new ConnectionToolsException(ErrorIds.SyncEventNotFailed, ErrorKind.InvalidOperation,
                                $"Sync event {e.TraceId} of '{e.ConnectionName}' changed while it was retried (it was discarded meanwhile); nothing was stored.", e.TraceId, null);
                        }

                        _host.WriteVerbose($"Incoming sync event {e.TraceId} of '{e.ConnectionName}' (case {e.CaseId} #{e.Sequence}) is queued again; the next apply writes it.");
                        if (passThru)
                        {
                            _host.WriteObject(Single(eventId));
                        }

                        return;
                    }

                    if (e.Entity is null)
                    {
                        throw new ConnectionToolsException(ErrorIds.SyncEventNoEntity, ErrorKind.InvalidData,
                            $"Sync event {e.TraceId} of '{e.ConnectionName}' (case {e.CaseId}) no longer holds its case, so its rule cannot run again.",
                            e.TraceId, $"Discard it (Remove-ConnectionSyncEvent -EventId {e.EventId}); the case's next change queues a new event.");
                    }

                    if (!_host.ShouldProcess(Describe(e), "Run the current outgoing rule again on its case"))
                    {
                        return;
                    }

                    var connection = _node.Store.Find(e.ConnectionId) ?? throw ConnectionStore.NotFound(e.ConnectionId.ToString());
                    var (replica, failure) = OutgoingEvents.Run(OutgoingEvents.OutgoingRule(_node, connection), e.Entity, e.CaseId);

                    var stored = _node.Store.Write(tx => SyncEventRows.Retried(tx, e.ConnectionId, e.EventId, replica, failure?.ErrorId, failure?.Message, _node.Clock()));
                    if (!stored)
                    {
                        throw new ConnectionToolsException(ErrorIds.SyncEventNotFailed, ErrorKind.InvalidOperation,
                            $"Sync event {e.TraceId} of '{e.ConnectionName}' changed while it was retried (a newer change of case {e.CaseId} replaced it, or it was discarded); nothing was stored.", e.TraceId, null);
                    }

                    if (failure != null)
                    {
                        // Still Failed, with this error: reported like any other per-item failure.
                        throw failure;
                    }

                    _host.WriteVerbose($"Sync event {e.TraceId} of '{e.ConnectionName}' (case {e.CaseId} #{e.Sequence}) is queued again.");
                    if (passThru)
                    {
                        _host.WriteObject(Single(eventId));
                    }
                });
            }
        }

        /// <summary>
        /// Deletes events that were not sent (Queued, Held or Failed), each asked about as a ConfirmImpact High change and recorded in its
        /// connection's history with the case, sequence and trace id. A Sent event is in flight and refused.
        /// <paramref name="passThru"/> writes each discarded event as it was.
        /// </summary>
        public void Discard(IEnumerable<Guid> eventIds, bool passThru)
        {
            foreach (var eventId in eventIds)
            {
                PerItem.Run(_host, () =>
                {
                    var e = Single(eventId);
                    if (e.Status == SyncEventStatus.Sent)
                    {
                        throw InFlight(e);
                    }

                    if (!HighImpact.ShouldProcess(_host, Describe(e), "Discard it (it will never reach the partner)"))
                    {
                        return;
                    }

                    var note = $"Discarded the {e.Direction} sync event of case {e.CaseId} #{e.Sequence} (trace {e.TraceId}, {e.Status}" +
                        (e.ErrorId is null ? ")" : $": {e.ErrorId})");
                    _node.Store.Change(
                        e.ConnectionId,
                        LifecycleAction.DiscardSyncEvent,
                        latest => latest,
                        _node.ActorName,
                        (tx, _) =>
                        {
                            if (!SyncEventRows.Discard(tx, e.ConnectionId, e.Direction, e.EventId))
                            {
                                // Sent or acknowledged meanwhile: nothing is deleted and nothing recorded.
                                throw InFlight(e);
                            }
                        },
                        always: true,
                        note: note);
                    _host.WriteVerbose(note + ".");
                    if (passThru)
                    {
                        _host.WriteObject(e);
                    }
                });
            }
        }

        private IReadOnlyList<SyncEvent> Find(SyncEventQuery query, IReadOnlyList<SyncEventStatus>? statuses)
        {
            var connections = Connections(query.Names);
            if (connections != null && connections.Count == 0)
            {
                return Array.Empty<SyncEvent>();
            }

            return _node.Store.Read(db => SyncEventRows.Query(db, connections, query.Direction, Nonempty(query.CaseIds), Nonempty(statuses), Nonempty(query.TraceIds), null));
        }

        /// <summary>The ids the names stand for (null: every connection). A plain name that matches nothing is reported; a pattern is not.</summary>
        private IReadOnlyCollection<Guid>? Connections(IReadOnlyList<string>? names)
        {
            var given = (names ?? Array.Empty<string>()).Where(n => !string.IsNullOrEmpty(n)).ToList();
            if (given.Count == 0)
            {
                return null;
            }

            var ids = new HashSet<Guid>();
            foreach (var name in given)
            {
                if (WildcardPattern.ContainsWildcards(name))
                {
                    ids.UnionWith(ConnectionTargets.Match(_node.Store, name).Select(c => c.Id));
                }
                else
                {
                    PerItem.Run(_host, () => ids.Add((_node.Store.FindByName(name) ?? throw ConnectionStore.NotFound(name)).Id));
                }
            }

            return ids;
        }

        private SyncEvent Single(Guid eventId) =>
            _node.Store.Read(db => SyncEventRows.Query(db, null, null, null, null, null, new[] { eventId })).FirstOrDefault()
            ?? throw new ConnectionToolsException(ErrorIds.SyncEventNotFound, ErrorKind.ObjectNotFound,
                $"No sync event has the id {eventId}: it was sent and acknowledged, or discarded.", eventId, null);

        private static IReadOnlyCollection<T>? Nonempty<T>(IReadOnlyCollection<T>? values) => values is { Count: > 0 } ? values : null;

        private static string Describe(SyncEvent e) => $"{e.Direction} sync event {e.TraceId} of '{e.ConnectionName}' (case {e.CaseId} #{e.Sequence}, {e.Status})";

        private static ConnectionToolsException InFlight(SyncEvent e) => new ConnectionToolsException(ErrorIds.SyncEventInFlight, ErrorKind.InvalidOperation,
            $"Sync event {e.TraceId} of '{e.ConnectionName}' (case {e.CaseId} #{e.Sequence}) has been sent and may already be with the partner; it cannot be discarded.",
            e.TraceId, "Wait for the partner's acknowledgement, which removes it.");
    }
}
