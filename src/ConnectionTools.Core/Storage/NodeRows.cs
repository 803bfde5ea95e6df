namespace ConnectionTools.Storage
{
    /// <summary>SQL for the node table: the node's own settings (its id, public URL...), one value per key.</summary>
    internal static class NodeRows
    {
        public static string? Get(StoreSession db, string key) => (string?)db.Scalar("SELECT value FROM node WHERE key = $key;", ("$key", key));

        public static void Set(StoreTransaction tx, string key, string value) =>
            tx.Execute("INSERT INTO node (key, value) VALUES ($key, $value) ON CONFLICT(key) DO UPDATE SET value = excluded.value;", ("$key", key), ("$value", value));
    }
}
