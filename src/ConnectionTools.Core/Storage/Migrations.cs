using System;
using System.Collections.Generic;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// Versioned schema changes, one list for both engines (PostgreSQL runs the same steps, its engine adapting the DDL's
    /// types). The engine keeps the version (<see cref="StoreEngine.WriteVersion"/>). Each migration runs in the same
    /// transaction as the version bump, so a store is always at exactly one version.
    /// </summary>
    internal static class Migrations
    {
        private static readonly IReadOnlyList<Action<StoreTransaction>> Steps = new Action<StoreTransaction>[]
        {
            V1,
            V2,
            V3,
            V4,
            V5,
            V6,
            V7,
            V8,
            V9,
            V10,
            V11,
            V12,
            V13,
            V14,
        };

        public static int Latest => Steps.Count;

        public static void ApplyPending(StoreTransaction transaction, int currentVersion)
        {
            for (var version = currentVersion; version < Latest; version++)
            {
                Steps[version](transaction);
            }
        }

        /// <summary>Private connections: their side and peer, invitations (verifier only, never the secret), peer keys and the replay guard.</summary>
        private static void V2(StoreTransaction transaction)
        {
            transaction.Execute(@"
ALTER TABLE connections ADD COLUMN mode TEXT NULL;
ALTER TABLE connections ADD COLUMN side TEXT NULL;
ALTER TABLE connections ADD COLUMN local_instance TEXT NULL;
ALTER TABLE connections ADD COLUMN remote_instance TEXT NULL;
ALTER TABLE connections ADD COLUMN peer_node_id TEXT NULL;
ALTER TABLE connections ADD COLUMN peer_node_version TEXT NULL;
ALTER TABLE connections ADD COLUMN peer_url TEXT NULL;
ALTER TABLE connections ADD COLUMN peer_status TEXT NULL;
ALTER TABLE connections ADD COLUMN last_exchange_at INTEGER NULL;
ALTER TABLE connections ADD COLUMN invitation_expires_at INTEGER NULL;
-- One current invitation per pending connection. The code is kept encrypted so Get-InvitationCode can show it again;
-- the verifier (a hash of the secret) is what acceptance is checked against.
CREATE TABLE invitations (
    connection_id  TEXT PRIMARY KEY,
    verifier       TEXT NOT NULL,
    code_protected BLOB NULL,
    issued_at      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
-- Codes that no longer work, so a late or old code gets the right error (used, or replaced by a renewal).
CREATE TABLE invitation_history (
    verifier      TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    at            INTEGER NOT NULL
);
-- The key each side signs peer requests with, encrypted with the node's secret protector.
CREATE TABLE peer_keys (
    connection_id TEXT PRIMARY KEY,
    key_protected BLOB NOT NULL
);
-- Token ids already seen, until they expire: a replayed request is refused.
CREATE TABLE peer_replay (
    token_id   TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
");
        }

        /// <summary>Sync rules of private connections, one script per direction.</summary>
        private static void V3(StoreTransaction transaction)
        {
            transaction.Execute(@"
CREATE TABLE sync_rules (
    connection_id TEXT NOT NULL,
    direction     TEXT NOT NULL,
    entity        TEXT NOT NULL,
    script        TEXT NOT NULL,
    PRIMARY KEY (connection_id, direction, entity)
);
");
        }

        /// <summary>
        /// System connections: the org they reach and how they were authorized, one live connection per org, and the grant,
        /// which is kept only encrypted and only while the connection is not removed.
        /// </summary>
        private static void V4(StoreTransaction transaction)
        {
            transaction.Execute(@"
ALTER TABLE connections ADD COLUMN instance_url TEXT NULL;
ALTER TABLE connections ADD COLUMN environment_type TEXT NULL;
ALTER TABLE connections ADD COLUMN organization_id TEXT NULL;
ALTER TABLE connections ADD COLUMN authorized_as TEXT NULL;
ALTER TABLE connections ADD COLUMN authorized_at INTEGER NULL;
ALTER TABLE connections ADD COLUMN authorization_flow TEXT NULL;
CREATE UNIQUE INDEX ux_connections_live_org ON connections(organization_id) WHERE status <> 'Removed' AND organization_id IS NOT NULL;
CREATE INDEX ix_connections_org ON connections(organization_id) WHERE organization_id IS NOT NULL;
CREATE TABLE grants (
    connection_id   TEXT PRIMARY KEY,
    grant_protected BLOB NOT NULL,
    updated_at      INTEGER NOT NULL
);
");
        }

        /// <summary>
        /// Retrieval jobs of system connections: one schedule per connection, whose state follows the connection's status; the
        /// history of runs, kept after the connection is removed; and the outbound queue of retrieved records, one row per record.
        /// </summary>
        private static void V5(StoreTransaction transaction)
        {
            transaction.Execute(@"
ALTER TABLE connections ADD COLUMN retrieval_interval_seconds INTEGER NULL;
CREATE TABLE jobs (
    connection_id TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    next_run_at   INTEGER NOT NULL,
    watermark     INTEGER NULL
);
CREATE INDEX ix_jobs_due ON jobs(state, next_run_at);
CREATE TABLE job_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id   TEXT NOT NULL,
    connection_name TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    status          TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    ended_at        INTEGER NULL,
    records         INTEGER NOT NULL,
    pages           INTEGER NOT NULL,
    watermark       INTEGER NULL,
    error_id        TEXT NULL,
    error           TEXT NULL
);
CREATE INDEX ix_job_runs_connection ON job_runs(connection_id, id);
CREATE TABLE outbound_queue (
    connection_id TEXT NOT NULL,
    entity        TEXT NOT NULL,
    record_id     TEXT NOT NULL,
    modified_at   INTEGER NOT NULL,
    payload       TEXT NOT NULL,
    queued_at     INTEGER NOT NULL,
    PRIMARY KEY (connection_id, entity, record_id)
);
");
        }

        /// <summary>
        /// Connections as code: which configuration (by name) manages which connection, so that -Prune removes only what a
        /// configuration once managed. Self-contained: it touches no other table.
        /// </summary>
        private static void V6(StoreTransaction transaction)
        {
            transaction.Execute(@"
CREATE TABLE IF NOT EXISTS configuration_managed (
    connection_id TEXT PRIMARY KEY,
    configuration TEXT NOT NULL,
    recorded_at   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_configuration_managed ON configuration_managed(configuration);
");
        }

        /// <summary>
        /// One refresh per grant at a time, across processes: a claim (owner, expiry) per connection, and when a refresh was sent
        /// whose answer never arrived (under refresh-token rotation the grant is then likely revoked). See GrantRows.
        /// </summary>
        private static void V7(StoreTransaction transaction)
        {
            transaction.Execute(GrantRows.CreateRefreshTable);
        }

        /// <summary>
        /// Case sync: the system connection a private connection is bound to (its cases are what it syncs), and the sync events,
        /// outgoing and incoming, with a sequence number per (connection, case) handed out by sync_cases. See SyncEventRows.
        /// </summary>
        private static void V8(StoreTransaction transaction)
        {
            transaction.Execute("ALTER TABLE connections ADD COLUMN system_id TEXT NULL;");
            transaction.Execute(SyncEventRows.CreateTables);
        }

        /// <summary>Case sync between nodes: the event ids received (exactly once), the acknowledgements owed, and each connection's last round.</summary>
        private static void V9(StoreTransaction transaction)
        {
            transaction.Execute(SyncTransportRows.CreateTables);
        }

        /// <summary>
        /// Case sync at scale: the outgoing rule takes the oldest queued cases, and a round the next events, in index order,
        /// instead of sorting all that is left for every batch (10,000 queued changes made that cost grow with the square).
        /// </summary>
        private static void V10(StoreTransaction transaction)
        {
            transaction.Execute(@"
CREATE INDEX IF NOT EXISTS ix_outbound_queue_order ON outbound_queue(connection_id, modified_at, record_id);
CREATE INDEX IF NOT EXISTS ix_sync_events_order ON sync_events(connection_id, direction);
");
        }

        /// <summary>
        /// Case sync, part 2: twins, the link between a partner's case and the local case an incoming apply wrote it into; and,
        /// on each event, the receiver's own case id when the sender's case is a twin of it, and when the sender's system changed it;
        /// and the customer a Dynamics 365 connection creates incidents under.
        /// </summary>
        private static void V11(StoreTransaction transaction)
        {
            transaction.Execute(SyncTwinRows.CreateTables);
            transaction.Execute("ALTER TABLE sync_events ADD COLUMN twin_case_id TEXT NULL;");
            transaction.Execute("ALTER TABLE sync_events ADD COLUMN changed_at INTEGER NULL;");
            transaction.Execute("ALTER TABLE sync_cases ADD COLUMN last_changed_at INTEGER NULL;");
            transaction.Execute("ALTER TABLE connections ADD COLUMN default_customer TEXT NULL;");
        }

        /// <summary>
        /// Case sync, comments: per twin, the comment bodies this node's apply wrote into the local case (so the retrieval job
        /// does not send them back to the partner); and the comment writes of an apply that has not committed yet (so the next
        /// apply reads the case's comments first instead of writing a comment twice after a crash).
        /// </summary>
        private static void V12(StoreTransaction transaction)
        {
            transaction.Execute("ALTER TABLE sync_twins ADD COLUMN written_comments TEXT NOT NULL DEFAULT '[]';");
            transaction.Execute(SyncTwinRows.CreateCommentWrites);
        }

        /// <summary>
        /// Case sync, merges and stale reads: an outgoing event carries the sender's last agreed state of the case (base), so the
        /// receiver's three-way merge knows what the sender agreed on even when the receiver's own write of it was an echo never
        /// sent back; a twin keeps when its last apply committed and what it expected before (prior_expected), so a retrieval
        /// that read the case before that write cannot send the old state back as a change.
        /// </summary>
        private static void V13(StoreTransaction transaction)
        {
            transaction.Execute("ALTER TABLE sync_events ADD COLUMN base TEXT NULL;");
            transaction.Execute("ALTER TABLE sync_twins ADD COLUMN applied_at INTEGER NULL;");
            transaction.Execute("ALTER TABLE sync_twins ADD COLUMN prior_expected TEXT NULL;");
        }

        /// <summary>
        /// Case sync, concurrent edits: each field of a synced case carries its version (how many changes each side made to it,
        /// and when and where its value was made), on the twin, on the events, and for this side's own cases that have no twin yet
        /// (sync_own_cases), so both sides settle a conflict alike. The merge no longer uses the agreed state (sync_twins.base,
        /// sync_events.base) nor the case's change time (sync_twins.local_changed_at): those columns stay, unused.
        /// </summary>
        private static void V14(StoreTransaction transaction)
        {
            transaction.Execute("ALTER TABLE sync_events ADD COLUMN versions TEXT NULL;");
            transaction.Execute("ALTER TABLE sync_twins ADD COLUMN versions TEXT NOT NULL DEFAULT '{}';");
            transaction.Execute(SyncTwinRows.CreateOwnCases);
        }

        private static void V1(StoreTransaction transaction)
        {
            transaction.Execute(@"
CREATE TABLE node (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE connections (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    description     TEXT NOT NULL,
    type            TEXT NOT NULL,
    status          TEXT NOT NULL,
    inactive_reason TEXT NULL,
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    modified_at     INTEGER NOT NULL,
    modified_by     TEXT NOT NULL,
    removed_at      INTEGER NULL,
    version         INTEGER NOT NULL
);
-- Removed connections are tombstones: they keep their name but free it for reuse.
CREATE UNIQUE INDEX ux_connections_live_name ON connections(name_key) WHERE status <> 'Removed';
CREATE TABLE audit (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id   TEXT NOT NULL,
    connection_name TEXT NOT NULL,
    at              INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    summary         TEXT NOT NULL,
    before_json     TEXT NOT NULL,
    after_json      TEXT NOT NULL
);
CREATE INDEX ix_audit_connection ON audit(connection_id, seq);
");
            transaction.Execute(
        "INSERT INTO node (key, value) VALUES ('node_id', $id), ('created_at', $at);",
                ("$id", Guid.NewGuid().ToString("D")),
                ("$at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        }
    }
}
