using System;
using System.Collections.Generic;
using System.Data.Common;
using ConnectionTools.Errors;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// The database behind a store: the embedded SQLite file (<see cref="SqliteEngine"/>), or a PostgreSQL database
    /// (ConnectionTools.Storage.PostgreSql, loaded only when a store names one). The *Rows classes write one SQL text for both;
    /// an engine opens connections, starts the write transaction that serializes writers, adapts the text and values where the
    /// two dialects differ, keeps the schema version, and turns its errors into the module's.
    /// </summary>
    internal abstract class StoreEngine
    {
        /// <summary>"SQLite" or "PostgreSQL", as Get-ConnectionNode shows it.</summary>
        public abstract string Name { get; }

        /// <summary>Where the store is, safe to show: a file path, or a PostgreSQL server and database with no password.</summary>
        public abstract string Display { get; }

        /// <summary>What identifies this store in the process's registry: every user of one store in a process shares its pool.</summary>
        public abstract string Key { get; }

        /// <summary>An open connection, from the pool.</summary>
        public abstract DbConnection Open();

        /// <summary>
        /// Begins a transaction that holds the store's write lock until it ends, so writers run one after another (SQLite's
        /// IMMEDIATE transaction; a transaction-scoped advisory lock on PostgreSQL), and a unit of work re-reads what it changes.
        /// </summary>
        public abstract DbTransaction BeginWrite(DbConnection connection);

        /// <summary>The statement as this engine runs it; SQLite's own dialect is the one the *Rows classes write.</summary>
        public virtual string Sql(string text) => text;

        /// <summary>Adds a parameter, named as the SQL text names it ($name), with a value this engine can bind.</summary>
        public virtual void Bind(DbCommand command, string name, object? value)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        /// <summary>Sets a parameter bound earlier by <see cref="Bind"/> to a new value.</summary>
        public virtual void Rebind(DbParameter parameter, object? value) => parameter.Value = value ?? DBNull.Value;

        /// <summary>Whether a bound parameter is the one the SQL names <paramref name="name"/>.</summary>
        public virtual bool IsParameter(DbParameter parameter, string name) => string.Equals(parameter.ParameterName, name, StringComparison.Ordinal);

        /// <summary>The schema version the store is at; 0 for a database that is not a store yet.</summary>
        public abstract int ReadVersion(StoreSession db);

        /// <summary>Records the schema version, and that the database is a ConnectionTools store, in the migrating transaction.</summary>
        public abstract void WriteVersion(StoreTransaction tx, int version);

        /// <summary>
        /// Refuses a database that belongs to another application; says whether the database still has to be stamped as a store
        /// (empty, or a store from before the stamp existed).
        /// </summary>
        public abstract bool EnsureConnectionToolsStore(StoreSession db, int version);

        /// <summary>Runs once before the store is first read in this process (file permissions, journal mode).</summary>
        public virtual void Prepare(DbConnection connection, bool created)
        {
        }

        /// <summary>Runs once the database is known to be a store this version can open, before it migrates.</summary>
        public virtual void Accept(StoreSession db)
        {
        }

        /// <summary>The engine's own check of the store; "ok" alone when it found nothing.</summary>
        public abstract IReadOnlyList<string> Check(StoreSession db, bool full);

        /// <summary>A failure worth running the whole unit of work again for: a busy store, or a server that is briefly away.</summary>
        public abstract bool IsTransient(DbException e);

        /// <summary>
        /// Whether the connection itself failed (a server restarted or went away) before the unit of work could commit: the engine
        /// then drops its pooled connections, and the work may run again once or twice on new ones.
        /// </summary>
        public virtual bool Reconnect(DbException e) => false;

        /// <summary>The module's error for a database error; <paramref name="shared"/> learns of damage.</summary>
        public abstract ConnectionToolsException Translate(DbException e, SharedStore shared, TimeSpan retryBudget);

        /// <summary>Closes the pooled connections once the last user of the store in this process lets go.</summary>
        public abstract void ClearPool();

        /// <summary>What is said about the server in Get-ConnectionNode; empty for a file.</summary>
        public virtual string Server => string.Empty;
    }
}
