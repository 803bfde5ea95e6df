using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ConnectionTools.Errors;
using ConnectionTools.Platform;
using Microsoft.Data.Sqlite;

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
            var existed = StoreFile.PrepareLocation(path, location);
            var realPath = UnixFile.RealPath(path);
            var shared = StoreRegistry.Acquire(realPath, () => new SqliteConnectionStringBuilder
            {
                DataSource = realPath,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Cache = SqliteCacheMode.Private,
                Pooling = true,
                DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
            }.ToString());

            var store = new ConnectionStore(path, shared, options);
            try
            {
                lock (shared.InitializeGate)
                {
                    if (!shared.Initialized)
                    {
                        shared.NodeId = store.Retry(() => store.Initialize(created: !existed));
                        shared.Initialized = true;
                        store.Created = !existed;
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

        private IReadOnlyList<string> ReadFindings(bool full) => Read(db =>
        {
            var lines = new List<string>();
            using (var command = db.Command(full ? "PRAGMA integrity_check(100);" : "PRAGMA quick_check(100);"))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    lines.Add(reader.GetString(0));
                }
            }

            return (IReadOnlyList<string>)lines;
        });

        private Guid Initialize(bool created)
        {
            using (var connection = OpenConnection())
            {
                if (created)
                {
                    // SQLite has just created the file; its -wal and -shm take the file's mode when SQLite makes them.
                    try
                    {
                        UnixFile.SetMode(Path, UnixFile.OwnerReadWrite);
                    }
                    catch (System.IO.IOException e)
                    {
                        throw StoreFile.Unavailable(Path, e);
                    }
                }

                // Everything is read before anything can write: a file that is not a store of this version stays exactly as it is.
                // A file that is not SQLite fails here, with SQLite's own "not a database".
                var db = new StoreSession(connection);
                var version = UserVersion(db);
                var applicationId = Convert.ToInt32(db.Scalar("PRAGMA application_id;"), CultureInfo.InvariantCulture);
                EnsureConnectionToolsStore(db, version, applicationId);
                if (version > Migrations.Latest)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.StoreSchemaTooNew,
                        ErrorKind.InvalidData,
                        $"The store '{Path}' has schema version {version}, and this version of ConnectionTools understands up to {Migrations.Latest}. It was not changed.",
                        Path,
                        "Update the ConnectionTools module to the version that wrote this store, or use another store.");
                }

                if (!string.Equals((string?)db.Scalar("PRAGMA journal_mode;"), "wal", StringComparison.OrdinalIgnoreCase))
                {
                    db.Scalar("PRAGMA journal_mode = WAL;");
                }

                if (version < Migrations.Latest || applicationId != ApplicationId)
                {
                    using (var transaction = connection.BeginTransaction(deferred: false))
                    {
                        var tx = new StoreTransaction(connection, transaction);

                        // Another process may have migrated while we waited for the lock.
                        var current = UserVersion(tx);
                        if (current < Migrations.Latest)
                        {
                            Migrations.ApplyPending(tx, current);
                        }

                        tx.Execute("PRAGMA application_id = " + ApplicationId.ToString(CultureInfo.InvariantCulture) + ";");
                        tx.Commit();
                    }
                }

                return Guid.Parse(NodeRows.Get(db, "node_id")!);
            }
        }

        /// <summary>
        /// A store carries this product's application id. An empty database becomes a store; one from before the id existed is
        /// recognised by its tables; any other database belongs to another application and is refused unchanged.
        /// </summary>
        private void EnsureConnectionToolsStore(StoreSession db, int version, int applicationId)
        {
            if (applicationId == ApplicationId)
            {
                return;
            }

            if (applicationId != 0)
            {
                throw StoreFile.ForeignDatabase(Path, $"its application id is 0x{applicationId:X8}");
            }

            var objects = Convert.ToInt64(db.Scalar("SELECT COUNT(*) FROM sqlite_master;"), CultureInfo.InvariantCulture);
            if (objects == 0 && version == 0)
            {
                return;
            }

            var ourTables = Convert.ToInt64(
                db.Scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('connections', 'audit', 'node');"),
                CultureInfo.InvariantCulture);
            if (version < 1 || ourTables != 3)
            {
                throw StoreFile.ForeignDatabase(Path, $"it has {objects} schema object(s) and none of a ConnectionTools store's tables");
            }
        }

        private SqliteConnection OpenConnection()
        {
            var connection = new SqliteConnection(_shared.ConnectionString);
            try
            {
                connection.Open();
                new StoreSession(connection).Execute(
                    // WAL with synchronous=NORMAL survives a killed process intact; only a power cut can drop the last commits.
                    // An 8 MB page cache per connection and no memory map keep a node host's memory bounded while case sync grows
                    // the store (mapped pages of a growing file stay resident); a listing of 10,000 connections is as fast either way.
                    "PRAGMA busy_timeout = " + ((int)_options.BusyTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) +
                    "; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -8192; PRAGMA mmap_size = 0;");
                return connection;
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        private static int UserVersion(StoreSession db) => Convert.ToInt32(db.Scalar("PRAGMA user_version;"), CultureInfo.InvariantCulture);
    }
}
