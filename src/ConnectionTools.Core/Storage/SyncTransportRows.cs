using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Errors;
using ConnectionTools.Peering;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// SQL for moving sync events between two nodes. Exactly once is at-least-once delivery plus idempotent receipt: an event id
    /// is recorded in sync_received in the same transaction that queues the event, so a repeated or replayed batch changes
    /// nothing; an outgoing event is deleted only once the partner acknowledged it. The private side acknowledges the public
    /// side's events on its next request (sync_pending_acks), so an answer lost on the way is simply sent again.
    /// </summary>
    internal static class SyncTransportRows
    {
        public const string CreateTables = @"
CREATE TABLE IF NOT EXISTS sync_received (
    connection_id TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (connection_id, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_pending_acks (
    connection_id TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    PRIMARY KEY (connection_id, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_rounds (
    connection_id TEXT PRIMARY KEY,
    last_round_at INTEGER NOT NULL
);
";

        /// <summary>
        /// Outgoing events ready to send, oldest first (ix_sync_events_order gives that order; "+status" keeps the planner from
        /// the status index, which would sort everything left): Queued ones and Sent ones not yet acknowledged (sent again: the receiver
        /// ignores what it holds). A case with a Failed event sends nothing after it until the failure is retried or discarded.
        /// </summary>
        public static List<SyncEventMessage> Sendable(StoreSession db, Guid connectionId, int limit)
        {
            var events = new List<SyncEventMessage>();
            using (var command = db.Command(
                "SELECT e.event_id, e.trace_id, e.case_id, e.case_seq, e.payload, e.twin_case_id, e.changed_at, e.versions FROM sync_events e " +
                "WHERE e.connection_id = $id AND e.direction = 'Outgoing' AND +e.status IN ('Queued', 'Sent') " +
                "AND NOT EXISTS (SELECT 1 FROM sync_events f WHERE f.connection_id = e.connection_id AND f.direction = 'Outgoing' " +
                "AND f.case_id = e.case_id AND f.status = 'Failed' AND f.case_seq < e.case_seq) " +
                "ORDER BY e.seq LIMIT $limit;",
                ("$id", ConnectionStore.FormatId(connectionId)), ("$limit", (long)limit)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    events.Add(new SyncEventMessage
                    {
                        EventId = reader.GetString(0),
                        TraceId = reader.GetString(1),
                        CaseId = reader.GetString(2),
                        Sequence = reader.GetInt64(3),
                        Replica = reader.GetString(4),
                        TwinCaseId = reader.IsDBNull(5) ? null : reader.GetString(5),
                        ChangedAt = reader.IsDBNull(6) ? (long?)null : reader.GetInt64(6),
                        Versions = reader.IsDBNull(7) ? null : reader.GetString(7),
                    });
                }
            }

            return events;
        }

        /// <summary>
        /// The next batch to send, marked Sent in the same transaction: from then on a newer change of one of its cases follows
        /// it instead of replacing it (the partner may already hold it).
        /// </summary>
        public static List<SyncEventMessage> TakeSendable(StoreTransaction tx, Guid connectionId, int limit, DateTimeOffset now)
        {
            var batch = Sendable(tx, connectionId, limit);
            SyncEventRows.MarkSent(tx, connectionId, batch.Select(e => Guid.Parse(e.EventId)), now);
            return batch;
        }

        /// <summary>Deletes outgoing events the partner acknowledged. Ids this side never sent are ignored.</summary>
        public static int Forget(StoreTransaction tx, Guid connectionId, IEnumerable<string> eventIds)
        {
            var forgotten = 0;
            foreach (var eventId in eventIds)
            {
                forgotten += tx.Execute(
                    "DELETE FROM sync_events WHERE connection_id = $id AND direction = 'Outgoing' AND event_id = $event AND status = 'Sent';",
                    ("$id", ConnectionStore.FormatId(connectionId)), ("$event", eventId));
            }

            return forgotten;
        }

        /// <summary>
        /// Stores a partner's event in the incoming queue unless its id was received before; returns whether it was new. A new
        /// event must come after the last one received for its case (sync_cases keeps that number after the events are gone):
        /// anything else is refused with <see cref="ErrorIds.SyncUnexpectedEvent"/>, and the caller's transaction rolls back.
        /// </summary>
        public static bool Receive(StoreTransaction tx, Guid connectionId, SyncEventMessage message, DateTimeOffset now, string from)
        {
            var id = ConnectionStore.FormatId(connectionId);
            var at = now.ToUnixTimeMilliseconds();
            if (tx.Execute(
                "INSERT INTO sync_received (connection_id, event_id, received_at) VALUES ($id, $event, $now) ON CONFLICT DO NOTHING;",
                ("$id", id), ("$event", message.EventId), ("$now", at)) == 0)
            {
                return false;
            }

            if (tx.Execute(
                "INSERT INTO sync_cases (connection_id, direction, case_id, last_seq) VALUES ($id, 'Incoming', $case, $seq) " +
                "ON CONFLICT(connection_id, direction, case_id) DO UPDATE SET last_seq = excluded.last_seq WHERE excluded.last_seq > sync_cases.last_seq;",
                ("$id", id), ("$case", message.CaseId), ("$seq", message.Sequence)) == 0)
            {
                var last = Convert.ToInt64(tx.Scalar(
                    "SELECT last_seq FROM sync_cases WHERE connection_id = $id AND direction = 'Incoming' AND case_id = $case;",
                    ("$id", id), ("$case", message.CaseId)), System.Globalization.CultureInfo.InvariantCulture);
                throw new ConnectionToolsException(ErrorIds.SyncUnexpectedEvent, ErrorKind.InvalidData,
                    $"A sync batch from {from} holds event {message.EventId} for case {message.CaseId} with sequence number {message.Sequence}, " +
                    $"but that case's events have reached {last} already: the partner's rules did not send it. Nothing of the batch was stored.",
                    connectionId,
                    "Both nodes must run compatible versions of ConnectionTools; if the partner's store was restored from a backup, remove the connection on both sides and create it again.");
            }

            // While the bound system is Inactive the event is Held: re-authorization releases it (SyncEventRows.HoldIncomingOf).
            tx.Execute(
                "INSERT INTO sync_events (event_id, connection_id, direction, case_id, case_seq, trace_id, status, payload, twin_case_id, changed_at, versions, created_at, updated_at) " +
                "VALUES ($event, $id, 'Incoming', $case, $seq, $trace, " +
                "CASE WHEN EXISTS (SELECT 1 FROM connections p JOIN connections s ON s.id = p.system_id WHERE p.id = $id AND s.status = 'Inactive') THEN 'Held' ELSE 'Queued' END, " +
                "$payload, $twin, $changed, $versions, $now, $now);",
                ("$event", message.EventId), ("$id", id), ("$case", message.CaseId), ("$seq", message.Sequence), ("$trace", message.TraceId),
                ("$payload", message.Replica), ("$twin", message.TwinCaseId), ("$changed", message.ChangedAt), ("$versions", message.Versions), ("$now", at));
            return true;
        }

        public static List<string> PendingAcks(StoreSession db, Guid connectionId)
        {
            var ids = new List<string>();
            using (var command = db.Command("SELECT event_id FROM sync_pending_acks WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId))))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    ids.Add(reader.GetString(0));
                }
            }

            return ids;
        }

        public static void AddPendingAck(StoreTransaction tx, Guid connectionId, string eventId) => tx.Execute(
            "INSERT INTO sync_pending_acks (connection_id, event_id) VALUES ($id, $event) ON CONFLICT DO NOTHING;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$event", eventId));

        public static void ClearPendingAck(StoreTransaction tx, Guid connectionId, string eventId) => tx.Execute(
            "DELETE FROM sync_pending_acks WHERE connection_id = $id AND event_id = $event;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$event", eventId));

        /// <summary>A removed connection's queues and transport state; returns how many events were dropped.</summary>
        public static int DropQueues(StoreTransaction tx, Guid connectionId)
        {
            var id = ("$id", (object?)ConnectionStore.FormatId(connectionId));
            var dropped = tx.Execute("DELETE FROM sync_events WHERE connection_id = $id;", id);
            tx.Execute("DELETE FROM sync_pending_acks WHERE connection_id = $id;", id);
            tx.Execute("DELETE FROM sync_cases WHERE connection_id = $id;", id);
            tx.Execute("DELETE FROM sync_received WHERE connection_id = $id;", id);
            SyncTwinRows.Drop(tx, connectionId);
            return dropped;
        }

        public static void TouchRound(StoreTransaction tx, Guid connectionId, DateTimeOffset at) => tx.Execute(
            "INSERT INTO sync_rounds (connection_id, last_round_at) VALUES ($id, $at) ON CONFLICT(connection_id) DO UPDATE SET last_round_at = excluded.last_round_at;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$at", at.ToUnixTimeMilliseconds()));
    }
}
