using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Security;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// Moves a node between store engines (SQLite file and PostgreSQL database, either way): every row of every table of the
    /// source is written into a new, empty destination store in one transaction, then read back and compared table by table.
    /// The tables and columns come from the schema, so a table a later migration adds is copied without a change here.
    /// </summary>
    /// <remarks>
    /// Values encrypted with the source's secret protector (every column named *_protected) are decrypted and encrypted again
    /// with the destination's, in memory only. The node's id is the source's: partners know the node by it.
    /// </remarks>
    public static class StoreCopy
    {
        /// <summary>The node setting SecretProtectors.ForDatabase writes: a value under each store's own key, which the destination keeps.</summary>
        private const string KeyCheckSetting = "secret_key_check";

        /// <summary>Rows per INSERT: one round trip to a PostgreSQL server carries many rows; kept under SQLite's old 999-variable limit.</summary>
        private const int ParametersPerStatement = 900;

        private const int MaxRowsPerStatement = 200;

        /// <summary>
        /// What Copy-ConnectionStore does: asks the host, opens (creating) the destination, copies the session's store into it and
        /// writes the result. The source is only read.
        /// </summary>
        public static void CopyTo(ConnectionNode source, StoreLocation destination, IHostContext host)
        {
            if (source is null)
            {
                throw new ArgumentNullException(nameof(source));
            }

            if (destination is null)
            {
                throw new ArgumentNullException(nameof(destination));
            }

            if (host is null)
            {
                throw new ArgumentNullException(nameof(host));
            }

            if (!host.ShouldProcess($"{destination.EngineName} store {destination.Path}", $"Copy node {source.Store.NodeId} from {source.Store.Engine} store {source.Store.Path} into this new store"))
            {
                return;
            }

            // A file this call creates is removed again when the copy fails, with the key made beside it: no empty store is
            // left behind to be mistaken for the node. A database keeps its (empty) store, and its key check with the key file.
            var file = destination.Engine is null ? destination.Path : null;
            var made = file != null && !System.IO.File.Exists(file);
            var madeKey = made && !System.IO.File.Exists(file + ".key");
            StoreCopyResult result;
            try
            {
                using (var target = ConnectionNode.Open(destination, actor: source.ActorName))
                {
                    result = Copy(source, target, host.WriteVerbose, host.CancellationToken);
                }
            }
            catch when (made)
            {
                RemoveMadeFile(file!, madeKey);
                throw;
            }

            host.WriteObject(result);
        }

        private static void RemoveMadeFile(string file, bool withKey)
        {
            foreach (var path in new[] { file, file + "-wal", file + "-shm", withKey ? file + ".key" : null })
            {
                try
                {
                    if (path != null)
                    {
                        System.IO.File.Delete(path);
                    }
                }
                catch (Exception e) when (e is System.IO.IOException || e is UnauthorizedAccessException)
                {
                    // The copy's own error is the one to report; an empty file left behind is refused by no later copy.
                }
            }
        }

        /// <summary>
        /// Copies <paramref name="source"/>'s store into <paramref name="destination"/>'s, which must be new and empty (only the
        /// rows opening it wrote, in node), at the same schema version. All destination writes are one transaction: a failure
        /// leaves it as it was. The source's write lock is held while it is read, so no change made meanwhile is left behind.
        /// </summary>
        internal static StoreCopyResult Copy(ConnectionNode source, ConnectionNode destination, Action<string>? log = null, CancellationToken cancellation = default)
        {
            var clock = Stopwatch.StartNew();
            var from = source.Store;
            var to = destination.Store;
            if (ReferenceEquals(from.Shared, to.Shared) || string.Equals(from.Shared.RealPath, to.Shared.RealPath, StringComparison.Ordinal))
            {
                throw new ConnectionToolsException(
                    ErrorIds.StoreCopySameStore,
                    ErrorKind.InvalidArgument,
                    $"The destination '{to.Path}' is the source store itself. Nothing was copied.",
                    to.Path,
                    "Name a new file (-DestinationPath) or an empty database (-DestinationConnectionString).");
            }

            var sourceSchema = from.Read(ReadSchema);
            var targetSchema = to.Read(ReadSchema);
            EnsureSameSchema(from, to, sourceSchema, targetSchema);

            var sums = new List<TableSum>();
            to.Write(tx =>
            {
                // Checked inside the transaction that writes, so nothing can arrive between the check and the copy.
                sums.Clear();
                EnsureEmpty(tx, to.Path, targetSchema);
                try
                {
                    from.Write(db =>
                    {
                        foreach (var table in sourceSchema.Tables)
                        {
                            cancellation.ThrowIfCancellationRequested();
                            sums.Add(CopyTable(db, tx, table, targetSchema.Find(table.Name)!, source.Secrets, destination.Secrets, cancellation));
                            log?.Invoke($"Copied {sums[sums.Count - 1].Rows} row(s) of {table.Name}.");
                        }

                        return 0;
                    });
                }
                catch (TargetFailure failure)
                {
                    // The destination's own retry and error translation take it from here.
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure.Error).Throw();
                }

                MoveIdentitiesPastCopiedRows(tx, targetSchema);
                return 0;
            });

            // The destination's pool is shared in this process: its users must see the node id the copy gave it.
            to.Shared.NodeId = from.NodeId;

            var verified = to.Read(db => sourceSchema.Tables.Select(t => Checksum(db, targetSchema.Find(t.Name)!, destination.Secrets)).ToList());
            for (var i = 0; i < sums.Count; i++)
            {
                var copied = sums[i];
                var found = verified[i];
                if (copied.Rows != found.Rows || copied.Checksum != found.Checksum)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.StoreCopyVerificationFailed,
                        ErrorKind.InvalidData,
                        $"The copy of table '{copied.Table}' in '{to.Path}' does not match the source '{from.Path}': the source has {copied.Rows} row(s) (SHA-256 {copied.Checksum}), the destination {found.Rows} (SHA-256 {found.Checksum}). The source is unchanged; do not use the destination.",
                        copied.Table,
                        "Delete the destination (the file, or drop and create the database again) and copy again. If it fails again, report it with this message.");
                }
            }

            log?.Invoke($"Verified {sums.Count} table(s) in {to.Path}: row counts and checksums equal the source's.");
            return new StoreCopyResult
            {
                NodeId = from.NodeId,
                Source = from.Path,
                SourceEngine = from.Engine,
                Destination = to.Path,
                DestinationEngine = to.Engine,
                Tables = sums.Select(s => new StoreCopyTable { Table = s.Table, Rows = s.Rows, Checksum = s.Checksum }).ToList(),
                TotalRows = sums.Sum(s => s.Rows),
                SecretsReencrypted = sums.Sum(s => s.Secrets),
                Duration = clock.Elapsed,
            };
        }

        private static TableSum CopyTable(StoreSession source, StoreTransaction target, Table table, Table targetTable, ISecretProtector sourceSecrets, ISecretProtector targetSecrets, CancellationToken cancellation)
        {
            if (table.Name == "node")
            {
                // The rows opening the destination generated (its own node id, creation time) give way to the source's; its key check stays.
                OnTarget(() => target.Execute("DELETE FROM node WHERE key <> '" + KeyCheckSetting + "';"));
            }

            var columns = table.Columns;
            var targetKinds = columns.Select(c => targetTable.Column(c.Name)!.Kind).ToArray();
            var perStatement = Math.Max(1, Math.Min(MaxRowsPerStatement, ParametersPerStatement / columns.Count));
            var hash = new RowHash(columns);
            var pending = new List<object?[]>(perStatement);
            DbCommand? full = null;
            long rows = 0;
            long secrets = 0;
            try
            {
                using (var command = source.Command(Select(table)))
                using (var reader = command.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        var row = new object?[columns.Count];
                        for (var i = 0; i < columns.Count; i++)
                        {
                            var value = reader.IsDBNull(i) ? null : Coerce(reader.GetValue(i), columns[i].Kind);
                            if (columns[i].Protected && value is byte[] encrypted)
                            {
                                var plain = sourceSecrets.Unprotect(encrypted);
                                hash.AddSecret(i, plain);
                                value = targetSecrets.Protect(plain);
                                Array.Clear(plain, 0, plain.Length);
                                secrets++;
                            }
                            else
                            {
                                hash.Add(i, value);
                            }

                            row[i] = Coerce(value, targetKinds[i]);
                        }

                        hash.EndRow();
                        rows++;
                        pending.Add(row);
                        if (pending.Count == perStatement)
                        {
                            cancellation.ThrowIfCancellationRequested();
                            full ??= target.Command(Insert(table, perStatement), Parameters(columns.Count, perStatement));
                            OnTarget(() => Run(target, full, pending));
                        }
                    }
                }

                if (pending.Count > 0)
                {
                    using (var rest = target.Command(Insert(table, pending.Count), Parameters(columns.Count, pending.Count)))
                    {
                        OnTarget(() => Run(target, rest, pending));
                    }
                }
            }
            finally
            {
                full?.Dispose();
            }

            return new TableSum(table.Name, rows, hash.Finish(), secrets);
        }

        /// <summary>
        /// Runs a destination write inside the source's unit of work, whose retry would take the destination's database errors
        /// for the source's: they travel out as a <see cref="TargetFailure"/> and are thrown again in the destination's unit of work.
        /// </summary>
        private static void OnTarget(Action write)
        {
            try
            {
                write();
            }
            catch (DbException e)
            {
                throw new TargetFailure(e);
            }
        }

        private static int Run(StoreTransaction target, DbCommand command, List<object?[]> rows)
        {
            var index = 0;
            foreach (var row in rows)
            {
                foreach (var value in row)
                {
                    target.Engine.Rebind(command.Parameters[index++], value);
                }
            }

            var written = command.ExecuteNonQuery();
            rows.Clear();
            return written;
        }

        private static (string Name, object? Value)[] Parameters(int columns, int rows)
        {
            var parameters = new (string, object?)[columns * rows];
            for (var i = 0; i < parameters.Length; i++)
            {
                parameters[i] = ("$p" + i.ToString(CultureInfo.InvariantCulture), null);
            }

            return parameters;
        }

        private static string Insert(Table table, int rows)
        {
            var sql = new StringBuilder("INSERT INTO ").Append(Quote(table.Name)).Append(" (")
                .Append(string.Join(", ", table.Columns.Select(c => Quote(c.Name)))).Append(") VALUES ");
            var parameter = 0;
            for (var r = 0; r < rows; r++)
            {
                sql.Append(r == 0 ? "(" : ", (");
                for (var c = 0; c < table.Columns.Count; c++)
                {
                    sql.Append(c == 0 ? "$p" : ", $p").Append(parameter++.ToString(CultureInfo.InvariantCulture));
                }

                sql.Append(')');
            }

            return sql.Append(';').ToString();
        }

        /// <summary>
        /// Every row in primary-key order, the columns in name order: the same text on both engines (byte-order text on
        /// PostgreSQL sorts as SQLite's). The key check of the node table is each store's own, so it is neither copied nor compared.
        /// </summary>
        private static string Select(Table table) =>
            "SELECT " + string.Join(", ", table.Columns.Select(c => Quote(c.Name))) + " FROM " + Quote(table.Name) +
            (table.Name == "node" ? " WHERE key <> '" + KeyCheckSetting + "'" : "") +
            " ORDER BY " + string.Join(", ", table.Key.Select(Quote)) + ";";

        private static TableSum Checksum(StoreSession db, Table table, ISecretProtector secrets)
        {
            var hash = new RowHash(table.Columns);
            long rows = 0;
            using (var command = db.Command(Select(table)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    for (var i = 0; i < table.Columns.Count; i++)
                    {
                        var value = reader.IsDBNull(i) ? null : Coerce(reader.GetValue(i), table.Columns[i].Kind);
                        if (table.Columns[i].Protected && value is byte[] encrypted)
                        {
                            var plain = secrets.Unprotect(encrypted);
                            hash.AddSecret(i, plain);
                            Array.Clear(plain, 0, plain.Length);
                        }
                        else
                        {
                            hash.Add(i, value);
                        }
                    }

                    hash.EndRow();
                    rows++;
                }
            }

            return new TableSum(table.Name, rows, hash.Finish(), 0);
        }

        /// <summary>
        /// PostgreSQL's identity columns (audit.seq, job_runs.id, sync_events.seq) took the copied values as given, so their
        /// sequences go past them, in the same transaction. SQLite moves an AUTOINCREMENT counter past an inserted id by itself.
        /// </summary>
        private static void MoveIdentitiesPastCopiedRows(StoreTransaction tx, Schema schema)
        {
            foreach (var table in schema.Tables)
            {
                foreach (var column in table.Columns.Where(c => c.Identity))
                {
                    var max = Convert.ToInt64(tx.Scalar($"SELECT COALESCE(MAX({Quote(column.Name)}), 0) FROM {Quote(table.Name)};"), CultureInfo.InvariantCulture);
                    tx.Execute($"ALTER TABLE {Quote(table.Name)} ALTER COLUMN {Quote(column.Name)} RESTART WITH {(max + 1).ToString(CultureInfo.InvariantCulture)};");
                }
            }
        }

        private static void EnsureEmpty(StoreSession db, string display, Schema schema)
        {
            var filled = new List<string>();
            foreach (var table in schema.Tables.Where(t => t.Name != "node"))
            {
                var count = Convert.ToInt64(db.Scalar($"SELECT COUNT(*) FROM {Quote(table.Name)};"), CultureInfo.InvariantCulture);
                if (count > 0)
                {
                    filled.Add($"{table.Name} ({count.ToString(CultureInfo.InvariantCulture)} row(s))");
                }
            }

            if (filled.Count > 0)
            {
                throw new ConnectionToolsException(
                    ErrorIds.StoreCopyTargetNotEmpty,
                    ErrorKind.ResourceExists,
                    $"The destination store '{display}' is not empty: {string.Join(", ", filled)}. Nothing was copied: a copy goes only into a new, empty store, so that no two nodes' data are mixed.",
                    display,
                    "Name a new file (-DestinationPath) or an empty database (-DestinationConnectionString).");
            }
        }

        private static void EnsureSameSchema(ConnectionStore from, ConnectionStore to, Schema source, Schema target)
        {
            string? difference = null;
            if (source.Version != target.Version)
            {
                difference = $"the source is at schema version {source.Version}, the destination at {target.Version}";
            }
            else
            {
                foreach (var name in source.Tables.Select(t => t.Name).Union(target.Tables.Select(t => t.Name)))
                {
                    var a = source.Find(name);
                    var b = target.Find(name);
                    if (a is null || b is null)
                    {
                        difference = $"only the {(a is null ? "destination" : "source")} has the table '{name}'";
                        break;
                    }

                    var mismatch = a.Columns.Select(c => c.Name).Union(b.Columns.Select(c => c.Name))
                        .FirstOrDefault(c => a.Column(c)?.Kind != b.Column(c)?.Kind);
                    if (mismatch != null)
                    {
                        difference = $"the column '{name}.{mismatch}' is {Describe(a.Column(mismatch))} in the source and {Describe(b.Column(mismatch))} in the destination";
                        break;
                    }
                }
            }

            if (difference != null)
            {
                throw new ConnectionToolsException(
                    ErrorIds.StoreCopySchemaMismatch,
                    ErrorKind.InvalidData,
                    $"The stores '{from.Path}' and '{to.Path}' do not have the same schema: {difference}. Nothing was copied.",
                    to.Path,
                    "Copy into a new store made by this version of ConnectionTools, and copy from a store this version opened (it upgrades the schema on opening).");
            }

            static string Describe(Column? column) => column is null ? "missing" : column.Kind.ToString().ToLowerInvariant();
        }

        /// <summary>The tables of the store, from the engine's catalog; its own bookkeeping (sqlite_sequence, connectiontools_store) left out.</summary>
        private static Schema ReadSchema(StoreSession db)
        {
            var version = db.Engine.ReadVersion(db);
            var sqlite = db.Engine is SqliteEngine;
            var names = Strings(db, sqlite
                ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\';"
                : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'connectiontools_store';");
            var tables = new List<Table>();
            foreach (var name in names.OrderBy(n => n, StringComparer.Ordinal))
            {
                var columns = new List<Column>();
                var key = new List<(int Position, string Name)>();
                using (var command = sqlite
                    ? db.Command("SELECT name, type, pk, 0 FROM pragma_table_info($table);", ("$table", name))
                    : db.Command(
                        "SELECT c.column_name, c.data_type, COALESCE((SELECT k.ordinal_position FROM information_schema.table_constraints t JOIN information_schema.key_column_usage k " +
                        "ON k.constraint_schema = t.constraint_schema AND k.constraint_name = t.constraint_name AND k.table_name = t.table_name " +
                        "WHERE t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.constraint_type = 'PRIMARY KEY' AND k.column_name = c.column_name), 0), " +
                        "CASE WHEN c.is_identity = 'YES' THEN 1 ELSE 0 END " +
                        "FROM information_schema.columns c WHERE c.table_schema = current_schema() AND c.table_name = $table;",
                        ("$table", name)))
                using (var reader = command.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        var column = Convert.ToString(reader.GetValue(0), CultureInfo.InvariantCulture)!;
                        var type = Convert.ToString(reader.GetValue(1), CultureInfo.InvariantCulture) ?? "";
                        var position = Convert.ToInt32(reader.GetValue(2), CultureInfo.InvariantCulture);
                        columns.Add(new Column(column, KindOf(type), Convert.ToInt32(reader.GetValue(3), CultureInfo.InvariantCulture) == 1));
                        if (position > 0)
                        {
                            key.Add((position, column));
                        }
                    }
                }

                // Every store table has a primary key; should one ever lack it, all columns give the rows a stable order.
                var order = key.Count > 0 ? key.OrderBy(k => k.Position).Select(k => k.Name).ToList() : columns.Select(c => c.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
                tables.Add(new Table(name, columns.OrderBy(c => c.Name, StringComparer.Ordinal).ToList(), order));
            }

            return new Schema(version, tables);
        }

        private static List<string> Strings(StoreSession db, string sql)
        {
            var values = new List<string>();
            using (var command = db.Command(sql))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    values.Add(Convert.ToString(reader.GetValue(0), CultureInfo.InvariantCulture)!);
                }
            }

            return values;
        }

        /// <summary>SQLite's declared types (the migrations') and PostgreSQL's (the engine's translation of them) to one kind.</summary>
        private static Kind KindOf(string type)
        {
            var t = type.ToUpperInvariant();
            if (t.Contains("INT"))
            {
                return Kind.Integer;
            }

            if (t.Contains("BLOB") || t.Contains("BYTEA"))
            {
                return Kind.Blob;
            }

            if (t.Contains("REAL") || t.Contains("FLOA") || t.Contains("DOUB"))
            {
                return Kind.Real;
            }

            return Kind.Text;
        }

        /// <summary>A value as its column's kind holds it, so both engines bind and hash the same thing (SQLite hands back what was stored).</summary>
        private static object? Coerce(object? value, Kind kind)
        {
            switch (kind)
            {
                case Kind.Integer when value is int || value is short || value is byte:
                    return Convert.ToInt64(value, CultureInfo.InvariantCulture);
                case Kind.Integer when value is string s && long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n):
                    return n;
                case Kind.Real when value is long || value is int:
                    return Convert.ToDouble(value, CultureInfo.InvariantCulture);
                case Kind.Text when value is long || value is int || value is double:
                    return Convert.ToString(value, CultureInfo.InvariantCulture);
                case Kind.Blob when value is string s:
                    return Encoding.UTF8.GetBytes(s);
                default:
                    return value;
            }
        }

        private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";

        private enum Kind
        {
            Integer,
            Text,
            Blob,
            Real,
        }

        private sealed class Column
        {
            public Column(string name, Kind kind, bool identity)
            {
                Name = name;
                Kind = kind;
                Identity = identity;
                // By convention every column that holds data encrypted with the node's secret protector is named *_protected
                // (grants.grant_protected, peer_keys.key_protected, invitations.code_protected): a new one is re-encrypted too.
                Protected = name.EndsWith("_protected", StringComparison.Ordinal);
            }

            public string Name { get; }

            public Kind Kind { get; }

            public bool Identity { get; }

            public bool Protected { get; }
        }

        private sealed class Table
        {
            public Table(string name, IReadOnlyList<Column> columns, IReadOnlyList<string> key)
            {
                Name = name;
                Columns = columns;
                Key = key;
            }

            public string Name { get; }

            /// <summary>In name order, so both engines' columns line up whatever order ALTER TABLE added them in.</summary>
            public IReadOnlyList<Column> Columns { get; }

            public IReadOnlyList<string> Key { get; }

            public Column? Column(string name) => Columns.FirstOrDefault(c => c.Name == name);
        }

        private sealed class Schema
        {
            public Schema(int version, IReadOnlyList<Table> tables)
            {
                Version = version;
                Tables = tables;
            }

            public int Version { get; }

            public IReadOnlyList<Table> Tables { get; }

            public Table? Find(string name) => Tables.FirstOrDefault(t => t.Name == name);
        }

        /// <summary>A destination's database error, carried through the source's unit of work (which catches only DbException).</summary>
        private sealed class TargetFailure : Exception
        {
            public TargetFailure(DbException error)
                : base(error.Message, error)
            {
                Error = error;
            }

            public DbException Error { get; }
        }

        private sealed class TableSum
        {
            public TableSum(string table, long rows, string checksum, long secrets)
            {
                Table = table;
                Rows = rows;
                Checksum = checksum;
                Secrets = secrets;
            }

            public string Table { get; }

            public long Rows { get; }

            public string Checksum { get; }

            public long Secrets { get; }
        }

        /// <summary>
        /// SHA-256 over a canonical text of the rows: per value its column, a tag and the value (integers in decimal, text with
        /// its length, blobs in hex, null as N), so SQLite and PostgreSQL give the same text for the same row. A secret counts
        /// by its plaintext bytes, fed to the hash straight from the decrypted buffer so that no string ever holds them.
        /// </summary>
        private sealed class RowHash
        {
            private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            private readonly StringBuilder _text = new StringBuilder();

            public RowHash(IReadOnlyList<Column> columns)
            {
                _text.Append("columns:").Append(string.Join(",", columns.Select(c => c.Name))).Append('\n');
            }

            public void Add(int column, object? value)
            {
                _text.Append(column.ToString(CultureInfo.InvariantCulture)).Append('=');
                switch (value)
                {
                    case null:
                        _text.Append('N');
                        break;
                    case long n:
                        _text.Append('I').Append(n.ToString(CultureInfo.InvariantCulture));
                        break;
                    case double d:
                        _text.Append('R').Append(d.ToString("R", CultureInfo.InvariantCulture));
                        break;
                    case byte[] bytes:
                        _text.Append('B');
                        foreach (var b in bytes)
                        {
                            _text.Append(b.ToString("x2", CultureInfo.InvariantCulture));
                        }

                        break;
                    default:
                        var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
                        _text.Append('T').Append(text.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(text);
                        break;
                }

                _text.Append('\n');
            }

            public void AddSecret(int column, byte[] plain)
            {
                _text.Append(column.ToString(CultureInfo.InvariantCulture)).Append("=S").Append(plain.Length.ToString(CultureInfo.InvariantCulture)).Append(':');
                Flush();
                _hash.AppendData(plain);
                _text.Append('\n');
            }

            public void EndRow()
            {
                _text.Append('\u001e');
                if (_text.Length > 64 * 1024)
                {
                    Flush();
                }
            }

            public string Finish()
            {
                Flush();
                var digest = _hash.GetHashAndReset();
                _hash.Dispose();
                return string.Concat(digest.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
            }

            private void Flush()
            {
                if (_text.Length > 0)
                {
                    _hash.AppendData(Encoding.UTF8.GetBytes(_text.ToString()));
                    _text.Clear();
                }
            }
        }
    }
}
