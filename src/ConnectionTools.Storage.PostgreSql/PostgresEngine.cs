using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using ConnectionTools.Errors;
using Npgsql;

namespace ConnectionTools.Storage.PostgreSql
{
    /// <summary>
    /// A store in a PostgreSQL database, which several node hosts can share. It runs the same statements and migrations as
    /// the SQLite file, with the few differences of dialect adapted here: named parameters ($id becomes @id), the DDL's types
    /// (64-bit integers, bytea, byte-order text so names sort as in SQLite), and booleans bound as integers. Writers serialize
    /// on a transaction-scoped advisory lock, as SQLite's writers do on the file, so every unit of work that re-reads and then
    /// writes keeps its meaning across hosts. The schema version is in connectiontools_store, beside the store's stamp.
    /// </summary>
    internal sealed class PostgresEngine : StoreEngine
    {
        /// <summary>The advisory lock every write transaction holds: the store's application id, so it cannot meet another application's.</summary>
        private const long WriteLockKey = ConnectionStore.ApplicationId;

        private static readonly ConcurrentDictionary<string, string> Translated = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        private static readonly Regex Parameter = new Regex(@"(?<![\w@$])\$([A-Za-z_]\w*)", RegexOptions.CultureInvariant);
        private static readonly Regex Ddl = new Regex(@"\b(CREATE\s+TABLE|ALTER\s+TABLE)\b", RegexOptions.CultureInvariant);
        private static readonly Regex NotNullBit = new Regex(@"\((\w+) IS NOT NULL\) <<", RegexOptions.CultureInvariant);

        /// <summary>SQLite's "+e.status", which keeps its planner off an index; PostgreSQL has no unary plus for text.</summary>
        private static readonly Regex PlannerHint = new Regex(@"(?<= )\+(?=[a-z_]+\.[a-z_]+)", RegexOptions.CultureInvariant);

        private readonly NpgsqlConnectionStringBuilder _settings;
        private readonly bool _mayCreate;
        private readonly string _origin;
        private readonly object _gate = new object();
        private NpgsqlDataSource? _dataSource;

