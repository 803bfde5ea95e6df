using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Platform;
using ConnectionTools.Text;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// The node's embedded store: one SQLite file in WAL mode. Every change is one IMMEDIATE transaction that
    /// re-reads the row, applies the change, bumps the version and appends an audit entry, so concurrent writers
    /// serialize instead of losing updates. Safe to share across threads: each unit of work opens its own (pooled) connection.
    /// Each instance is one user's hold on the file's <see cref="SharedStore"/>: every instance for one file in a process shares
    /// its pool and write gate, and the last one disposed closes the file.
    /// </summary>
    public sealed class ConnectionStore : IDisposable
    {
        private const string Columns = "id, name, description, type, status, inactive_reason, created_at, created_by, modified_at, modified_by, removed_at, version, " +
            "mode, side, local_instance, remote_instance, peer_node_id, peer_node_version, peer_url, peer_status, last_exchange_at, invitation_expires_at, " +
            "instance_url, environment_type, organization_id, authorized_as, authorized_at, authorization_flow, retrieval_interval_seconds, " +
            // Which optional columns hold a value, as one bit each (bit n is column 12 + n; then inactive_reason, removed_at):
            // one native call per row instead of one per column, on the hot path of every listing.
            "((mode IS NOT NULL) << 0) | ((side IS NOT NULL) << 1) | ((local_instance IS NOT NULL) << 2) | ((remote_instance IS NOT NULL) << 3) | ((peer_node_id IS NOT NULL) << 4) | ((peer_node_version IS NOT NULL) << 5) | ((peer_url IS NOT NULL) << 6) | ((peer_status IS NOT NULL) << 7) | ((last_exchange_at IS NOT NULL) << 8) | ((invitation_expires_at IS NOT NULL) << 9) | ((instance_url IS NOT NULL) << 10) | ((environment_type IS NOT NULL) << 11) | ((organization_id IS NOT NULL) << 12) | ((authorized_as IS NOT NULL) << 13) | ((authorized_at IS NOT NULL) << 14) | ((authorization_flow IS NOT NULL) << 15) | ((retrieval_interval_seconds IS NOT NULL) << 16) | ((inactive_reason IS NOT NULL) << 17) | ((removed_at IS NOT NULL) << 18)";

        /// <summary>PRAGMA application_id of every ConnectionTools store ("CTst"), so that no other application's database is taken for one.</summary>
        public const int ApplicationId = 0x43547374;

        private readonly SharedStore _shared;
        private readonly StoreOptions _options;
        private readonly Random _jitter = new Random();
        private int _released;

        private ConnectionStore(string path, SharedStore shared, StoreOptions options)
        {
            Path = path;
            _shared = shared;
            _options = options;
        }

        public string Path { get; }

        /// <summary>This node's identity, created with the store.</summary>
        public Guid NodeId => _shared.NodeId;

        public static int SchemaVersion => Migrations.Latest;

        /// <summary>True when this open created the store file (a new store).</summary>
        public bool Created { get; private set; }

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

        public IReadOnlyList<Connection> List(ConnectionFilter filter)
        {
            var result = new List<Connection>();
            Scan(filter, result.Add);
            return result;
        }

        /// <summary>
        /// Hands each matching connection to <paramref name="visit"/> as it is read, in name order, from one query. Nothing is
        /// collected, so a listing of tens of thousands of connections creates only short-lived objects. A busy store is
        /// retried only before the first row, so a retry can never visit a row twice.
        /// </summary>
        public void Scan(ConnectionFilter filter, Action<Connection> visit)
        {
            var where = new List<string>();
            var parameters = new List<(string, object?)>();
            if (!filter.IncludeRemoved)
            {
                where.Add("status <> 'Removed'");
            }

            AddIn(where, parameters, "name_key", "n", filter.ExactNames?.Select(ConnectionNames.Key));
            AddIn(where, parameters, "id", "i", filter.Ids?.Select(FormatId));
            AddIn(where, parameters, "status", "s", filter.Statuses?.Select(s => s.ToString()));
            AddIn(where, parameters, "type", "t", filter.Types?.Select(t => t.ToString()));

            var sql = $"SELECT {Columns} FROM connections" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + " ORDER BY name_key";
            var visited = false;
            Read(connection =>
            {
                using (var command = Sql.Command(connection, null, sql, parameters.ToArray()))
                using (var reader = command.ExecuteReader())
                {
                    while (ReadNext(reader, visited))
                    {
                        visited = true;
                        visit(Map(reader));
                    }
                }

                return 0;
            });
        }

        /// <summary>Steps the reader; once rows have been handed out, a busy store is an error rather than a silent retry.</summary>
        private bool ReadNext(SqliteDataReader reader, bool visited)
        {
            try
            {
                return reader.Read();
            }
            catch (SqliteException e) when (visited && IsBusy(e))
            {
                throw Translate(e);
            }
        }

        public Connection? Find(Guid id) => Read(connection => FindById(connection, null, id));

        /// <summary>The live (not removed) connection with this name, compared without regard to case.</summary>
        public Connection? FindByName(string name) => Read(connection => FindLiveByName(connection, null, name));

        /// <summary>Adds a new connection and its Create audit entry in one transaction.</summary>
        public Connection Create(Connection connection, string actor) => Create(connection, actor, null);

        /// <summary>Creates a connection, and whatever else must exist with it, in one transaction.</summary>
        internal Connection Create(Connection connection, string actor, Action<SqliteConnection, SqliteTransaction>? alsoWrite) =>
            Write((db, tx) => CreateIn(db, tx, connection, actor, alsoWrite));

        /// <summary>As <see cref="Create(Connection, string, Action{SqliteConnection, SqliteTransaction}?)"/>, inside a write transaction the caller holds.</summary>
        internal Connection CreateIn(SqliteConnection db, SqliteTransaction tx, Connection connection, string actor, Action<SqliteConnection, SqliteTransaction>? alsoWrite)
        {
            EnsureNameFree(db, tx, connection.Name, connection.Id);
            EnsureOrganizationFree(db, tx, connection.OrganizationId, connection.Id);
            var now = Now();
            var created = connection.With(c =>
            {
                c.CreatedAt = now;
                c.CreatedBy = actor;
                c.ModifiedAt = now;
                c.ModifiedBy = actor;
                c.Version = 1;
            });
            Sql.Execute(
                db,
                tx,
                "INSERT INTO connections (id, name, name_key, description, type, status, inactive_reason, created_at, created_by, modified_at, modified_by, removed_at, version, " +
                "mode, side, local_instance, remote_instance, peer_node_id, peer_node_version, peer_url, peer_status, last_exchange_at, invitation_expires_at, " +
                "instance_url, environment_type, organization_id, authorized_as, authorized_at, authorization_flow, retrieval_interval_seconds) " +
                "VALUES ($id, $name, $name_key, $description, $type, $status, $reason, $created_at, $created_by, $modified_at, $modified_by, $removed_at, $version, " +
                "$mode, $side, $local_instance, $remote_instance, $peer_node_id, $peer_node_version, $peer_url, $peer_status, $last_exchange_at, $invitation_expires_at, " +
                "$instance_url, $environment_type, $organization_id, $authorized_as, $authorized_at, $authorization_flow, $retrieval_interval);",
                RowParameters(created));
            alsoWrite?.Invoke(db, tx);
            AppendAudit(db, tx, null, created, LifecycleAction.Create, actor, now);
            return created;
        }

        /// <summary>
        /// Applies <paramref name="change"/> to the connection's current row inside one IMMEDIATE transaction.
        /// The change returns null when there is nothing to do; then nothing is written and no audit entry is made.
        /// </summary>
        public ChangeOutcome Change(Guid id, LifecycleAction action, Func<Connection, Connection?> change, string actor) => Change(id, action, change, actor, null);

        /// <summary>
        /// As <see cref="Change(Guid, LifecycleAction, Func{Connection, Connection?}, string)"/>, writing related rows in the same transaction
        /// when the change takes effect. With <paramref name="always"/>, a change whose visible fields end up equal still counts
        /// (a renewed invitation may expire in the same second as the one it replaces).
        /// </summary>
        /// <param name="note">Appended to the audit summary, for changes the connection's own fields do not show.</param>
        internal ChangeOutcome Change(Guid id, LifecycleAction action, Func<Connection, Connection?> change, string actor, Action<SqliteConnection, SqliteTransaction, Connection>? alsoWrite, bool always = false, string? note = null)
        {
            return Write((db, tx) =>
            {
                var before = FindById(db, tx, id) ?? throw NotFound(FormatId(id));
                var proposed = change(before);
                if (proposed is null || (proposed == before && !always))
                {
                    return new ChangeOutcome(before, before, changed: false);
                }

                if (!ConnectionNames.Same(proposed.Name, before.Name) || proposed.Status != before.Status)
                {
                    if (proposed.Status != ConnectionStatus.Removed)
                    {
                        EnsureNameFree(db, tx, proposed.Name, id);
                    }
                }

                if (proposed.OrganizationId != before.OrganizationId && proposed.Status != ConnectionStatus.Removed)
                {
                    EnsureOrganizationFree(db, tx, proposed.OrganizationId, id);
                }

                var now = Now();
                var after = proposed.With(c => { c.Id = before.Id; c.Version = before.Version + 1; c.ModifiedAt = now; c.ModifiedBy = actor; });
                var parameters = RowParameters(after).Concat(new (string, object?)[] { ("$expected", before.Version) }).ToArray();
                var updated = Sql.Execute(
                    db,
                    tx,
                    "UPDATE connections SET name = $name, name_key = $name_key, description = $description, type = $type, status = $status, " +
                    "inactive_reason = $reason, modified_at = $modified_at, modified_by = $modified_by, removed_at = $removed_at, version = $version, " +
                    "mode = $mode, side = $side, local_instance = $local_instance, remote_instance = $remote_instance, peer_node_id = $peer_node_id, " +
                    "peer_node_version = $peer_node_version, peer_url = $peer_url, peer_status = $peer_status, last_exchange_at = $last_exchange_at, invitation_expires_at = $invitation_expires_at, " +
                    "instance_url = $instance_url, environment_type = $environment_type, organization_id = $organization_id, authorized_as = $authorized_as, " +
                    "authorized_at = $authorized_at, authorization_flow = $authorization_flow, retrieval_interval_seconds = $retrieval_interval " +
                    "WHERE id = $id AND version = $expected;",
                    parameters);
                if (updated != 1)
                {
                    // Unreachable while writers hold the IMMEDIATE lock; kept so a future code path can never overwrite silently.
                    throw Conflict(before, null);
                }

                if (before.Status != after.Status)
                {
                    JobRows.Follow(db, tx, after, now);
                }

                if (before.RetrievalInterval != after.RetrievalInterval)
                {
                    JobRows.IntervalChanged(db, tx, after, now);
                }

                alsoWrite?.Invoke(db, tx, after);
                AppendAudit(db, tx, before, after, action, actor, now, note);
                return new ChangeOutcome(before, after, changed: true);
            });
        }

        /// <summary>The audit entries of one connection, oldest first. Works for removed connections.</summary>
        public IReadOnlyList<AuditEntry> History(Guid connectionId) => History(connectionId, null, null, null);

        /// <summary>
        /// Audit entries, oldest first: of one connection, or of the whole node (node settings included) when
        /// <paramref name="connectionId"/> is null; from <paramref name="since"/> on; then only the first or the last so many.
        /// </summary>
        public IReadOnlyList<AuditEntry> History(Guid? connectionId, DateTimeOffset? since, int? first, int? last) => Read(connection =>
        {
            var where = new List<string>();
            var parameters = new List<(string, object?)>();
            if (connectionId != null)
            {
                where.Add("connection_id = $id");
                parameters.Add(("$id", FormatId(connectionId.Value)));
            }

            if (since != null)
            {
                where.Add("at >= $since");
                parameters.Add(("$since", since.Value.ToUnixTimeMilliseconds()));
            }

            var filter = where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where);
            var newestFirst = first == null && last != null;
            var limit = first ?? last;
            if (limit != null)
            {
                parameters.Add(("$limit", (long)limit.Value));
            }

            var sql = "SELECT seq, connection_id, connection_name, at, actor, action, summary, before_json, after_json FROM audit" + filter
                + (newestFirst ? " ORDER BY seq DESC" : " ORDER BY seq") + (limit == null ? "" : " LIMIT $limit") + ";";
            using (var command = Sql.Command(connection, null, sql, parameters.ToArray()))
            using (var reader = command.ExecuteReader())
            {
                var entries = new List<AuditEntry>();
                while (reader.Read())
                {
                    entries.Add(new AuditEntry(
                        reader.GetInt64(0),
                        Guid.Parse(reader.GetString(1)),
                        reader.GetString(2),
                        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                        reader.GetString(4),
                        EnumText<LifecycleAction>.Parse(reader.GetString(5)),
                        reader.GetString(6),
                        reader.GetString(7),
                        reader.GetString(8)));
                }

                if (newestFirst)
                {
                    entries.Reverse();
                }

                if (first != null && last != null && last.Value < entries.Count)
                {
                    entries.RemoveRange(0, entries.Count - last.Value);
                }

                return (IReadOnlyList<AuditEntry>)entries;
            }
        });

        /// <summary>A node setting, such as its public URL; null when it was never set.</summary>
        public string? GetNodeSetting(string key) => Read(connection => (string?)Sql.Scalar(connection, null, "SELECT value FROM node WHERE key = $key;", ("$key", key)));

        /// <summary>Sets a node setting; the change is audited under the node's id.</summary>
        public void SetNodeSetting(string key, string value, string actor) => Write((db, tx) =>
        {
            var before = (string?)Sql.Scalar(db, tx, "SELECT value FROM node WHERE key = $key;", ("$key", key));
            if (before == value)
            {
                return 0;
            }

            Sql.Execute(db, tx, "INSERT INTO node (key, value) VALUES ($key, $value) ON CONFLICT(key) DO UPDATE SET value = excluded.value;", ("$key", key), ("$value", value));
            Sql.Execute(
                db,
                tx,
                "INSERT INTO audit (connection_id, connection_name, at, actor, action, summary, before_json, after_json) VALUES ($id, '(node)', $at, $actor, $action, $summary, $before, $after);",
                ("$id", FormatId(NodeId)),
                ("$at", Now().ToUnixTimeMilliseconds()),
                ("$actor", actor),
                ("$action", LifecycleAction.ConfigureNode.ToString()),
                ("$summary", $"Node setting {key}: {before ?? "(not set)"} -> {value}"),
                ("$before", new JsonObjectWriter().Add(key, before).ToString()),
                ("$after", new JsonObjectWriter().Add(key, value).ToString()));
            return 1;
        });

        public long AuditCount() => Read(connection => (long)Sql.Scalar(connection, null, "SELECT COUNT(*) FROM audit;")!);

        /// <summary>Counts of connections by status, from one query.</summary>
        public IReadOnlyDictionary<ConnectionStatus, int> CountByStatus() => Read(connection =>
        {
            var counts = new Dictionary<ConnectionStatus, int>();
            using (var command = Sql.Command(connection, null, "SELECT status, COUNT(*) FROM connections GROUP BY status;"))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    counts[ParseStatus(reader.GetString(0))] = reader.GetInt32(1);
                }
            }

            return (IReadOnlyDictionary<ConnectionStatus, int>)counts;
        });

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

        private IReadOnlyList<string> ReadFindings(bool full) => Read(connection =>
        {
            var lines = new List<string>();
            using (var command = Sql.Command(connection, null, full ? "PRAGMA integrity_check(100);" : "PRAGMA quick_check(100);"))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    lines.Add(reader.GetString(0));
                }
            }

            return (IReadOnlyList<string>)lines;
        });

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

        /// <summary>Lets go of the file; the last user of it in this process closes its pooled connections.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                StoreRegistry.Release(_shared);
            }
        }

        internal T Read<T>(Func<SqliteConnection, T> work) => Retry(() =>
        {
            using (var connection = OpenConnection())
            {
                return work(connection);
            }
        });

        internal T Write<T>(Func<SqliteConnection, SqliteTransaction, T> work) => Retry(() =>
        {
            if (_shared.Damage is { } damage)
            {
                // Writing into a damaged file spreads the damage; the user restores or recovers it first.
                throw StoreFile.Corrupt(Path, null, damage);
            }

            // Writers in this process queue here rather than in SQLite's busy handler, which sleeps in coarse steps;
            // other processes still meet the busy timeout.
            lock (_shared.WriteGate)
            {
                using (var connection = OpenConnection())
                using (var transaction = connection.BeginTransaction(deferred: false))
                {
                    var result = work(connection, transaction);
                    transaction.Commit();
                    return result;
                }
            }
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
                var version = UserVersion(connection, null);
                var applicationId = Convert.ToInt32(Sql.Scalar(connection, null, "PRAGMA application_id;"), CultureInfo.InvariantCulture);
                EnsureConnectionToolsStore(connection, version, applicationId);
                if (version > Migrations.Latest)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.StoreSchemaTooNew,
                        ErrorKind.InvalidData,
                        $"The store '{Path}' has schema version {version}, and this version of ConnectionTools understands up to {Migrations.Latest}. It was not changed.",
                        Path,
                        "Update the ConnectionTools module to the version that wrote this store, or use another store.");
                }

                if (!string.Equals((string?)Sql.Scalar(connection, null, "PRAGMA journal_mode;"), "wal", StringComparison.OrdinalIgnoreCase))
                {
                    Sql.Scalar(connection, null, "PRAGMA journal_mode = WAL;");
                }

                if (version < Migrations.Latest || applicationId != ApplicationId)
                {
                    using (var transaction = connection.BeginTransaction(deferred: false))
                    {
                        // Another process may have migrated while we waited for the lock.
                        var current = UserVersion(connection, transaction);
                        if (current < Migrations.Latest)
                        {
                            Migrations.ApplyPending(connection, transaction, current);
                        }

                        Sql.Execute(connection, transaction, "PRAGMA application_id = " + ApplicationId.ToString(CultureInfo.InvariantCulture) + ";");
                        transaction.Commit();
                    }
                }

                return Guid.Parse((string)Sql.Scalar(connection, null, "SELECT value FROM node WHERE key = 'node_id';")!);
            }
        }

        /// <summary>
        /// A store carries this product's application id. An empty database becomes a store; one from before the id existed is
        /// recognised by its tables; any other database belongs to another application and is refused unchanged.
        /// </summary>
        private void EnsureConnectionToolsStore(SqliteConnection connection, int version, int applicationId)
        {
            if (applicationId == ApplicationId)
            {
                return;
            }

            if (applicationId != 0)
            {
                throw StoreFile.ForeignDatabase(Path, $"its application id is 0x{applicationId:X8}");
            }

            var objects = Convert.ToInt64(Sql.Scalar(connection, null, "SELECT COUNT(*) FROM sqlite_master;"), CultureInfo.InvariantCulture);
            if (objects == 0 && version == 0)
            {
                return;
            }

            var ourTables = Convert.ToInt64(
                Sql.Scalar(connection, null, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('connections', 'audit', 'node');"),
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
                Sql.Execute(
                    connection,
                    null,
                    // WAL with synchronous=NORMAL survives a killed process intact; only a power cut can drop the last commits.
                    // A 32 MB page cache and memory-mapped reads keep a listing of tens of thousands of connections in memory
                    // instead of re-reading pages on every Get-Connection.
                    "PRAGMA busy_timeout = " + ((int)_options.BusyTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) +
                    "; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768; PRAGMA mmap_size = 268435456;");
                return connection;
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Runs a whole unit of work again while SQLite reports the store busy or locked, with jittered backoff,
        /// so that contention between processes never reaches the user as "database is locked".
        /// </summary>
        private T Retry<T>(Func<T> work)
        {
            var clock = Stopwatch.StartNew();
            var delay = 5;
            while (true)
            {
                try
                {
                    return work();
                }
                catch (SqliteException e) when (IsBusy(e) && clock.Elapsed < _options.RetryBudget)
                {
                    int wait;
                    lock (_jitter)
                    {
                        wait = _jitter.Next(delay, delay * 2);
                    }

                    Thread.Sleep(wait);
                    delay = Math.Min(delay * 2, 200);
                }
                catch (SqliteException e)
                {
                    throw Translate(e);
                }
            }
        }

        private static bool IsBusy(SqliteException e) => e.SqliteErrorCode == 5 || e.SqliteErrorCode == 6;

        private ConnectionToolsException Translate(SqliteException e)
        {
            switch (e.SqliteErrorCode)
            {
                case 5:
                case 6:
                    return new ConnectionToolsException(
                        ErrorIds.StoreBusy,
                        ErrorKind.ResourceBusy,
                        $"The store '{Path}' stayed locked by another process for {_options.RetryBudget.TotalSeconds:0} seconds. Nothing was changed.",
                        Path,
                        "Try again when the other process has finished.",
                        e);
                case 8:
                    return new ConnectionToolsException(
                        ErrorIds.StoreReadOnly,
                        ErrorKind.PermissionDenied,
                        $"The store '{Path}' is read-only for this user. Nothing was changed.",
                        Path,
                        "Give this user write access to the store file and its folder.",
                        e);
                case 11:
                    _shared.MarkDamaged(e.Message);
                    return StoreFile.Corrupt(Path, e);
                case 26:
                    return StoreFile.NotAStore(Path, e);
                case 14:
                    return StoreFile.Unavailable(Path, e);
                case 23:
                    return StoreFile.AccessDenied(Path, e);
                default:
                    return new ConnectionToolsException(
                        ErrorIds.StoreFailed,
                        ErrorKind.WriteError,
                        $"The store '{Path}' reported an error: {e.Message} Nothing was changed.",
                        Path,
                        null,
                        e);
            }
        }

        private static int UserVersion(SqliteConnection connection, SqliteTransaction? transaction) =>
            Convert.ToInt32(Sql.Scalar(connection, transaction, "PRAGMA user_version;"), CultureInfo.InvariantCulture);

        private DateTimeOffset Now()
        {
            // Stored with millisecond precision; truncate so an object in memory equals the one read back.
            var now = _options.Clock().ToUniversalTime();
            return DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
        }

        private static void EnsureNameFree(SqliteConnection db, SqliteTransaction tx, string name, Guid id)
        {
            var existing = FindLiveByName(db, tx, name);
            if (existing != null && existing.Id != id)
            {
                throw NameInUse(existing, name);
            }
        }

        private static void EnsureOrganizationFree(SqliteConnection db, SqliteTransaction tx, string? organizationId, Guid id)
        {
            var existing = organizationId is null ? null : FindLiveByOrganization(db, tx, organizationId);
            if (existing != null && existing.Id != id)
            {
                throw OrganizationInUse(existing, organizationId!);
            }
        }

        internal static ConnectionToolsException OrganizationInUse(Connection existing, string organizationId) => new ConnectionToolsException(
            ErrorIds.ConnectionOrganizationInUse,
            ErrorKind.ResourceExists,
            $"Organization {organizationId} is already connected on this node by '{existing.Name}' (id {existing.Id}, status {existing.Status}). An org can be connected only once per node. Nothing was saved.",
            existing.Name,
            $"Use the existing connection (re-authorize it with Update-ConnectionAuthorization -Name '{existing.Name}'), or remove it first with Remove-Connection -Name '{existing.Name}'.");

        /// <summary>The live connection pinned to an org, if any.</summary>
        public Connection? FindByOrganization(string organizationId) => Read(connection => FindLiveByOrganization(connection, null, organizationId));

        /// <summary>The most recently removed connection that was pinned to an org, whose settings a new connection to it reuses.</summary>
        public Connection? FindRemovedByOrganization(string organizationId) => Read(connection => Single(
            connection,
            null,
            $"SELECT {Columns} FROM connections WHERE organization_id = $org AND status = 'Removed' ORDER BY removed_at DESC LIMIT 1;",
            ("$org", organizationId)));

        private static Connection? FindLiveByOrganization(SqliteConnection db, SqliteTransaction? tx, string organizationId) =>
            Single(db, tx, $"SELECT {Columns} FROM connections WHERE organization_id = $org AND status <> 'Removed';", ("$org", organizationId));

        internal static ConnectionToolsException NameInUse(Connection existing, string requestedName) => new ConnectionToolsException(
            ErrorIds.ConnectionNameInUse,
            ErrorKind.ResourceExists,
            $"A connection named '{existing.Name}' already exists (id {existing.Id}, status {existing.Status}). Names are unique on a node, regardless of case.",
            requestedName,
            "Choose another name, or rename or remove the existing connection first.");

        /// <summary>Reads a connection inside a write transaction the caller holds.</summary>
        internal Connection? FindInTransaction(SqliteConnection db, SqliteTransaction tx, Guid id) => FindById(db, tx, id);

        private static Connection? FindById(SqliteConnection db, SqliteTransaction? tx, Guid id) =>
            Single(db, tx, $"SELECT {Columns} FROM connections WHERE id = $id;", ("$id", FormatId(id)));

        private static Connection? FindLiveByName(SqliteConnection db, SqliteTransaction? tx, string name) =>
            Single(db, tx, $"SELECT {Columns} FROM connections WHERE name_key = $key AND status <> 'Removed';", ("$key", ConnectionNames.Key(name)));

        private static Connection? Single(SqliteConnection db, SqliteTransaction? tx, string sql, params (string, object?)[] parameters)
        {
            var cached = Sql.Reusable(db, tx, sql, parameters);
            if (cached != null)
            {
                using (var reader = cached.ExecuteReader())
                {
                    return reader.Read() ? Map(reader) : null;
                }
            }

            using (var command = Sql.Command(db, tx, sql, parameters))
            using (var reader = command.ExecuteReader())
            {
                return reader.Read() ? Map(reader) : null;
            }
        }

        private static void AppendAudit(SqliteConnection db, SqliteTransaction tx, Connection? before, Connection after, LifecycleAction action, string actor, DateTimeOffset at, string? note = null)
        {
            Sql.Execute(
                db,
                tx,
                "INSERT INTO audit (connection_id, connection_name, at, actor, action, summary, before_json, after_json) VALUES ($id, $name, $at, $actor, $action, $summary, $before, $after);",
                ("$id", FormatId(after.Id)),
                ("$name", after.Name),
                ("$at", at.ToUnixTimeMilliseconds()),
                ("$actor", actor),
                ("$action", action.ToString()),
                ("$summary", note is null ? Summarize(before, after) : note),
                ("$before", before is null ? "" : Snapshot(before)),
                ("$after", Snapshot(after)));
        }

        internal static string Summarize(Connection? before, Connection after)
        {
            if (before is null)
            {
                return $"Created {after.Type} connection '{after.Name}' ({after.Status})";
            }

            var parts = new List<string>();
            if (before.Name != after.Name)
            {
                parts.Add($"Name: '{before.Name}' -> '{after.Name}'");
            }

            if (before.Description != after.Description)
            {
                parts.Add("Description changed");
            }

            if (before.Status != after.Status || before.InactiveReason != after.InactiveReason)
            {
                parts.Add($"Status: {Describe(before)} -> {Describe(after)}");
            }

            if (before.Mode != after.Mode)
            {
                parts.Add($"Mode: {before.Mode} -> {after.Mode}");
            }

            if (before.PeerStatus != after.PeerStatus)
            {
                parts.Add($"Peer status: {before.PeerStatus?.ToString() ?? "unknown"} -> {after.PeerStatus?.ToString() ?? "unknown"}");
            }

            if (before.RemoteInstanceName != after.RemoteInstanceName)
            {
                parts.Add($"Remote instance: {before.RemoteInstanceName ?? "unknown"} -> {after.RemoteInstanceName ?? "unknown"}");
            }

            if (before.OrganizationId != after.OrganizationId)
            {
                parts.Add($"Organization: {before.OrganizationId ?? "none"} -> {after.OrganizationId ?? "none"}");
            }

            if (before.AuthorizedAt != after.AuthorizedAt && after.AuthorizedAt != null)
            {
                parts.Add($"Authorized as {after.AuthorizedAs} ({after.AuthorizationFlow})");
            }

            if (before.RetrievalInterval != after.RetrievalInterval)
            {
                parts.Add($"Retrieval interval: {before.RetrievalInterval?.ToString() ?? "none"} -> {after.RetrievalInterval?.ToString() ?? "none"}");
            }

            if (before.InvitationExpiresAt != after.InvitationExpiresAt && after.InvitationExpiresAt != null)
            {
                parts.Add($"Invitation renewed, expires {after.InvitationExpiresAt:u}");
            }

            return parts.Count == 0 ? "No visible change" : string.Join("; ", parts);
        }

        private static string Describe(Connection c) => c.InactiveReason is null ? c.Status.ToString() : $"{c.Status} ({c.InactiveReason})";

        private static string Snapshot(Connection c) => new JsonObjectWriter()
            .Add("id", FormatId(c.Id))
            .Add("name", c.Name)
            .Add("description", c.Description)
            .Add("type", c.Type.ToString())
            .Add("status", c.Status.ToString())
            .Add("inactiveReason", c.InactiveReason?.ToString())
            .Add("mode", c.Mode?.ToString())
            .Add("side", c.Side?.ToString())
            .Add("remoteInstanceName", c.RemoteInstanceName)
            .Add("peerStatus", c.PeerStatus?.ToString())
            .Add("instanceUrl", c.InstanceUri?.AbsoluteUri)
            .Add("environmentType", c.EnvironmentType?.ToString())
            .Add("organizationId", c.OrganizationId)
            .Add("authorizedAs", c.AuthorizedAs)
            .Add("retrievalInterval", c.RetrievalInterval?.ToString())
            .Add("version", c.Version)
            .ToString();

        private static (string, object?)[] RowParameters(Connection c) => new (string, object?)[]
        {
            ("$id", FormatId(c.Id)),
            ("$name", c.Name),
            ("$name_key", ConnectionNames.Key(c.Name)),
            ("$description", c.Description),
            ("$type", c.Type.ToString()),
            ("$status", c.Status.ToString()),
            ("$reason", c.InactiveReason?.ToString()),
            ("$created_at", c.CreatedAt.ToUnixTimeMilliseconds()),
            ("$created_by", c.CreatedBy),
            ("$modified_at", c.ModifiedAt.ToUnixTimeMilliseconds()),
            ("$modified_by", c.ModifiedBy),
            ("$removed_at", c.RemovedAt?.ToUnixTimeMilliseconds()),
            ("$version", c.Version),
            ("$mode", c.Mode?.ToString()),
            ("$side", c.Side?.ToString()),
            ("$local_instance", c.LocalInstanceName),
            ("$remote_instance", c.RemoteInstanceName),
            ("$peer_node_id", c.PeerNodeId is null ? null : FormatId(c.PeerNodeId.Value)),
            ("$peer_node_version", c.PeerNodeVersion),
            ("$peer_url", c.PeerUri?.AbsoluteUri),
            ("$peer_status", c.PeerStatus?.ToString()),
            ("$last_exchange_at", c.LastExchangeAt?.ToUnixTimeMilliseconds()),
            ("$invitation_expires_at", c.InvitationExpiresAt?.ToUnixTimeMilliseconds()),
            ("$instance_url", c.InstanceUri?.AbsoluteUri),
            ("$environment_type", c.EnvironmentType?.ToString()),
            ("$organization_id", c.OrganizationId),
            ("$authorized_as", c.AuthorizedAs),
            ("$authorized_at", c.AuthorizedAt?.ToUnixTimeMilliseconds()),
            ("$authorization_flow", c.AuthorizationFlow?.ToString()),
            ("$retrieval_interval", c.RetrievalInterval is null ? null : (object)(long)c.RetrievalInterval.Value.TotalSeconds),
        };

        private static Connection Map(SqliteDataReader r)
        {
            // Each call into SQLite costs more than the work it does here: a row reads the columns that hold a value, found
            // from one bit mask, and becomes one object.
            var present = r.GetInt64(29);
            bool Has(int ordinal) => (present & (1L << (ordinal - 12))) != 0;
            string? Text(int ordinal) => Has(ordinal) ? r.GetString(ordinal) : null;
            DateTimeOffset? Time(int ordinal) => Has(ordinal) ? DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(ordinal)) : (DateTimeOffset?)null;
            return new Connection
            {
                Id = Guid.Parse(r.GetString(0)),
                Name = r.GetString(1),
                Description = r.GetString(2),
                Type = ParseType(r.GetString(3)),
                Status = ParseStatus(r.GetString(4)),
                InactiveReason = (present & (1L << 17)) == 0 ? (InactiveReason?)null : EnumText<InactiveReason>.Parse(r.GetString(5)),
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)),
                CreatedBy = r.GetString(7),
                ModifiedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8)),
                ModifiedBy = r.GetString(9),
                RemovedAt = (present & (1L << 18)) == 0 ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(10)),
                Version = r.GetInt64(11),
                Mode = Has(12) ? EnumText<PrivateConnectionMode>.Parse(r.GetString(12)) : (PrivateConnectionMode?)null,
                Side = Has(13) ? EnumText<PrivateConnectionSide>.Parse(r.GetString(13)) : (PrivateConnectionSide?)null,
                LocalInstanceName = Text(14),
                RemoteInstanceName = Text(15),
                PeerNodeId = Has(16) ? Guid.Parse(r.GetString(16)) : (Guid?)null,
                PeerNodeVersion = Text(17),
                PeerUri = Has(18) ? new Uri(r.GetString(18)) : null,
                PeerStatus = Has(19) ? ParseStatus(r.GetString(19)) : (ConnectionStatus?)null,
                LastExchangeAt = Time(20),
                InvitationExpiresAt = Time(21),
                InstanceUri = Has(22) ? new Uri(r.GetString(22)) : null,
                EnvironmentType = Has(23) ? EnumText<EnvironmentType>.Parse(r.GetString(23)) : (EnvironmentType?)null,
                OrganizationId = Text(24),
                AuthorizedAs = Text(25),
                AuthorizedAt = Time(26),
                AuthorizationFlow = Has(27) ? EnumText<AuthorizationFlow>.Parse(r.GetString(27)) : (AuthorizationFlow?)null,
                RetrievalInterval = Has(28) ? TimeSpan.FromSeconds(r.GetInt64(28)) : (TimeSpan?)null,
            };
        }

        private static DateTimeOffset? ReadTime(SqliteDataReader r, int ordinal) =>
            r.IsDBNull(ordinal) ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(ordinal));

        private static ConnectionStatus ParseStatus(string value) => EnumText<ConnectionStatus>.Parse(value);

        private static ConnectionType ParseType(string value) => EnumText<ConnectionType>.Parse(value);

        internal static string FormatId(Guid id) => id.ToString("D");

        private static void AddIn(List<string> where, List<(string, object?)> parameters, string column, string prefix, IEnumerable<string>? values)
        {
            if (values is null)
            {
                return;
            }

            var names = new List<string>();
            foreach (var value in values.Distinct())
            {
                var name = "$" + prefix + parameters.Count.ToString(CultureInfo.InvariantCulture);
                names.Add(name);
                parameters.Add((name, value));
            }

            where.Add(names.Count == 0 ? "0" : $"{column} IN ({string.Join(", ", names)})");
        }

        internal static ConnectionToolsException NotFound(string nameOrId) => new ConnectionToolsException(
            ErrorIds.ConnectionNotFound,
            ErrorKind.ObjectNotFound,
            $"No connection '{nameOrId}' exists on this node.",
            nameOrId,
            "Run Get-Connection to see the connections on this node (add -IncludeRemoved for removed ones).");

        internal static ConnectionToolsException Conflict(Connection yours, Connection? current) => new ConnectionToolsException(
            ErrorIds.ConnectionConflict,
            ErrorKind.InvalidOperation,
            current is null
                ? $"Connection '{yours.Name}' was changed by someone else while this change was being made. Nothing was changed."
                : $"Connection '{yours.Name}' was changed by {current.ModifiedBy} at {current.ModifiedAt:u} after you read it (your copy is version {yours.Version}, the store has version {current.Version}). Nothing was changed.",
            yours.Name,
            "Get the connection again (Get-Connection) and repeat the change if it still applies.");
    }
}
