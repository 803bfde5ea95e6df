using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Errors;
using ConnectionTools.Platform;

namespace ConnectionTools.Storage
{
    /// <summary>Opening the file, migrating its schema, and checking it for damage.</summary>
    public sealed partial class ConnectionStore
    {
        /// <summary>
        /// Opens the store at <paramref name="path"/>, creating it (owner-only) if the file does not exist. A directory, an
        /// unreadable file, a file that is not SQLite, another application's database, a damaged store or one from a newer
        /// version is refused before anything is written to it. Opening a file this process already has open shares it.
        /// </summary>
        public static ConnectionStore Open(string path, StoreOptions? options = null) => Open(path, options, null);

        /// <summary>As <see cref="Open(string, StoreOptions?)"/>, but a missing file is created only when <paramref name="location"/> allows it.</summary>
        internal static ConnectionStore Open(string path, StoreOptions? options, StoreLocation? location)
        {
            options ??= new StoreOptions();
            if (location?.Engine is { } external)
            {
                // A PostgreSQL store: the engine was made from the location's connection string, and the database says
                // whether it is new.
                return Open(external.Key, () => external, options, created: null);
            }

            var existed = StoreFile.PrepareLocation(path, location);
            var realPath = UnixFile.RealPath(path);
            var busyTimeout = options.BusyTimeout;
            return Open(realPath, () => new SqliteEngine(path, realPath, busyTimeout), options, created: !existed);
        }

        /// <param name="created">Whether the store is new; null when the engine learns it from the database (an empty one is new).</param>
        private static ConnectionStore Open(string key, Func<StoreEngine> engine, StoreOptions options, bool? created)
        {
            var shared = StoreRegistry.Acquire(key, engine);
            var store = new ConnectionStore(shared.Engine.Display, shared, options);
            try
            {
                lock (shared.InitializeGate)
                {
                    if (!shared.Initialized)
                    {
                        var (nodeId, isNew) = store.Retry(() => store.Initialize(created));
                        shared.NodeId = nodeId;
                        shared.Initialized = true;
                        store.Created = isNew;
                    }
                }

                return store;
            }
            catch
            {
                store.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Checks the file with SQLite: PRAGMA quick_check (the structure, in about the time of a full read) or, with
        /// <paramref name="full"/>, integrity_check (also every index against its table). Returns "ok", or SQLite's findings.
        /// Reads only; a damaged store is marked so that nothing more is written to it.
        /// </summary>
        public IReadOnlyList<string> Check(bool full)
        {
            IReadOnlyList<string> findings;
            try
            {
                findings = ReadFindings(full);
            }
            catch (ConnectionToolsException e) when (e.ErrorId == ErrorIds.StoreCorrupt)
            {
                // Damage bad enough that the check itself cannot walk the file is a finding too.
                return new[] { e.InnerException?.Message ?? e.Message };
            }

            if (!IsIntact(findings))
            {
                _shared.MarkDamaged(string.Join("; ", findings));
            }

            return findings;
        }

        /// <summary>
        /// Runs <see cref="Check(bool)"/> and refuses a damaged store with <see cref="ErrorIds.StoreCorrupt"/>, naming what SQLite
        /// found; returns SQLite's "ok" otherwise.
        /// </summary>
        public string EnsureIntact(bool full = false)
        {
            var findings = Check(full);
            if (!IsIntact(findings))
            {
                throw StoreFile.Corrupt(Path, null, $"{findings.Count} problem(s) in {(full ? "an integrity" : "a quick")} check, the first: " + string.Join("; ", findings.Take(5)));
            }

            return findings[0];
        }

        /// <summary>Whether the findings of <see cref="Check(bool)"/> are SQLite's single "ok".</summary>
        public static bool IsIntact(IReadOnlyList<string> findings) => findings.Count == 1 && findings[0] == "ok";

        private IReadOnlyList<string> ReadFindings(bool full) => Read(db => _shared.Engine.Check(db, full));

        private (Guid NodeId, bool Created) Initialize(bool? created)
        {
            var engine = _shared.Engine;
            using (var connection = engine.Open())
            {
                engine.Prepare(connection, created == true);

                // Everything is read before anything can write: a database that is not a store of this version stays exactly as it is.
                var db = new StoreSession(engine, connection);
                var version = engine.ReadVersion(db);
                var stamp = engine.EnsureConnectionToolsStore(db, version);
                if (version > Migrations.Latest)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.StoreSchemaTooNew,
                        ErrorKind.InvalidData,
                        $"The store '{Path}' has schema version {version}, and this version of ConnectionTools understands up to {Migrations.Latest}. It was not changed.",
                        Path,
                        "Update the ConnectionTools module to the version that wrote this store, or use another store.");
                }

                engine.Accept(db);
                var isNew = created ?? version == 0;
                if (version < Migrations.Latest || stamp)
                {
                    using (var transaction = engine.BeginWrite(connection))
                    {
                        var tx = new StoreTransaction(engine, connection, transaction);

                        // Another process may have migrated while we waited for the lock.
                        var current = engine.ReadVersion(tx);
                        isNew = created ?? current == 0;
                        if (current < Migrations.Latest)
                        {
                            Migrations.ApplyPending(tx, current);
                        }

                        engine.WriteVersion(tx, Math.Max(current, Migrations.Latest));
                        tx.Commit();
                    }
                }

                return (Guid.Parse(NodeRows.Get(db, "node_id")!), isNew);
            }
        }
    }
}
