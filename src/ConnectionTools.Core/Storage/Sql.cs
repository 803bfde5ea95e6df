using System;
using System.Collections.Generic;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Storage
{
    internal static class Sql
    {
        /// <summary>The statement cache of the unit of work running on this thread, if it opened one.</summary>
        [ThreadStatic]
        private static StatementCache? _cache;

        /// <summary>
        /// Keeps the statements run through <see cref="Execute"/>, <see cref="Scalar"/> and <see cref="Reusable"/> on
        /// <paramref name="connection"/> prepared until the returned scope is disposed, so a unit of work that runs the same
        /// statements many times (a batch of creations) compiles each once: preparing a statement costs SQLite far more than
        /// running it. Scopes do not nest; the scope must end before the connection is closed.
        /// </summary>
        public static IDisposable Cached(SqliteConnection connection)
        {
            if (_cache != null)
            {
                throw new InvalidOperationException("A statement cache is already open on this thread.");
            }

            _cache = new StatementCache(connection);
            return _cache;
        }

        public static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string text, params (string Name, object? Value)[] parameters)
        {
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = text;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            }

            return command;
        }

        public static int Execute(SqliteConnection connection, SqliteTransaction? transaction, string text, params (string Name, object? Value)[] parameters)
        {
            var cached = Reusable(connection, transaction, text, parameters);
            if (cached != null)
            {
                return cached.ExecuteNonQuery();
            }

            using (var command = Command(connection, transaction, text, parameters))
            {
                return command.ExecuteNonQuery();
            }
        }

        public static object? Scalar(SqliteConnection connection, SqliteTransaction? transaction, string text, params (string Name, object? Value)[] parameters)
        {
            var cached = Reusable(connection, transaction, text, parameters);
            if (cached != null)
            {
                return cached.ExecuteScalar();
            }

            using (var command = Command(connection, transaction, text, parameters))
            {
                return command.ExecuteScalar();
            }
        }

        /// <summary>
        /// The cached command for <paramref name="text"/>, bound to these parameter values; null when no cache is open on this
        /// connection. The cache owns it: do not dispose it.
        /// </summary>
        public static SqliteCommand? Reusable(SqliteConnection connection, SqliteTransaction? transaction, string text, (string Name, object? Value)[] parameters)
        {
            var cache = _cache;
            if (cache is null || !ReferenceEquals(cache.Connection, connection))
            {
                return null;
            }

            if (!cache.Commands.TryGetValue(text, out var command))
            {
                command = Command(connection, transaction, text, parameters);
                cache.Commands.Add(text, command);
                return command;
            }

            command.Transaction = transaction;
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
            public StatementCache(SqliteConnection connection)
            {
                Connection = connection;
            }

            public SqliteConnection Connection { get; }

            public Dictionary<string, SqliteCommand> Commands { get; } = new Dictionary<string, SqliteCommand>(StringComparer.Ordinal);

            public void Dispose()
            {
                foreach (var command in Commands.Values)
                {
                    command.Dispose();
                }

                Commands.Clear();
                if (ReferenceEquals(_cache, this))
                {
                    _cache = null;
                }
            }
        }
    }
}
