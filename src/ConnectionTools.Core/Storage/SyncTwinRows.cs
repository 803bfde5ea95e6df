using System;
using System.Collections.Generic;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// SQL for twins: the stored link between a partner's case and the local case an incoming apply wrote it into, per private
    /// connection. A twin keeps the case as the last apply left it (what the incoming rule sees next time) and the state the
    /// bound system should hold now as far as this node knows (neutral fields): when the retrieval job reads the case back in that
    /// state, it is this node's own write coming back, not a change to send to the partner. The versions say, per field, which
    /// changes of each side the value has seen (the merge settles conflicts with them); the origin says which side made the case.
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
    base            TEXT NOT NULL DEFAULT '{}',
    origin          TEXT NOT NULL DEFAULT 'Partner',
    local_changed_at INTEGER NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (connection_id, partner_case_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_sync_twins_local ON sync_twins(connection_id, local_case_id);
CREATE TABLE IF NOT EXISTS sync_apply_claims (
    connection_id TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    expires_at    INTEGER NOT NULL
) WITHOUT ROWID;
";

        /// <summary>
        /// Comment writes in flight (store V12): an apply records the bodies it is about to append to a case before it sends them,
        /// and deletes the row in the transaction that records what was written. A row still there when the case is applied next
        /// means the last attempt crashed or ended without a clear answer after writing some comments: that apply reads the case's
        /// comments first (ICommentReader) and skips those already there, since comments carry no key to upsert on.
        /// </summary>
        public const string CreateCommentWrites = @"
CREATE TABLE IF NOT EXISTS sync_comment_writes (
    connection_id   TEXT NOT NULL,
    partner_case_id TEXT NOT NULL,
    bodies          TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    PRIMARY KEY (connection_id, partner_case_id)
) WITHOUT ROWID;
";

        /// <summary>
        /// This side's own cases that have no twin yet (store V14): the state the retrieval job last read and the fields' versions,
        /// so that the partner's first event about its copy is merged with what this side changed since (the twin takes over then).
        /// </summary>
        public const string CreateOwnCases = @"
CREATE TABLE IF NOT EXISTS sync_own_cases (
    connection_id TEXT NOT NULL,
    local_case_id TEXT NOT NULL,
    state         TEXT NOT NULL,
    versions      TEXT NOT NULL,
    PRIMARY KEY (connection_id, local_case_id)
) WITHOUT ROWID;
";

        /// <summary>
        /// Whether an apply of the connection's incoming events has not finished: a claim on one of its cases is held (by a running
        /// apply, or left by one whose process died) while incoming events wait to be applied. Its writes may be in the system
        /// without their twins.
        /// </summary>
        /// <remarks>
        /// A claim on the whole connection (key: its id alone), written by versions before the per-case claims, is not counted:
        /// nothing takes it over any more, so it would hold this side's new cases back for good.
        /// </remarks>
        public static bool ApplyUnfinished(StoreSession db, Guid connectionId) => (long)(db.Scalar(
            "SELECT EXISTS (SELECT 1 FROM sync_apply_claims WHERE connection_id >= $first AND connection_id < $after) " +
            "AND EXISTS (SELECT 1 FROM sync_events WHERE connection_id = $id AND direction = 'Incoming' AND status = 'Queued');",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$first", CaseKeyPrefix(connectionId)), ("$after", CaseKeyEnd(connectionId))) ?? 0L) != 0;

        /// <summary>
        /// Claims the cases <paramref name="caseIds"/> for <paramref name="owner"/>'s apply until <paramref name="now"/> +
        /// <paramref name="lease"/>: per (connection, case), so several node hosts apply one connection's events at once, each case's
        /// events in order on one of them. Called in the transaction that chose the events, so no two applies claim one case.
        /// </summary>
        public static void ClaimCases(StoreTransaction tx, Guid connectionId, IEnumerable<string> caseIds, string owner, DateTimeOffset now, TimeSpan lease)
        {
            foreach (var caseId in caseIds)
            {
                ProcessClaims.Hold(tx, CaseKeyPrefix(connectionId) + caseId, owner, now + lease);
            }
        }

        /// <summary>Drops the case claims of the connection whose apply ended without letting go (its process is gone, or the lease ran out).</summary>
        public static void DropLapsedCaseClaims(StoreTransaction tx, Guid connectionId, string owner, DateTimeOffset now)
        {
            var held = new List<(string Key, string Owner, long Expires)>();
            using (var command = tx.Command(
                "SELECT connection_id, owner, expires_at FROM sync_apply_claims WHERE connection_id >= $first AND connection_id < $after AND owner <> $owner;",
                ("$first", CaseKeyPrefix(connectionId)), ("$after", CaseKeyEnd(connectionId)), ("$owner", owner)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    held.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
                }
            }

            var gone = new Dictionary<string, bool>(StringComparer.Ordinal);
            foreach (var (key, holder, expires) in held)
            {
                if (!gone.TryGetValue(holder, out var isGone))
                {
                    gone[holder] = isGone = ProcessClaims.HolderGone(holder);
                }

                if (isGone || expires <= now.ToUnixTimeMilliseconds())
                {
                    ProcessClaims.Release(tx, key, holder);
                }
            }
        }

        /// <summary>Lets go of every case claim <paramref name="owner"/> holds on the connection.</summary>
        public static void ReleaseCases(StoreTransaction tx, Guid connectionId, string owner) => tx.Execute(
            "DELETE FROM sync_apply_claims WHERE connection_id >= $first AND connection_id < $after AND owner = $owner;",
            ("$first", CaseKeyPrefix(connectionId)), ("$after", CaseKeyEnd(connectionId)), ("$owner", owner));

        /// <summary>A case claim's key starts with the connection's id and '|'; '}' sorts right after '|', so keys of one connection lie between the two.</summary>
        private static string CaseKeyPrefix(Guid connectionId) => ConnectionStore.FormatId(connectionId) + "|";

        private static string CaseKeyEnd(Guid connectionId) => ConnectionStore.FormatId(connectionId) + "}";

        public static Twin? FindByPartner(StoreSession db, Guid connectionId, string partnerCaseId) => One(db,
            "SELECT partner_case_id, local_case_id, entity, expected, versions, origin, written_comments, applied_at, prior_expected FROM sync_twins WHERE connection_id = $id AND partner_case_id = $case;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$case", partnerCaseId));

        public static Twin? FindByLocal(StoreSession db, Guid connectionId, string localCaseId) => One(db,
            "SELECT partner_case_id, local_case_id, entity, expected, versions, origin, written_comments, applied_at, prior_expected FROM sync_twins WHERE connection_id = $id AND local_case_id = $case;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$case", localCaseId));

        /// <summary>
        /// Records an apply: the twin is made on the partner case's first apply and follows it afterwards. <paramref name="writtenComments"/>
        /// is the JSON array of every comment body this node's applies appended to the local case so far.
        /// </summary>
        public static void Save(StoreTransaction tx, Guid connectionId, string partnerCaseId, string localCaseId, string entity, string expected, string versions, bool ours, DateTimeOffset now, string writtenComments = "[]")
        {
            tx.Execute(
                "INSERT INTO sync_twins (connection_id, partner_case_id, local_case_id, entity, expected, versions, origin, written_comments, created_at, updated_at, applied_at) " +
                "VALUES ($id, $partner, $local, $entity, $expected, $versions, $origin, $written, $now, $now, $now) " +
                "ON CONFLICT(connection_id, partner_case_id) DO UPDATE SET local_case_id = excluded.local_case_id, entity = excluded.entity, expected = excluded.expected, " +
                "versions = excluded.versions, written_comments = excluded.written_comments, updated_at = excluded.updated_at, " +
                "prior_expected = sync_twins.expected, applied_at = excluded.applied_at;",
                ("$id", ConnectionStore.FormatId(connectionId)), ("$partner", partnerCaseId), ("$local", localCaseId), ("$entity", entity), ("$expected", expected),
                ("$versions", versions), ("$origin", ours ? "Local" : "Partner"), ("$written", writtenComments), ("$now", now.ToUnixTimeMilliseconds()));

            // The twin takes over from what was kept of this side's own case.
            tx.Execute("DELETE FROM sync_own_cases WHERE connection_id = $id AND local_case_id = $local;",
                ("$id", ConnectionStore.FormatId(connectionId)), ("$local", localCaseId));
        }

        /// <summary>What this side's own case without a twin holds, as the retrieval job last read it, and its fields' versions.</summary>
        public static (string State, string Versions)? FindOwn(StoreSession db, Guid connectionId, string localCaseId)
        {
            using (var command = db.Command("SELECT state, versions FROM sync_own_cases WHERE connection_id = $id AND local_case_id = $case;",
                ("$id", ConnectionStore.FormatId(connectionId)), ("$case", localCaseId)))
            using (var reader = command.ExecuteReader())
            {
                return reader.Read() ? (reader.GetString(0), reader.GetString(1)) : ((string, string)?)null;
            }
        }

        public static void SaveOwn(StoreTransaction tx, Guid connectionId, string localCaseId, string state, string versions) => tx.Execute(
            "INSERT INTO sync_own_cases (connection_id, local_case_id, state, versions) VALUES ($id, $case, $state, $versions) " +
            "ON CONFLICT(connection_id, local_case_id) DO UPDATE SET state = excluded.state, versions = excluded.versions;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$case", localCaseId), ("$state", state), ("$versions", versions));

        /// <summary>Marks the comments an apply is about to append to a partner case's local case (see <see cref="CreateCommentWrites"/>).</summary>
        public static void StartCommentWrites(StoreTransaction tx, Guid connectionId, string partnerCaseId, string bodies, DateTimeOffset now) => tx.Execute(
            "INSERT INTO sync_comment_writes (connection_id, partner_case_id, bodies, started_at) VALUES ($id, $partner, $bodies, $now) " +
            "ON CONFLICT(connection_id, partner_case_id) DO UPDATE SET bodies = excluded.bodies, started_at = excluded.started_at;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$partner", partnerCaseId), ("$bodies", bodies), ("$now", now.ToUnixTimeMilliseconds()));

        /// <summary>The outcome of the comment writes is recorded: nothing is left uncertain.</summary>
        public static void EndCommentWrites(StoreTransaction tx, Guid connectionId, string partnerCaseId) => tx.Execute(
            "DELETE FROM sync_comment_writes WHERE connection_id = $id AND partner_case_id = $partner;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$partner", partnerCaseId));

        /// <summary>Whether an earlier apply of the partner case may have left comments written but not recorded.</summary>
        public static bool CommentWritesUncertain(StoreSession db, Guid connectionId, string partnerCaseId) => (long)(db.Scalar(
            "SELECT EXISTS (SELECT 1 FROM sync_comment_writes WHERE connection_id = $id AND partner_case_id = $partner);",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$partner", partnerCaseId)) ?? 0L) != 0;

        /// <summary>
        /// What the retrieval job last read of a twinned case: the state the next echo check compares with, and the fields' versions
        /// with this side's changes counted (null: unchanged).
        /// </summary>
        public static void SaveSeen(StoreTransaction tx, Guid connectionId, string localCaseId, string expected, string? versions, DateTimeOffset now) => tx.Execute(
            "UPDATE sync_twins SET expected = $expected, versions = COALESCE($versions, versions), updated_at = $now WHERE connection_id = $id AND local_case_id = $local;",
            ("$id", ConnectionStore.FormatId(connectionId)), ("$local", localCaseId), ("$expected", expected), ("$versions", versions), ("$now", now.ToUnixTimeMilliseconds()));

        /// <summary>Whether the connection has any twin: one index probe, however many it has.</summary>
        public static bool Any(StoreSession db, Guid connectionId) => (long)(db.Scalar(
            "SELECT EXISTS (SELECT 1 FROM sync_twins WHERE connection_id = $id);", ("$id", ConnectionStore.FormatId(connectionId))) ?? 0L) != 0;

        public static long Count(StoreSession db, Guid connectionId) => (long)(db.Scalar(
            "SELECT COUNT(*) FROM sync_twins WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId))) ?? 0L);

        public static void Drop(StoreTransaction tx, Guid connectionId)
        {
            tx.Execute("DELETE FROM sync_twins WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));
            tx.Execute("DELETE FROM sync_apply_claims WHERE connection_id = $id OR (connection_id >= $first AND connection_id < $after);",
                ("$id", ConnectionStore.FormatId(connectionId)), ("$first", CaseKeyPrefix(connectionId)), ("$after", CaseKeyEnd(connectionId)));
            tx.Execute("DELETE FROM sync_comment_writes WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));
            tx.Execute("DELETE FROM sync_own_cases WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));
        }

        private static Twin? One(StoreSession db, string sql, params (string Name, object? Value)[] parameters)
        {
            using (var command = db.Command(sql, parameters))
            using (var reader = command.ExecuteReader())
            {
                return reader.Read()
                    ? new Twin(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5) == "Local", reader.GetString(6))
                    {
                        AppliedAt = reader.IsDBNull(7) ? (long?)null : reader.GetInt64(7),
                        PriorExpected = reader.IsDBNull(8) ? null : reader.GetString(8),
                    }
                    : null;
            }
        }

        internal sealed class Twin
        {
            public Twin(string partnerCaseId, string localCaseId, string entity, string expected, string versions, bool ours, string writtenComments = "[]")
            {
                WrittenComments = writtenComments;
                PartnerCaseId = partnerCaseId;
                LocalCaseId = localCaseId;
                Entity = entity;
                Expected = expected;
                Versions = versions;
                Ours = ours;
            }

            public string PartnerCaseId { get; }

            public string LocalCaseId { get; }

            /// <summary>The case as the incoming rule left it at the last apply (JSON).</summary>
            public string Entity { get; }

            /// <summary>The neutral fields the bound system should hold now (JSON object; a null field is not known yet).</summary>
            public string Expected { get; }

            /// <summary>The versions of the case's neutral fields, counted from this side (see <see cref="Sync.FieldVersions"/>).</summary>
            public string Versions { get; }

            /// <summary>Whether the case was made on this side (the partner's is made from it).</summary>
            public bool Ours { get; }

            /// <summary>The comment bodies this node's applies appended to the local case (JSON array of strings, oldest first).</summary>
            public string WrittenComments { get; }

            /// <summary>When this node's last apply to the case committed (node clock, Unix ms); null before store V13.</summary>
            public long? AppliedAt { get; internal set; }

            /// <summary>What <see cref="Expected"/> was before the last apply: the case as a read made before that write saw it.</summary>
            public string? PriorExpected { get; internal set; }
        }
    }
}
