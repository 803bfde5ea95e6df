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

        /// <summary>
        /// Deletes the connection's queued outgoing events (its bound system went away, or it was unbound): they hold cases of a
        /// system it no longer syncs. Returns how many were dropped. The sequence numbers in sync_cases stay, so numbering never restarts.
        /// </summary>
        public static int DropOutgoing(StoreTransaction tx, System.Guid connectionId) => tx.Execute(
            "DELETE FROM sync_events WHERE connection_id = $id AND direction = 'Outgoing';",
            ("$id", ConnectionStore.FormatId(connectionId)));
    }
}
