using System;
using System.Collections.Generic;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// One unit of work on the store that reads: an open (pooled) connection, and the statements it keeps prepared while a
    /// <see cref="KeepStatementsPrepared"/> scope is open. <see cref="ConnectionStore"/> opens it and hands it to the work;
    /// code outside Storage only passes it on to the *Rows classes, which hold the SQL. Used by one thread at a time.
    /// </summary>
    internal class StoreSession
    {
        private StatementCache? _statements;

        internal StoreSession(SqliteConnection connection)
            : this(connection, null)
        {
        }

        private protected StoreSession(SqliteConnection connection, SqliteTransaction? transaction)
        {
            Connection = connection;
            Transaction = transaction;
        }

        private SqliteConnection Connection { get; }

        /// <summary>The write transaction every command joins; null for a session that only reads.</summary>
        private protected SqliteTransaction? Transaction { get; }

        /// <summary>
        /// Keeps the statements run through <see cref="Execute"/>, <see cref="Scalar"/> and <see cref="Reusable"/> prepared until
        /// the returned scope is disposed, so a unit of work that runs the same statements many times (a batch of creations)
        /// compiles each once: preparing a statement costs SQLite far more than running it. Scopes do not nest; the scope must
        /// end before the unit of work does.
        /// </summary>
        public IDisposable KeepStatementsPrepared()
        {
            if (_statements != null)
            {
                throw new InvalidOperationException("This store session already keeps its statements prepared.");
            }

            _statements = new StatementCache(this);
            return _statements;
        }

        internal SqliteCommand Command(string text, params (string Name, object? Value)[] parameters)
        {
            var command = Connection.CreateCommand();
            command.Transaction = Transaction;
            command.CommandText = text;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }

            return command;
        }

        internal int Execute(string text, params (string Name, object? Value)[] parameters)
        {
            var cached = Reusable(text, parameters);
            if (cached != null)
            {
                return cached.ExecuteNonQuery();
            }

            using (var command = Command(text, parameters))
            {
                return command.ExecuteNonQuery();
            }
        }

        internal object? Scalar(string text, params (string Name, object? Value)[] parameters)
        {
            var cached = Reusable(text, parameters);
            if (cached != null)
            {
                return cached.ExecuteScalar();
            }

            using (var command = Command(text, parameters))
            {
                return command.ExecuteScalar();
            }
        }

        /// <summary>
        /// The kept command for <paramref name="text"/>, bound to these parameter values; null when this session keeps no
        /// statements prepared. The session owns it: do not dispose it.
        /// </summary>
        internal SqliteCommand? Reusable(string text, (string Name, object? Value)[] parameters)
        {
            var cache = _statements;
            if (cache is null)
            {
                return null;
            }

            if (!cache.Commands.TryGetValue(text, out var command))
            {
                command = Command(text, parameters);
                cache.Commands.Add(text, command);
                return command;
            }

            var bound = command.Parameters;
            if (bound.Count == parameters.Length)
            {
                for (var i = 0; i < parameters.Length; i++)
                {
                    if (!string.Equals(bound[i].ParameterName, parameters[i].Name, StringComparison.Ordinal))
                    {
                        bound.Clear();
                        break;
                    }
                }
            }
            else
            {
                bound.Clear();
            }

            if (bound.Count == 0)
            {
                foreach (var (name, value) in parameters)
                {
                    bound.AddWithValue(name, value ?? DBNull.Value);
                }
            }
            else
            {
                for (var i = 0; i < parameters.Length; i++)
                {
                    bound[i].Value = parameters[i].Value ?? DBNull.Value;
                }
            }

            return command;
        }

        private sealed class StatementCache : IDisposable
        {
            private readonly StoreSession _session;

            public StatementCache(StoreSession session)
            {
                _session = session;
            }

            public Dictionary<string, SqliteCommand> Commands { get; } = new Dictionary<string, SqliteCommand>(StringComparer.Ordinal);

            public void Dispose()
            {
                foreach (var command in Commands.Values)
                {
                    command.Dispose();
                }

                Commands.Clear();
                if (ReferenceEquals(_session._statements, this))
                {
                    _session._statements = null;
                }
            }
        }
    }
}
