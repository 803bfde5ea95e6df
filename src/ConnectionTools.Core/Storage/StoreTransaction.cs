using System.Data.Common;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// One unit of work on the store that writes: the connection and its IMMEDIATE transaction, as one. Every command run
    /// through it joins the transaction, which <see cref="ConnectionStore"/> commits when the work returns. Savepoints let a
    /// batch undo one item and keep the rest.
    /// </summary>
    internal sealed class StoreTransaction : StoreSession
    {
        internal StoreTransaction(StoreEngine engine, DbConnection connection, DbTransaction transaction)
            : base(engine, connection, transaction)
        {
        }

        private DbTransaction Current => Transaction!;

        /// <summary>Opens a savepoint named <paramref name="savepoint"/>.</summary>
        /// <remarks>In SQL rather than through DbTransaction, which has no savepoints on netstandard2.0; both engines speak it.</remarks>
        public void Save(string savepoint) => Execute("SAVEPOINT " + savepoint + ";");

        /// <summary>Undoes what was written since the savepoint, which stays open.</summary>
        public void Rollback(string savepoint) => Execute("ROLLBACK TO SAVEPOINT " + savepoint + ";");

        /// <summary>Ends the savepoint, keeping what was written since it in the transaction.</summary>
        public void Release(string savepoint) => Execute("RELEASE SAVEPOINT " + savepoint + ";");

        internal void Commit() => Current.Commit();
    }
}
