using Microsoft.Data.Sqlite;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// One unit of work on the store that writes: the connection and its IMMEDIATE transaction, as one. Every command run
    /// through it joins the transaction, which <see cref="ConnectionStore"/> commits when the work returns. Savepoints let a
    /// batch undo one item and keep the rest.
    /// </summary>
    internal sealed class StoreTransaction : StoreSession
    {
        internal StoreTransaction(SqliteConnection connection, SqliteTransaction transaction)
            : base(connection, transaction)
        {
        }

        private SqliteTransaction Current => Transaction!;

        /// <summary>Opens a savepoint named <paramref name="savepoint"/>.</summary>
        public void Save(string savepoint) => Current.Save(savepoint);

        /// <summary>Undoes what was written since the savepoint, which stays open.</summary>
        public void Rollback(string savepoint) => Current.Rollback(savepoint);

        /// <summary>Ends the savepoint, keeping what was written since it in the transaction.</summary>
        public void Release(string savepoint) => Current.Release(savepoint);

        internal void Commit() => Current.Commit();
    }
}
