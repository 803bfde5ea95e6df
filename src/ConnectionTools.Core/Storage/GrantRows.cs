using System;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Storage
{
    /// <summary>SQL for the encrypted grant of each system connection. The blob is protected by the node's secret protector before it gets here.</summary>
    internal static class GrantRows
    {
        public static void Save(SqliteConnection db, SqliteTransaction tx, Guid connectionId, byte[] grantProtected, DateTimeOffset at) => Sql.Execute(
            db,
            tx,
            "INSERT INTO grants (connection_id, grant_protected, updated_at) VALUES ($id, $grant, $at) " +
            "ON CONFLICT(connection_id) DO UPDATE SET grant_protected = excluded.grant_protected, updated_at = excluded.updated_at;",
            ("$id", ConnectionStore.FormatId(connectionId)),
            ("$grant", grantProtected),
            ("$at", at.ToUnixTimeMilliseconds()));

        public static byte[]? Find(SqliteConnection db, SqliteTransaction? tx, Guid connectionId) =>
            (byte[]?)Sql.Scalar(db, tx, "SELECT grant_protected FROM grants WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));

        /// <summary>A removed connection keeps its history, not its grant.</summary>
        public static void Delete(SqliteConnection db, SqliteTransaction tx, Guid connectionId) =>
            Sql.Execute(db, tx, "DELETE FROM grants WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));
    }
}
