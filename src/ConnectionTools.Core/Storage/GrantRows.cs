using System;
using System.Collections.Generic;

namespace ConnectionTools.Storage
{
    /// <summary>SQL for the encrypted grant of each system connection. The blob is protected by the node's secret protector before it gets here.</summary>
    internal static class GrantRows
    {
        public static void Save(StoreTransaction tx, Guid connectionId, byte[] grantProtected, DateTimeOffset at) => tx.Execute(
            "INSERT INTO grants (connection_id, grant_protected, updated_at) VALUES ($id, $grant, $at) " +
            "ON CONFLICT(connection_id) DO UPDATE SET grant_protected = excluded.grant_protected, updated_at = excluded.updated_at;",
            ("$id", ConnectionStore.FormatId(connectionId)),
            ("$grant", grantProtected),
            ("$at", at.ToUnixTimeMilliseconds()));

        public static byte[]? Find(StoreSession db, Guid connectionId) =>
            (byte[]?)db.Scalar("SELECT grant_protected FROM grants WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));

        /// <summary>Every stored grant, by connection id, from one query.</summary>
        public static Dictionary<Guid, byte[]> All(StoreSession db)
        {
            var all = new Dictionary<Guid, byte[]>();
            using (var command = db.Command("SELECT connection_id, grant_protected FROM grants;"))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    all[Guid.Parse(reader.GetString(0))] = (byte[])reader.GetValue(1);
                }
            }

            return all;
        }

        /// <summary>A removed connection keeps its history, not its grant.</summary>
        public static void Delete(StoreTransaction tx, Guid connectionId)
        {
            tx.Execute("DELETE FROM grants WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));
            tx.Execute("DELETE FROM grant_refresh WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));
        }

        internal const string CreateRefreshTable = @"
CREATE TABLE IF NOT EXISTS grant_refresh (
    connection_id TEXT PRIMARY KEY,
    owner         TEXT NULL,
    expires_at    INTEGER NULL,
    sent_at       INTEGER NULL
);
";

        /// <summary>
        /// Takes the refresh claim of a connection's grant unless another owner, still running, holds one that has not expired; in the caller's
        /// IMMEDIATE transaction. On success, marks the refresh as sent (cleared by <see cref="SaveRefreshed"/> or
        /// <see cref="ReleaseClaim"/> when the answer is known) and returns when an earlier refresh was sent without a known answer.
        /// </summary>
        public static (bool Claimed, DateTimeOffset? Unanswered) TryClaim(StoreTransaction tx, Guid connectionId, string owner, DateTimeOffset now, TimeSpan lease)
        {
            var id = ConnectionStore.FormatId(connectionId);
            long? sentAt = null;
            using (var command = tx.Command("SELECT owner, expires_at, sent_at FROM grant_refresh WHERE connection_id = $id;", ("$id", id)))
            using (var reader = command.ExecuteReader())
            {
                if (reader.Read())
                {
                    var holder = reader.IsDBNull(0) ? null : reader.GetString(0);
                    var expires = reader.IsDBNull(1) ? (long?)null : reader.GetInt64(1);
                    // A claim of a process that ended (killed mid-refresh) is taken over at once, not after its lease; its
                    // sent mark stays, so a refusal of the token it may have used up still says why.
                    if (holder != null && holder != owner && expires > now.ToUnixTimeMilliseconds() && !ProcessClaims.HolderGone(holder))
                    {
                        return (false, null);
                    }

                    sentAt = reader.IsDBNull(2) ? (long?)null : reader.GetInt64(2);
                }
            }

            tx.Execute(
                "INSERT INTO grant_refresh (connection_id, owner, expires_at, sent_at) VALUES ($id, $owner, $expires, $now) " +
                "ON CONFLICT(connection_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, sent_at = COALESCE(grant_refresh.sent_at, excluded.sent_at);",
                ("$id", id),
                ("$owner", owner),
                ("$expires", (now + lease).ToUnixTimeMilliseconds()),
                ("$now", now.ToUnixTimeMilliseconds()));
            return (true, sentAt is long at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : (DateTimeOffset?)null);
        }

        /// <summary>Saves a grant the provider just issued and records that the refresh got its answer; false when the connection lost its grant (removed).</summary>
        public static bool SaveRefreshed(StoreTransaction tx, Guid connectionId, byte[] grantProtected, DateTimeOffset at)
        {
            if (Find(tx, connectionId) is null)
            {
                return false;
            }

            Save(tx, connectionId, grantProtected, at);
            tx.Execute("UPDATE grant_refresh SET sent_at = NULL WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));
            return true;
        }

        /// <summary>Lets go of the claim; <paramref name="answered"/> clears the sent mark (the refresh's outcome is known).</summary>
        public static void ReleaseClaim(StoreTransaction tx, Guid connectionId, string owner, bool answered) => tx.Execute(
            "UPDATE grant_refresh SET owner = NULL, expires_at = NULL, sent_at = CASE WHEN $answered = 1 THEN NULL ELSE sent_at END " +
            "WHERE connection_id = $id AND owner = $owner;",
            ("$id", ConnectionStore.FormatId(connectionId)),
            ("$owner", owner),
            ("$answered", answered ? 1 : 0));

        /// <summary>A new grant (re-authorization) starts with no claim history.</summary>
        public static void ResetRefresh(StoreTransaction tx, Guid connectionId) =>
            tx.Execute("UPDATE grant_refresh SET sent_at = NULL WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));
    }
}
