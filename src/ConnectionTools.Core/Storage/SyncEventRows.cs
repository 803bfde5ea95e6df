using System;
using System.Collections.Generic;
using ConnectionTools.Sync;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// SQL for case sync's events. An outgoing event is one replica queued for one private connection; it keeps the case as the
    /// rule saw it (entity) until it is sent, so a rule that failed can run again once fixed. Sequence numbers are per
    /// (connection, direction, case) and come from sync_cases, which outlives the events (sent events are deleted once acknowledged).
    /// </summary>
    internal static class SyncEventRows
    {
        public const string CreateTables = @"
CREATE TABLE IF NOT EXISTS sync_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id      TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    direction     TEXT NOT NULL,
    case_id       TEXT NOT NULL,
    case_seq      INTEGER NOT NULL,
    trace_id      TEXT NOT NULL,
    status        TEXT NOT NULL,
    entity        TEXT NULL,
    payload       TEXT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    error_id      TEXT NULL,
    error         TEXT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_sync_events_id ON sync_events(connection_id, direction, event_id);
CREATE INDEX IF NOT EXISTS ix_sync_events_queue ON sync_events(connection_id, direction, status, seq);
CREATE INDEX IF NOT EXISTS ix_sync_events_case ON sync_events(connection_id, direction, case_id, case_seq);
CREATE TABLE IF NOT EXISTS sync_cases (
    connection_id TEXT NOT NULL,
    direction     TEXT NOT NULL,
    case_id       TEXT NOT NULL,
    last_seq      INTEGER NOT NULL,
    PRIMARY KEY (connection_id, direction, case_id)
) WITHOUT ROWID;
";

        private const string EventColumns = "event_id, direction, case_id, case_seq, trace_id, status, attempts, error_id, error, payload, created_at, updated_at";

        /// <summary>Cases a retrieval job queued for a system connection, oldest change first.</summary>
        public static IReadOnlyList<(string Entity, string RecordId, long ModifiedAt, string Payload)> ReadOutbound(StoreSession db, Guid systemId, int limit)
        {
            var rows = new List<(string, string, long, string)>();
            using (var command = db.Command(
                "SELECT entity, record_id, modified_at, payload FROM outbound_queue WHERE connection_id = $id ORDER BY modified_at, record_id LIMIT $limit;",
                ("$id", ConnectionStore.FormatId(systemId)), ("$limit", (long)limit)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3)));
                }
            }

            return rows;
        }

        /// <summary>Takes a case off the outbound queue, unless the job has queued a newer change of it meanwhile. By the whole key: one row, not a scan.</summary>
        public static void DeleteOutbound(StoreTransaction tx, Guid systemId, string entity, string recordId, long modifiedAt) => tx.Execute(
            "DELETE FROM outbound_queue WHERE connection_id = $id AND entity = $entity AND record_id = $record AND modified_at = $modified;",
            ("$id", ConnectionStore.FormatId(systemId)), ("$entity", entity), ("$record", recordId), ("$modified", modifiedAt));

        /// <summary>
        /// Queues one change of a case for a connection. A change that was not sent yet (Queued, or Failed at the rule) is replaced
        /// in place: same event id and sequence number, the latest replica. Otherwise the event is new, with the case's next sequence number.
        /// Returns whether it replaced an unsent one.
        /// </summary>
        public static bool QueueOutgoing(StoreTransaction tx, Guid connectionId, string caseId, string entity, string? replica, string? errorId, string? error, DateTimeOffset now)
        {
            var id = ConnectionStore.FormatId(connectionId);
            var direction = SyncDirection.Outgoing.ToString();
            var status = (replica is null ? SyncEventStatus.Failed : SyncEventStatus.Queued).ToString();
            var at = now.ToUnixTimeMilliseconds();
            var replaced = tx.Execute(
                "UPDATE sync_events SET entity = $entity, payload = $payload, status = $status, error_id = $error_id, error = $error, trace_id = $trace, updated_at = $now " +
                "WHERE seq = (SELECT seq FROM sync_events WHERE connection_id = $id AND direction = $direction AND case_id = $case ORDER BY case_seq DESC LIMIT 1) " +
                "AND status IN ('Queued', 'Failed');",
                ("$entity", entity), ("$payload", replica), ("$status", status), ("$error_id", errorId), ("$error", error), ("$trace", NewTraceId()), ("$now", at),
                ("$id", id), ("$direction", direction), ("$case", caseId));
            if (replaced == 1)
            {
                return true;
            }

            tx.Execute(
                "INSERT INTO sync_cases (connection_id, direction, case_id, last_seq) VALUES ($id, $direction, $case, 1) " +
                "ON CONFLICT(connection_id, direction, case_id) DO UPDATE SET last_seq = last_seq + 1;",
                ("$id", id), ("$direction", direction), ("$case", caseId));
            tx.Execute(
                "INSERT INTO sync_events (event_id, connection_id, direction, case_id, case_seq, trace_id, status, entity, payload, error_id, error, created_at, updated_at) " +
                "VALUES ($event, $id, $direction, $case, (SELECT last_seq FROM sync_cases WHERE connection_id = $id AND direction = $direction AND case_id = $case), " +
                "$trace, $status, $entity, $payload, $error_id, $error, $now, $now);",
                ("$event", Guid.NewGuid().ToString("D")), ("$id", id), ("$direction", direction), ("$case", caseId), ("$trace", NewTraceId()), ("$status", status),
                ("$entity", entity), ("$payload", replica), ("$error_id", errorId), ("$error", error), ("$now", at));
            return false;
        }

        /// <summary>How many events a connection holds in one direction.</summary>
        public static long Count(StoreSession db, Guid connectionId, SyncDirection direction) =>
            (long)db.Scalar("SELECT COUNT(*) FROM sync_events WHERE connection_id = $id AND direction = $direction;",
                ("$id", ConnectionStore.FormatId(connectionId)), ("$direction", direction.ToString()))!;

        /// <summary>A connection's events in one direction, in the order they were queued.</summary>
        public static IReadOnlyList<SyncEvent> List(StoreSession db, Guid connectionId, SyncDirection direction)
        {
            var events = new List<SyncEvent>();
            using (var command = db.Command(
                $"SELECT {EventColumns} FROM sync_events WHERE connection_id = $id AND direction = $direction ORDER BY seq;",
                ("$id", ConnectionStore.FormatId(connectionId)), ("$direction", direction.ToString())))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    events.Add(new SyncEvent
                    {
                        ConnectionId = connectionId,
                        EventId = Guid.Parse(reader.GetString(0)),
                        Direction = EnumText<SyncDirection>.Parse(reader.GetString(1)),
                        CaseId = reader.GetString(2),
                        Sequence = reader.GetInt64(3),
                        TraceId = reader.GetString(4),
                        Status = EnumText<SyncEventStatus>.Parse(reader.GetString(5)),
                        Attempts = reader.GetInt32(6),
                        ErrorId = reader.IsDBNull(7) ? null : reader.GetString(7),
                        Error = reader.IsDBNull(8) ? null : reader.GetString(8),
                        Replica = reader.IsDBNull(9) ? null : reader.GetString(9),
                        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(10)),
                        UpdatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11)),
                    });
                }
            }

            return events;
        }

        /// <summary>Marks events as sent in a batch (in flight until the partner acknowledges them): they are no longer replaced.</summary>
        public static void MarkSent(StoreTransaction tx, Guid connectionId, IEnumerable<Guid> eventIds, DateTimeOffset now)
        {
            foreach (var eventId in eventIds)
            {
                tx.Execute(
                    "UPDATE sync_events SET status = 'Sent', attempts = attempts + 1, updated_at = $now WHERE connection_id = $id AND direction = 'Outgoing' AND event_id = $event;",
                    ("$id", ConnectionStore.FormatId(connectionId)), ("$event", eventId.ToString("D")), ("$now", now.ToUnixTimeMilliseconds()));
            }
        }

        // Short enough to read out to another admin; random, so it says nothing about the case.
        private static string NewTraceId() => Guid.NewGuid().ToString("N").Substring(0, 16);

        /// <summary>
        /// Deletes the connection's queued outgoing events (its bound system went away, or it was unbound): they hold cases of a
        /// system it no longer syncs. Returns how many were dropped. The sequence numbers in sync_cases stay, so numbering never restarts.
        /// </summary>
        public static int DropOutgoing(StoreTransaction tx, System.Guid connectionId) => tx.Execute(
            "DELETE FROM sync_events WHERE connection_id = $id AND direction = 'Outgoing';",
            ("$id", ConnectionStore.FormatId(connectionId)));
    }
}