        private PostgresEngine(NpgsqlConnectionStringBuilder settings, bool mayCreate, string origin)
        {
            _settings = settings;
            _mayCreate = mayCreate;
            _origin = origin;
            var port = settings.Port == NpgsqlConnection.DefaultPort ? "" : ":" + settings.Port.ToString(CultureInfo.InvariantCulture);
            // A store is the tables of one schema: with a search path, two stores can share a database.
            var schema = string.IsNullOrEmpty(settings.SearchPath) ? "" : "?search_path=" + Uri.EscapeDataString(settings.SearchPath);
            Display = $"postgresql://{Uri.EscapeDataString(settings.Username ?? Environment.UserName)}@{settings.Host}{port}/{Uri.EscapeDataString(settings.Database ?? "")}{schema}";
            Server = $"{settings.Host}:{settings.Port.ToString(CultureInfo.InvariantCulture)}/{settings.Database} as {settings.Username ?? Environment.UserName}";
            Key = string.IsNullOrEmpty(settings.Password)
                ? Display
                : Display + "#" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(settings.Password)))[..16];
        }

        public override string Name => "PostgreSQL";

        public override string Display { get; }

        /// <summary>
        /// The store and who signs in: a process shares one open store (and pool) per key, so a second sign-in with another
        /// password must not ride on the first one's connections. The password only enters as a hash, never shown.
        /// </summary>
        public override string Key { get; }

        public override string Server { get; }

        /// <summary>
        /// The engine for <paramref name="connectionString"/>: a postgresql:// URI or Npgsql keywords, which must not hold a
        /// password (it would be shown back, kept in history and logged); it comes from <paramref name="credential"/>, PGPASSWORD
        /// or PGPASSFILE. Nothing is opened yet. Called by Core through reflection, so that only PostgreSQL stores load Npgsql.
        /// </summary>
        public static PostgresEngine Create(string connectionString, NetworkCredential? credential, bool mayCreate, string origin)
        {
            var settings = PostgresConnectionString.Parse(connectionString, origin);
            if (credential != null)
            {
                if (!string.IsNullOrEmpty(credential.UserName))
                {
                    settings.Username = credential.UserName;
                }

                settings.Password = credential.Password;
            }

            settings.Pooling = true;
            settings.ApplicationName ??= "ConnectionTools";
            if (settings.Timeout == 15)
            {
                // Npgsql's default; an unreachable server should say so sooner.
                settings.Timeout = 5;
            }

            settings.Username ??= Environment.GetEnvironmentVariable("PGUSER") ?? Environment.UserName;
            return new PostgresEngine(settings, mayCreate, origin);
        }

        public override DbConnection Open()
        {
            NpgsqlDataSource source;
            lock (_gate)
            {
                source = _dataSource ??= new NpgsqlDataSourceBuilder(_settings.ConnectionString).Build();
            }

            return source.OpenConnection();
        }

        public override DbTransaction BeginWrite(DbConnection connection)
        {
            var transaction = ((NpgsqlConnection)connection).BeginTransaction(IsolationLevel.ReadCommitted);
            try
            {
                using (var command = ((NpgsqlConnection)connection).CreateCommand())
                {
                    command.Transaction = (NpgsqlTransaction)transaction;
                    // lock_timeout makes a writer that waits too long fail as busy (55P03), which the store retries, as SQLite's busy_timeout does.
                    command.CommandText = "SET LOCAL lock_timeout = '5s'; SELECT pg_advisory_xact_lock(" + WriteLockKey.ToString(CultureInfo.InvariantCulture) + ");";
                    command.ExecuteNonQuery();
                }

                return transaction;
            }
            catch
            {
                transaction.Dispose();
                throw;
            }
        }

        public override string Sql(string text)
        {
            if (Translated.TryGetValue(text, out var sql))
            {
                return sql;
            }

            if (Translated.Count > 4_096)
            {
                // Listings build their IN lists per call: keep the cache to the statements that repeat.
                Translated.Clear();
            }

            return Translated.GetOrAdd(text, Translate);
        }

        public override void Bind(DbCommand command, string name, object? value) =>
            ((NpgsqlCommand)command).Parameters.Add(new NpgsqlParameter(name.TrimStart('$'), Plain(value)));

        public override void Rebind(DbParameter parameter, object? value) => parameter.Value = Plain(value);

        public override bool IsParameter(DbParameter parameter, string name) =>
            string.Equals(parameter.ParameterName, name.TrimStart('$'), StringComparison.Ordinal);

        public override int ReadVersion(StoreSession db)
        {
            if (Convert.ToInt64(db.Scalar("SELECT CASE WHEN to_regclass('connectiontools_store') IS NULL THEN 0 ELSE 1 END;"), CultureInfo.InvariantCulture) == 0)
            {
                return 0;
            }

            return Convert.ToInt32(db.Scalar("SELECT COALESCE(MAX(version), 0) FROM connectiontools_store;") ?? 0L, CultureInfo.InvariantCulture);
        }

        public override void WriteVersion(StoreTransaction tx, int version)
        {
            tx.Execute("CREATE TABLE IF NOT EXISTS connectiontools_store (application_id BIGINT NOT NULL, version BIGINT NOT NULL);");
            tx.Execute("DELETE FROM connectiontools_store;");
            tx.Execute("INSERT INTO connectiontools_store (application_id, version) VALUES ($app, $version);", ("$app", (long)ConnectionStore.ApplicationId), ("$version", (long)version));
        }

        /// <summary>
        /// A store has connectiontools_store with this product's id. A database with no tables in its schema becomes a store
        /// only with -Create (a mistyped database name must not look like an empty store); any other database is refused unchanged.
        /// </summary>
        public override bool EnsureConnectionToolsStore(StoreSession db, int version)
        {
            if (version > 0)
            {
                var application = Convert.ToInt64(db.Scalar("SELECT MAX(application_id) FROM connectiontools_store;") ?? 0L, CultureInfo.InvariantCulture);
                if (application != ConnectionStore.ApplicationId)
                {
                    throw StoreFile.ForeignDatabase(Display, $"its connectiontools_store table names application id 0x{application:X8}");
                }

                return false;
            }

            var tables = Convert.ToInt64(db.Scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema();"), CultureInfo.InvariantCulture);
            if (tables > 0)
            {
                throw StoreFile.ForeignDatabase(Display, $"its schema has {tables} table(s) and none of them is a ConnectionTools store's");
            }

            if (!_mayCreate)
            {
                throw new ConnectionToolsException(
                    ErrorIds.StoreNotFound,
                    ErrorKind.ObjectNotFound,
                    $"The database '{Display}' (from {_origin}) holds no store. Nothing was created: a mistyped database must not look like an empty store.",
                    Display,
                    "Check the database name. To make a new store in this empty database, add -Create (the node host: --create).");
            }

            return true;
        }

        /// <summary>The server checks its own pages; the store checks that its tables answer.</summary>
        public override IReadOnlyList<string> Check(StoreSession db, bool full)
        {
            db.Scalar("SELECT COUNT(*) FROM connections;");
            if (full)
            {
                db.Scalar("SELECT COUNT(*) FROM audit;");
            }

            return new[] { "ok" };
        }

        public override bool IsTransient(DbException e) => e is PostgresException p && p.SqlState is
            PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected;

        public override bool Reconnect(DbException e)
        {
            if (!IsConnectionLost(e) || (e is not PostgresException && !IsNetworkFailure(e)))
            {
                return false;
            }

            DropIdleConnections();
            return true;
        }

        /// <summary>Closes the pooled connections not in use: after the server went away they are broken, and each would fail once.</summary>
        private void DropIdleConnections()
        {
            lock (_gate)
            {
                _dataSource?.Clear();
            }
        }

        /// <summary>The server went away, is restarting or refused the connection: nothing of the unit of work committed.</summary>
        private static bool IsConnectionLost(DbException e)
        {
            var state = (e as PostgresException)?.SqlState;
            return state is null ? e is NpgsqlException : state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("57P", StringComparison.Ordinal);
        }

        public override ConnectionToolsException Translate(DbException e, SharedStore shared, TimeSpan retryBudget)
        {
            var state = (e as PostgresException)?.SqlState;
            switch (state)
            {
                case PostgresErrorCodes.InvalidPassword:
                case PostgresErrorCodes.InvalidAuthorizationSpecification:
                    return new ConnectionToolsException(
                        ErrorIds.StoreAuthenticationFailed,
                        ErrorKind.AuthenticationError,
                        $"The PostgreSQL server refused the sign-in of '{_settings.Username}' to the store '{Display}'. Nothing was changed.",
                        Display,
                        "Check the password: -Credential, PGPASSWORD or the PGPASSFILE entry for this server, database and user.",
                        e);
                case null when e.Message.Contains("password", StringComparison.OrdinalIgnoreCase) && !IsNetworkFailure(e):
                    // Npgsql's own "No password has been provided but the backend requires one": nothing reached the server's check.
                    return new ConnectionToolsException(
                        ErrorIds.StoreAuthenticationFailed,
                        ErrorKind.AuthenticationError,
                        $"The PostgreSQL server asks '{_settings.Username}' for a password, and none was given for the store '{Display}'. Nothing was changed.",
                        Display,
                        "Give the password with -Credential, the PGPASSWORD variable or a PGPASSFILE entry for this server, database and user.",
                        e);
                case PostgresErrorCodes.InvalidCatalogName:
                    return new ConnectionToolsException(
                        ErrorIds.StoreDatabaseNotFound,
                        ErrorKind.ObjectNotFound,
                        $"The PostgreSQL server has no database '{_settings.Database}' for the store '{Display}'. Nothing was created.",
                        Display,
                        $"Create it first (createdb {_settings.Database}, or CREATE DATABASE), then connect with -Create.",
                        e);
                case PostgresErrorCodes.InsufficientPrivilege:
                    return new ConnectionToolsException(
                        ErrorIds.StorePrivilegesMissing,
                        ErrorKind.PermissionDenied,
                        $"The user '{_settings.Username}' lacks a privilege the store '{Display}' needs: {((PostgresException)e).MessageText}. Nothing was changed.",
                        Display,
                        "Grant the user CREATE and USAGE on the database's schema (to make the store), and SELECT, INSERT, UPDATE and DELETE on its tables.",
                        e);
                case PostgresErrorCodes.ReadOnlySqlTransaction:
                    return new ConnectionToolsException(
                        ErrorIds.StoreReadOnly,
                        ErrorKind.PermissionDenied,
                        $"The store '{Display}' is on a read-only server (a standby). Nothing was changed.",
                        Display,
                        "Connect to the primary server.",
                        e);
                case PostgresErrorCodes.LockNotAvailable:
                case PostgresErrorCodes.SerializationFailure:
                case PostgresErrorCodes.DeadlockDetected:
                    return new ConnectionToolsException(
                        ErrorIds.StoreBusy,
                        ErrorKind.ResourceBusy,
                        $"The store '{Display}' stayed locked by another host for {retryBudget.TotalSeconds:0} seconds. Nothing was changed.",
                        Display,
                        "Try again when the other host has finished.",
                        e);
            }

            if (IsConnectionLost(e) || state == PostgresErrorCodes.TooManyConnections)
            {
                // The server went away or is restarting: connections in the pool are broken, so none is reused.
                DropIdleConnections();

                return new ConnectionToolsException(
                    ErrorIds.StoreServerUnreachable,
                    ErrorKind.ConnectionError,
                    $"The PostgreSQL server of the store '{Display}' could not be reached or ended the session ({Describe(e)}). Nothing was half-written: an unfinished change is rolled back by the server.",
                    Display,
                    "Try again when the server is back; check the host, port and network (and that the server accepts connections from here).",
                    e);
            }

            return new ConnectionToolsException(
                ErrorIds.StoreFailed,
                ErrorKind.WriteError,
                $"The store '{Display}' reported an error: {((PostgresException)e).MessageText} ({state}). Nothing was changed.",
                Display,
                null,
                e);
        }

        public override void ClearPool()
        {
            lock (_gate)
            {
                _dataSource?.Dispose();
                _dataSource = null;
            }
        }

        private static bool IsNetworkFailure(Exception e) => e.InnerException is System.Net.Sockets.SocketException || e.InnerException is System.IO.IOException || e.InnerException is TimeoutException;

        private static string Describe(DbException e) => e is PostgresException p ? p.MessageText : (e.InnerException?.Message ?? e.Message);

        /// <summary>SQLite's booleans are integers, and the *Rows classes bind them so; PostgreSQL compares them with integers only when they are.</summary>
        private static object Plain(object? value) => value switch
        {
            null => DBNull.Value,
            bool b => b ? 1L : 0L,
            _ => value,
        };

        private static string Translate(string text)
        {
            var sql = Parameter.Replace(text, "@$1");
            sql = NotNullBit.Replace(sql, "($1 IS NOT NULL)::int <<");
            sql = PlannerHint.Replace(sql, "");
            if (Ddl.IsMatch(sql))
            {
                sql = sql.Replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
                    .Replace(" WITHOUT ROWID", "");
                sql = Regex.Replace(sql, @"\bINTEGER\b", "BIGINT");
                sql = Regex.Replace(sql, @"\bBLOB\b", "BYTEA");
                // Byte order, as SQLite compares: names and ids sort and match the same on both engines, whatever the server's locale.
                sql = Regex.Replace(sql, @"\bTEXT\b", "TEXT COLLATE \"C\"");
            }

            return sql;
        }
    }
}
