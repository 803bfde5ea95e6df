using System;
using System.Collections.Generic;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// Versioned schema changes. The store's version lives in PRAGMA user_version. Each migration runs in the
    /// same transaction as the version bump, so a store is always at exactly one version.
    /// </summary>
    internal static class Migrations
    {
        private static readonly IReadOnlyList<Action<SqliteConnection, SqliteTransaction>> Steps = new Action<SqliteConnection, SqliteTransaction>[]
        {
            V1,
        };

        public static int Latest => Steps.Count;

        public static void ApplyPending(SqliteConnection connection, SqliteTransaction transaction, int currentVersion)
        {
            for (var version = currentVersion; version < Latest; version++)
            {
                Steps[version](connection, transaction);
            }

            Sql.Execute(connection, transaction, $"PRAGMA user_version = {Latest};");
        }

        private static void V1(SqliteConnection connection, SqliteTransaction transaction)
        {
            Sql.Execute(connection, transaction, @"
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
            Sql.Execute(
                connection,
                transaction,
                "INSERT INTO node (key, value) VALUES ('node_id', $id), ('created_at', $at);",
                ("$id", Guid.NewGuid().ToString("D")),
                ("$at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        }
    }
}
