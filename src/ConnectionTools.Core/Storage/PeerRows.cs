using System;

namespace ConnectionTools.Storage
{
    /// <summary>SQL for the peer key of each accepted private connection, and the replay guard of token ids.</summary>
    internal static class PeerRows
    {
        public static void SaveKey(StoreTransaction tx, Guid connectionId, byte[] keyProtected) => tx.Execute(
            "INSERT INTO peer_keys (connection_id, key_protected) VALUES ($id, $key) ON CONFLICT(connection_id) DO UPDATE SET key_protected = excluded.key_protected;",
            ("$id", ConnectionStore.FormatId(connectionId)),
            ("$key", keyProtected));

        public static byte[]? FindKey(StoreSession db, Guid connectionId) =>
            (byte[]?)db.Scalar("SELECT key_protected FROM peer_keys WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));

        /// <summary>Records a token id; false when it was seen before (a replay). Expired ids are pruned on the way.</summary>
        public static bool TryUseTokenId(StoreTransaction tx, string tokenId, DateTimeOffset expiresAt, DateTimeOffset now)
        {
            tx.Execute("DELETE FROM peer_replay WHERE expires_at < $now;", ("$now", now.ToUnixTimeMilliseconds()));
            return tx.Execute(
                "INSERT INTO peer_replay (token_id, expires_at) VALUES ($id, $expires) ON CONFLICT DO NOTHING;",
                ("$id", tokenId),
                ("$expires", expiresAt.ToUnixTimeMilliseconds())) == 1;
        }

        public static void TouchExchange(StoreTransaction tx, Guid connectionId, DateTimeOffset at) => tx.Execute(
            "UPDATE connections SET last_exchange_at = $at WHERE id = $id;",
            ("$id", ConnectionStore.FormatId(connectionId)),
            ("$at", at.ToUnixTimeMilliseconds()));
    }
}
