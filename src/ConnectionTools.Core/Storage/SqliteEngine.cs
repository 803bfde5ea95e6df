using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Globalization;
using ConnectionTools.Errors;
using ConnectionTools.Platform;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// The embedded store: one SQLite file in WAL mode. Writers take the file's write lock when their transaction begins
    /// (IMMEDIATE); the schema version is PRAGMA user_version and the store's stamp PRAGMA application_id.
    /// </summary>
    internal sealed class SqliteEngine : StoreEngine
    {
        private readonly string _connectionString;
        private readonly TimeSpan _busyTimeout;

        public SqliteEngine(string path, string realPath, TimeSpan busyTimeout)
        {
            Display = path;
            Key = realPath;
            _busyTimeout = busyTimeout;
            _connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = realPath,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Cache = SqliteCacheMode.Private,
                Pooling = true,
                DefaultTimeout = (int)Math.Ceiling(busyTimeout.TotalSeconds),
            }.ToString();
        }

        public override string Name => "SQLite";

        public override string Display { get; }

        public override string Key { get; }

        public override DbConnection Open()
        {
            var connection = new SqliteConnection(_connectionString);
            try
            {
                connection.Open();
                using (var command = connection.CreateCommand())
                {
                    // WAL with synchronous=NORMAL survives a killed process intact; only a power cut can drop the last commits.
                    // An 8 MB page cache per connection and no memory map keep a node host's memory bounded while case sync grows
                    // the store (mapped pages of a growing file stay resident); a listing of 10,000 connections is as fast either way.
                    command.CommandText =
                        "PRAGMA busy_timeout = " + ((int)_busyTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) +
                        "; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -8192; PRAGMA mmap_size = 0;";
                    command.ExecuteNonQuery();
                }

                return connection;
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        public override DbTransaction BeginWrite(DbConnection connection) => ((SqliteConnection)connection).BeginTransaction(deferred: false);

        public override void Prepare(DbConnection connection, bool created)
        {
            if (created)
            {
                // SQLite has just created the file; its -wal and -shm take the file's mode when SQLite makes them.
                try
                {
                    UnixFile.SetMode(Display, UnixFile.OwnerReadWrite);
                }
                catch (System.IO.IOException e)
                {
                    throw StoreFile.Unavailable(Display, e);
                }
            }
        }

        public override int ReadVersion(StoreSession db) => Convert.ToInt32(db.Scalar("PRAGMA user_version;"), CultureInfo.InvariantCulture);

        public override void WriteVersion(StoreTransaction tx, int version)
        {
            tx.Execute("PRAGMA user_version = " + version.ToString(CultureInfo.InvariantCulture) + ";");
            tx.Execute("PRAGMA application_id = " + ConnectionStore.ApplicationId.ToString(CultureInfo.InvariantCulture) + ";");
        }

        /// <summary>
        /// A store carries this product's application id. An empty database becomes a store; one from before the id existed is
        /// recognised by its tables; any other database belongs to another application and is refused unchanged.
        /// </summary>
        public override bool EnsureConnectionToolsStore(StoreSession db, int version)
        {
            // A file that is not SQLite fails here, with SQLite's own "not a database".
            var applicationId = Convert.ToInt32(db.Scalar("PRAGMA application_id;"), CultureInfo.InvariantCulture);

            if (applicationId == ConnectionStore.ApplicationId)
            {
                return false;
            }

            if (applicationId != 0)
            {
                throw StoreFile.ForeignDatabase(Display, $"its application id is 0x{applicationId:X8}");
            }

            var objects = Convert.ToInt64(db.Scalar("SELECT COUNT(*) FROM sqlite_master;"), CultureInfo.InvariantCulture);
            if (objects == 0 && version == 0)
            {
                return true;
            }

            var ourTables = Convert.ToInt64(
                db.Scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('connections', 'audit', 'node');"),
                CultureInfo.InvariantCulture);
            if (version < 1 || ourTables != 3)
            {
                throw StoreFile.ForeignDatabase(Display, $"it has {objects} schema object(s) and none of a ConnectionTools store's tables");
            }

            return true;
        }

        /// <summary>WAL, once the file is known to be a store this version can use: the one change made to a file before it migrates.</summary>
        public override void Accept(StoreSession db)
        {
            if (!string.Equals((string?)db.Scalar("PRAGMA journal_mode;"), "wal", StringComparison.OrdinalIgnoreCase))
            {
                db.Scalar("PRAGMA journal_mode = WAL;");
            }
        }

        /// <summary>PRAGMA quick_check (the structure, in about the time of a full read) or integrity_check (also every index).</summary>
        public override IReadOnlyList<string> Check(StoreSession db, bool full)
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

            return lines;
        }

        public override bool IsTransient(DbException e) => e is SqliteException s && (s.SqliteErrorCode == 5 || s.SqliteErrorCode == 6);

        public override ConnectionToolsException Translate(DbException e, SharedStore shared, TimeSpan retryBudget)
        {
            switch ((e as SqliteException)?.SqliteErrorCode)
            {
                case 5:
                case 6:
                    return new ConnectionToolsException(
                        ErrorIds.StoreBusy,
                        ErrorKind.ResourceBusy,
                        $"The store '{Display}' stayed locked by another process for {retryBudget.TotalSeconds:0} seconds. Nothing was changed.",
                        Display,
                        "Try again when the other process has finished.",
                        e);
                case 8:
                    return new ConnectionToolsException(
                        ErrorIds.StoreReadOnly,
                        ErrorKind.PermissionDenied,
                        $"The store '{Display}' is read-only for this user. Nothing was changed.",
                        Display,
                        "Give this user write access to the store file and its folder.",
                        e);
                case 11:
                    shared.MarkDamaged(e.Message);
                    return StoreFile.Corrupt(Display, e);
                case 26:
                    return StoreFile.NotAStore(Display, e);
                case 14:
                    return StoreFile.Unavailable(Display, e);
                case 23:
                    return StoreFile.AccessDenied(Display, e);
                default:
                    return new ConnectionToolsException(
                        ErrorIds.StoreFailed,
                        ErrorKind.WriteError,
                        $"The store '{Display}' reported an error: {e.Message} Nothing was changed.",
                        Display,
                        null,
                        e);
            }
        }

        public override void ClearPool()
        {
            // The file can then be moved, deleted or checkpointed by others.
            using (var connection = new SqliteConnection(_connectionString))
            {
                SqliteConnection.ClearPool(connection);
            }
        }
    }
}
