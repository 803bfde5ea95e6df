using System;
using System.Collections.Generic;
using System.Data.Common;

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

        internal StoreSession(StoreEngine engine, DbConnection connection)
            : this(engine, connection, null)
        {
        }

        private protected StoreSession(StoreEngine engine, DbConnection connection, DbTransaction? transaction)
        {
            Engine = engine;
            Connection = connection;
            Transaction = transaction;
        }

        /// <summary>The database the store is in; the *Rows classes ask it only where the two dialects cannot share one text.</summary>
        internal StoreEngine Engine { get; }

        private DbConnection Connection { get; }

        /// <summary>The write transaction every command joins; null for a session that only reads.</summary>
        private protected DbTransaction? Transaction { get; }

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

        internal DbCommand Command(string text, params (string Name, object? Value)[] parameters)
        {
            var command = Connection.CreateCommand();
            command.Transaction = Transaction;
            command.CommandText = Engine.Sql(text);
            foreach (var (name, value) in parameters)
            {
                Engine.Bind(command, name, value);
            }

            return command;
        }

        /// <summary>Sets the parameter the SQL names <paramref name="name"/> of a command made by <see cref="Command"/>.</summary>
        internal void Rebind(DbCommand command, string name, object? value)
        {
            foreach (DbParameter parameter in command.Parameters)
            {
                if (Engine.IsParameter(parameter, name))
                {
                    Engine.Rebind(parameter, value);
                    return;
                }
            }

            throw new ArgumentException($"The command has no parameter {name}.", nameof(name));
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
                return Plain(cached.ExecuteScalar());
            }

            using (var command = Command(text, parameters))
            {
                return Plain(command.ExecuteScalar());
            }
        }

        /// <summary>
        /// A scalar as SQLite gives it, whatever the engine: PostgreSQL answers EXISTS with a boolean and a literal with an
        /// int, where SQLite answers with a long; callers read longs.
        /// </summary>
        private static object? Plain(object? value) => value switch
        {
            bool b => b ? 1L : 0L,
            int i => (long)i,
            short s => (long)s,
            _ => value,
        };

        /// <summary>
        /// The kept command for <paramref name="text"/>, bound to these parameter values; null when this session keeps no
        /// statements prepared. The session owns it: do not dispose it.
        /// </summary>
        internal DbCommand? Reusable(string text, (string Name, object? Value)[] parameters)
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
                    if (!Engine.IsParameter(bound[i], parameters[i].Name))
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
                    Engine.Bind(command, name, value);
                }
            }
            else
            {
                for (var i = 0; i < parameters.Length; i++)
                {
                    Engine.Rebind(bound[i], parameters[i].Value);
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

            public Dictionary<string, DbCommand> Commands { get; } = new Dictionary<string, DbCommand>(StringComparer.Ordinal);

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
