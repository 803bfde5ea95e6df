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

        private const string EventColumns = "e.event_id, e.direction, e.case_id, e.case_seq, e.trace_id, e.status, e.attempts, e.error_id, e.error, e.payload, e.created_at, e.updated_at";

        /// <summary>Cases a retrieval job queued for a system connection, oldest change first.</summary>
        public static IReadOnlyList<(string Entity, string RecordId, long ModifiedAt, string Payload, long ReadFrom)> ReadOutbound(StoreSession db, Guid systemId, int limit)
        {
            var rows = new List<(string, string, long, string, long)>();
            using (var command = db.Command(
                "SELECT entity, record_id, modified_at, payload, queued_at FROM outbound_queue WHERE connection_id = $id ORDER BY modified_at, record_id LIMIT $limit;",
                ("$id", ConnectionStore.FormatId(systemId)), ("$limit", (long)limit)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetInt64(4)));
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
        public static bool QueueOutgoing(StoreTransaction tx, Guid connectionId, string caseId, string entity, string? replica, string? errorId, string? error, DateTimeOffset now, string? twinCaseId = null, long? changedAt = null, string? versions = null)
        {
            var id = ConnectionStore.FormatId(connectionId);
            var direction = SyncDirection.Outgoing.ToString();
            var status = (replica is null ? SyncEventStatus.Failed : SyncEventStatus.Queued).ToString();
            var at = now.ToUnixTimeMilliseconds();
            if (changedAt is long changed && tx.Scalar(
                "SELECT last_changed_at FROM sync_cases WHERE connection_id = $id AND direction = $direction AND case_id = $case;",
                ("$id", id), ("$direction", direction), ("$case", caseId)) is long last && last >= changed)
            {
                // Retrieval reads the case at its watermark again (">=", so a group sharing a timestamp is never cut): a version
                // this connection has queued before is no new change.
                return false;
            }

            var replaced = tx.Execute(
                "UPDATE sync_events SET entity = $entity, payload = $payload, status = $status, error_id = $error_id, error = $error, trace_id = $trace, twin_case_id = $twin, changed_at = $changed, versions = $versions, updated_at = $now " +
                "WHERE seq = (SELECT seq FROM sync_events WHERE connection_id = $id AND direction = $direction AND case_id = $case ORDER BY case_seq DESC LIMIT 1) " +
                "AND status IN ('Queued', 'Failed');",
                ("$entity", entity), ("$payload", replica), ("$status", status), ("$error_id", errorId), ("$error", error), ("$trace", NewTraceId()), ("$now", at),
                ("$id", id), ("$direction", direction), ("$case", caseId), ("$twin", twinCaseId), ("$changed", changedAt), ("$versions", versions));
            if (replaced == 1)
            {
                tx.Execute(
                    "UPDATE sync_cases SET last_changed_at = $changed WHERE connection_id = $id AND direction = $direction AND case_id = $case;",
                    ("$changed", changedAt), ("$id", id), ("$direction", direction), ("$case", caseId));
                return true;
            }

            tx.Execute(
                "INSERT INTO sync_cases (connection_id, direction, case_id, last_seq, last_changed_at) VALUES ($id, $direction, $case, 1, $changed) " +
                "ON CONFLICT(connection_id, direction, case_id) DO UPDATE SET last_seq = sync_cases.last_seq + 1, last_changed_at = excluded.last_changed_at;",
                ("$id", id), ("$direction", direction), ("$case", caseId), ("$changed", changedAt));
            tx.Execute(
                "INSERT INTO sync_events (event_id, connection_id, direction, case_id, case_seq, trace_id, status, entity, payload, error_id, error, twin_case_id, changed_at, versions, created_at, updated_at) " +
                "VALUES ($event, $id, $direction, $case, (SELECT last_seq FROM sync_cases WHERE connection_id = $id AND direction = $direction AND case_id = $case), " +
                "$trace, $status, $entity, $payload, $error_id, $error, $twin, $changed, $versions, $now, $now);",
                ("$event", Guid.NewGuid().ToString("D")), ("$id", id), ("$direction", direction), ("$case", caseId), ("$trace", NewTraceId()), ("$status", status),
                ("$entity", entity), ("$payload", replica), ("$error_id", errorId), ("$error", error), ("$twin", twinCaseId), ("$changed", changedAt), ("$versions", versions), ("$now", at));
            return false;
        }

        /// <summary>How many events a connection holds in one direction.</summary>
        public static long Count(StoreSession db, Guid connectionId, SyncDirection direction) =>
            (long)db.Scalar("SELECT COUNT(*) FROM sync_events WHERE connection_id = $id AND direction = $direction;",
                ("$id", ConnectionStore.FormatId(connectionId)), ("$direction", direction.ToString()))!;

        /// <summary>A connection's events in one direction, in the order they were queued.</summary>
        public static IReadOnlyList<SyncEvent> List(StoreSession db, Guid connectionId, SyncDirection direction) =>
            Query(db, new[] { connectionId }, direction, null, null, null, null);

        /// <summary>
        /// Events that match every filter given (null: any), in the order they were queued, with their connection's name.
        /// An empty list of connections matches nothing.
        /// </summary>
        public static IReadOnlyList<SyncEvent> Query(StoreSession db, IReadOnlyCollection<Guid>? connectionIds, SyncDirection? direction,
            IReadOnlyCollection<string>? caseIds, IReadOnlyCollection<SyncEventStatus>? statuses, IReadOnlyCollection<string>? traceIds, IReadOnlyCollection<Guid>? eventIds)
        {
            var where = new List<string>();
            var parameters = new List<(string, object?)>();
            void In(string column, string prefix, IEnumerable<string>? values)
            {
                if (values is null)
                {
                    return;
                }

                var names = new List<string>();
                foreach (var value in values)
                {
                    var name = "$" + prefix + names.Count;
                    names.Add(name);
                    parameters.Add((name, value));
                }

                where.Add(names.Count == 0 ? "0" : $"{column} IN ({string.Join(", ", names)})");
            }

            In("e.connection_id", "c", connectionIds is null ? null : Select(connectionIds, ConnectionStore.FormatId));
            In("e.direction", "d", direction is null ? null : new[] { direction.Value.ToString() });
            In("e.case_id", "k", caseIds);
            In("e.status", "s", statuses is null ? null : Select(statuses, s => s.ToString()));
            In("e.trace_id", "t", traceIds);
            In("e.event_id", "e", eventIds is null ? null : Select(eventIds, id => id.ToString("D")));

            var events = new List<SyncEvent>();
            using (var command = db.Command(
                $"SELECT {EventColumns}, e.connection_id, e.entity, COALESCE(c.name, '') FROM sync_events e LEFT JOIN connections c ON c.id = e.connection_id" +
                (where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where)) + " ORDER BY e.seq;",
                parameters.ToArray()))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    events.Add(new SyncEvent
                    {
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
                        ConnectionId = Guid.Parse(reader.GetString(12)),
                        Entity = reader.IsDBNull(13) ? null : reader.GetString(13),
                        ConnectionName = reader.GetString(14),
                    });
                }
            }

            return events;
        }

        /// <summary>
        /// Per connection: events waiting out (queued or sent, not yet acknowledged), waiting in, and failed (both directions),
        /// from one grouped query, so that a listing of any number of connections costs one query more.
        /// </summary>
        public static IReadOnlyDictionary<Guid, SyncCounts> CountByConnection(StoreSession db)
        {
            var counts = new Dictionary<Guid, SyncCounts>();
            using (var command = db.Command("SELECT connection_id, direction, status, COUNT(*) FROM sync_events GROUP BY connection_id, direction, status;"))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    var id = Guid.Parse(reader.GetString(0));
                    if (!counts.TryGetValue(id, out var c))
                    {
                        counts[id] = c = new SyncCounts();
                    }

                    var count = reader.GetInt32(3);
                    if (reader.GetString(2) == nameof(SyncEventStatus.Failed))
                    {
                        c.Failed += count;
                    }
                    else if (reader.GetString(1) == nameof(SyncDirection.Outgoing))
                    {
                        c.Out += count;
                    }
                    else
                    {
                        c.In += count;
                    }
                }
            }

            // The last completed round with the partner (SyncTransportRows.TouchRound), on both sides.
            using (var command = db.Command("SELECT connection_id, last_round_at FROM sync_rounds;"))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    var id = Guid.Parse(reader.GetString(0));
                    if (!counts.TryGetValue(id, out var c))
                    {
                        counts[id] = c = new SyncCounts();
                    }

                    c.LastRoundAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1));
                }
            }

            return counts;
        }

        /// <summary>
        /// Records a retry of a Failed outgoing event: with a replica it is Queued again (same event id, sequence and trace id),
        /// without one it stays Failed with the new error. Returns false when the event is no longer Failed.
        /// </summary>
        public static bool Retried(StoreTransaction tx, Guid connectionId, Guid eventId, string? replica, string? errorId, string? error, DateTimeOffset now) => tx.Execute(
            "UPDATE sync_events SET payload = $payload, status = $status, error_id = $error_id, error = $error, updated_at = $now " +
            "WHERE connection_id = $id AND direction = 'Outgoing' AND event_id = $event AND status = 'Failed';",
            ("$payload", replica), ("$status", (replica is null ? SyncEventStatus.Failed : SyncEventStatus.Queued).ToString()), ("$error_id", errorId), ("$error", error),
            ("$now", now.ToUnixTimeMilliseconds()), ("$id", ConnectionStore.FormatId(connectionId)), ("$event", eventId.ToString("D"))) == 1;

        /// <summary>Deletes an event that was not sent (Queued, Held or Failed); returns false when it is gone or in flight.</summary>
        public static bool Discard(StoreTransaction tx, Guid connectionId, SyncDirection direction, Guid eventId) => tx.Execute(
            "DELETE FROM sync_events WHERE connection_id = $id AND direction = $direction AND event_id = $event AND status IN ('Queued', 'Held', 'Failed');",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$direction", direction.ToString()), ("$event", eventId.ToString("D"))) == 1;

        private static IEnumerable<string> Select<T>(IEnumerable<T> values, Func<T, string> text)
        {
            foreach (var value in values)
            {
                yield return text(value);
            }
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

        /// <summary>
        /// The incoming events to apply next, oldest first: per case only its first waiting event (a case's events apply one at a
        /// time, in sequence), and none of a case whose earlier event is Failed or Held (it waits behind it).
        /// </summary>
        public static IReadOnlyList<IncomingToApply> NextToApply(StoreSession db, Guid connectionId, int limit) => NextToApply(db, connectionId, limit, null, 0);

        /// <summary>
        /// As <see cref="NextToApply(StoreSession, Guid, int)"/>, leaving out the cases another apply than <paramref name="owner"/>
        /// holds a live claim on (see SyncTwinRows.ClaimCases): what this apply may claim next.
        /// </summary>
        public static IReadOnlyList<IncomingToApply> NextToApply(StoreSession db, Guid connectionId, int limit, string? owner, long now)
        {
            var events = new List<IncomingToApply>();
            using (var command = db.Command(
                "SELECT e.event_id, e.case_id, e.case_seq, e.trace_id, e.payload, e.twin_case_id, e.changed_at, e.versions FROM sync_events e " +
                "WHERE e.connection_id = $id AND e.direction = 'Incoming' AND +e.status = 'Queued' " +
                "AND NOT EXISTS (SELECT 1 FROM sync_events f WHERE f.connection_id = e.connection_id AND f.direction = 'Incoming' " +
                "AND f.case_id = e.case_id AND f.case_seq < e.case_seq) " +
                (owner is null ? "" : "AND NOT EXISTS (SELECT 1 FROM sync_apply_claims c WHERE c.connection_id = $id || '|' || e.case_id AND c.owner <> $owner AND c.expires_at > $now) ") +
                "ORDER BY e.seq LIMIT $limit;",
                ("$id", ConnectionStore.FormatId(connectionId)), ("$limit", (long)limit), ("$owner", owner), ("$now", now)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    events.Add(new IncomingToApply(
                        Guid.Parse(reader.GetString(0)),
                        reader.GetString(1),
                        reader.GetInt64(2),
                        reader.GetString(3),
                        reader.GetString(4),
                        reader.IsDBNull(5) ? null : reader.GetString(5),
                        reader.IsDBNull(6) ? (long?)null : reader.GetInt64(6),
                        reader.IsDBNull(7) ? null : reader.GetString(7)));
                }
            }

            return events;
        }

        /// <summary>An incoming event that was applied: it has done its work (its id stays in sync_received, so it is never taken again).</summary>
        public static void Applied(StoreTransaction tx, Guid connectionId, Guid eventId) => tx.Execute(
            "DELETE FROM sync_events WHERE connection_id = $id AND direction = 'Incoming' AND event_id = $event;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$event", eventId.ToString("D")));

        /// <summary>An incoming event the rule or the system refused: Failed with the error; the case's later events wait behind it.</summary>
        public static void ApplyFailed(StoreTransaction tx, Guid connectionId, Guid eventId, string errorId, string error, DateTimeOffset now) => tx.Execute(
            "UPDATE sync_events SET status = 'Failed', attempts = attempts + 1, error_id = $error_id, error = $error, updated_at = $now " +
            "WHERE connection_id = $id AND direction = 'Incoming' AND event_id = $event;",
            ("$error_id", errorId), ("$error", error), ("$now", now.ToUnixTimeMilliseconds()), ("$id", ConnectionStore.FormatId(connectionId)), ("$event", eventId.ToString("D")));

        /// <summary>A retry of a Failed incoming event: Queued again, for the next apply. Returns false when it is no longer Failed.</summary>
        public static bool RetryIncoming(StoreTransaction tx, Guid connectionId, Guid eventId, DateTimeOffset now) => tx.Execute(
            "UPDATE sync_events SET status = 'Queued', error_id = NULL, error = NULL, updated_at = $now " +
            "WHERE connection_id = $id AND direction = 'Incoming' AND event_id = $event AND status = 'Failed';",
            ("$now", now.ToUnixTimeMilliseconds()), ("$id", ConnectionStore.FormatId(connectionId)), ("$event", eventId.ToString("D"))) == 1;

        /// <summary>
        /// Holds (Queued to Held) or releases (Held to Queued) the incoming events of the private connections bound to the system
        /// connection <paramref name="systemId"/>, when it becomes Inactive or Active again. Returns how many changed.
        /// </summary>
        public static int HoldIncomingOf(StoreTransaction tx, Guid systemId, bool hold, DateTimeOffset now) => tx.Execute(
            "UPDATE sync_events SET status = $to, updated_at = $now WHERE direction = 'Incoming' AND status = $from " +
            "AND connection_id IN (SELECT id FROM connections WHERE system_id = $system);",
            ("$to", (hold ? SyncEventStatus.Held : SyncEventStatus.Queued).ToString()), ("$from", (hold ? SyncEventStatus.Queued : SyncEventStatus.Held).ToString()),
            ("$now", now.ToUnixTimeMilliseconds()), ("$system", ConnectionStore.FormatId(systemId)));

        /// <summary>The same for one private connection, when it is bound to another system (or unbound).</summary>
        public static int HoldIncoming(StoreTransaction tx, Guid connectionId, bool hold, DateTimeOffset now) => tx.Execute(
            "UPDATE sync_events SET status = $to, updated_at = $now WHERE connection_id = $id AND direction = 'Incoming' AND status = $from;",
            ("$to", (hold ? SyncEventStatus.Held : SyncEventStatus.Queued).ToString()), ("$from", (hold ? SyncEventStatus.Queued : SyncEventStatus.Held).ToString()),
            ("$now", now.ToUnixTimeMilliseconds()), ("$id", ConnectionStore.FormatId(connectionId)));

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

    /// <summary>An incoming event ready to apply, with what its sender knew of the case (see <see cref="Peering.SyncEventMessage.Versions"/>).</summary>
    internal sealed class IncomingToApply
    {
        public IncomingToApply(Guid eventId, string caseId, long sequence, string traceId, string replica, string? twinCaseId, long? changedAt, string? partnerVersions)
        {
            EventId = eventId;
            CaseId = caseId;
            Sequence = sequence;
            TraceId = traceId;
            Replica = replica;
            TwinCaseId = twinCaseId;
            ChangedAt = changedAt;
            PartnerVersions = partnerVersions;
        }

        public Guid EventId { get; }

        public string CaseId { get; }

        public long Sequence { get; }

        public string TraceId { get; }

        public string Replica { get; }

        public string? TwinCaseId { get; }

        public long? ChangedAt { get; }

        /// <summary>The versions of the case's fields as the sender counts them (JSON object), or null from a sender before store V14.</summary>
        public string? PartnerVersions { get; }
    }
}
