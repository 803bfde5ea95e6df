using System;
using System.Collections.Generic;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// SQL for twins: the stored link between a partner's case and the local case an incoming apply wrote it into, per private
    /// connection. A twin keeps the case as the last apply left it (what the incoming rule sees next time) and the state the
    /// bound system should hold now as far as this node knows (neutral fields): when the retrieval job reads the case back in that
    /// state, it is this node's own write coming back, not a change to send to the partner.
    /// </summary>
    internal static class SyncTwinRows
    {
        public const string CreateTables = @"
CREATE TABLE IF NOT EXISTS sync_twins (
    connection_id   TEXT NOT NULL,
    partner_case_id TEXT NOT NULL,
    local_case_id   TEXT NOT NULL,
    entity          TEXT NOT NULL,
    expected        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (connection_id, partner_case_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_sync_twins_local ON sync_twins(connection_id, local_case_id);
";

        public static Twin? FindByPartner(StoreSession db, Guid connectionId, string partnerCaseId) => One(db,
            "SELECT partner_case_id, local_case_id, entity, expected FROM sync_twins WHERE connection_id = $id AND partner_case_id = $case;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$case", partnerCaseId));

        public static Twin? FindByLocal(StoreSession db, Guid connectionId, string localCaseId) => One(db,
            "SELECT partner_case_id, local_case_id, entity, expected FROM sync_twins WHERE connection_id = $id AND local_case_id = $case;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$case", localCaseId));

        /// <summary>Records an apply: the twin is made on the partner case's first apply and follows it afterwards.</summary>
        public static void Save(StoreTransaction tx, Guid connectionId, string partnerCaseId, string localCaseId, string entity, string expected, DateTimeOffset now) => tx.Execute(
            "INSERT INTO sync_twins (connection_id, partner_case_id, local_case_id, entity, expected, created_at, updated_at) " +
            "VALUES ($id, $partner, $local, $entity, $expected, $now, $now) " +
            "ON CONFLICT(connection_id, partner_case_id) DO UPDATE SET local_case_id = excluded.local_case_id, entity = excluded.entity, expected = excluded.expected, updated_at = excluded.updated_at;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$partner", partnerCaseId), ("$local", localCaseId), ("$entity", entity), ("$expected", expected),
            ("$now", now.ToUnixTimeMilliseconds()));

        /// <summary>What the retrieval job last read of a twinned case: the state the next echo check compares with.</summary>
        public static void SaveSeen(StoreTransaction tx, Guid connectionId, string localCaseId, string expected, DateTimeOffset now) => tx.Execute(
            "UPDATE sync_twins SET expected = $expected, updated_at = $now WHERE connection_id = $id AND local_case_id = $local;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$local", localCaseId), ("$expected", expected), ("$now", now.ToUnixTimeMilliseconds()));

        public static long Count(StoreSession db, Guid connectionId) => (long)(db.Scalar(
            "SELECT COUNT(*) FROM sync_twins WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId))) ?? 0L);

        public static void Drop(StoreTransaction tx, Guid connectionId) =>
            tx.Execute("DELETE FROM sync_twins WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));

        private static Twin? One(StoreSession db, string sql, params (string Name, object? Value)[] parameters)
        {
            using (var command = db.Command(sql, parameters))
            using (var reader = command.ExecuteReader())
            {
                return reader.Read() ? new Twin(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)) : null;
            }
        }

        internal sealed class Twin
        {
            public Twin(string partnerCaseId, string localCaseId, string entity, string expected)
            {
                PartnerCaseId = partnerCaseId;
                LocalCaseId = localCaseId;
                Entity = entity;
                Expected = expected;
            }

            public string PartnerCaseId { get; }

            public string LocalCaseId { get; }

            /// <summary>The case as the incoming rule left it at the last apply (JSON).</summary>
            public string Entity { get; }

            /// <summary>The neutral fields the bound system should hold now (JSON object; a null field is not known yet).</summary>
            public string Expected { get; }
        }
    }
}
