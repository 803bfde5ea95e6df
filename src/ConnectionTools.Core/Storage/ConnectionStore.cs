using System;
using System.Collections.Generic;
using System.Threading;
using ConnectionTools.Connections;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// The node's embedded store: one SQLite file in WAL mode. Every change is one IMMEDIATE transaction that
    /// re-reads the row, applies the change, bumps the version and appends an audit entry, so concurrent writers
    /// serialize instead of losing updates. Safe to share across threads: each unit of work opens its own (pooled) connection.
    /// Each instance is one user's hold on the file's <see cref="SharedStore"/>: every instance for one file in a process shares
    /// its pool and write gate, and the last one disposed closes the file.
    /// </summary>
    /// <remarks>
    /// This file holds the operations; opening and checking the file are in ConnectionStore.Opening.cs, the busy retry and
    /// SQLite's errors in ConnectionStore.Retry.cs, the uniqueness rules and their errors in ConnectionStore.Errors.cs, and the
    /// SQL in the *Rows classes.
    /// </remarks>
    public sealed partial class ConnectionStore : IDisposable
    {
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

        /// <summary>"SQLite" or "PostgreSQL".</summary>
        public string Engine => _shared.Engine.Name;

        /// <summary>What every user of this store in the process shares; StoreCopy needs its engine's key and to replace the node id it caches.</summary>
        internal SharedStore Shared => _shared;

        /// <summary>The PostgreSQL server and database (never a password); empty for a SQLite file.</summary>
        public string Server => _shared.Engine.Server;

        /// <summary>True when this open created the store file (a new store).</summary>
        public bool Created { get; private set; }

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
            var visited = false;
            Read(db =>
            {
                using (var command = ConnectionRows.Select(db, filter))
                using (var reader = command.ExecuteReader())
                {
                    while (ReadNext(reader, visited))
                    {
                        visited = true;
                        visit(ConnectionRows.Map(reader));
                    }
                }

                return 0;
            });
        }

        public Connection? Find(Guid id) => Read(db => ConnectionRows.FindById(db, id));

        /// <summary>The live (not removed) connection with this name, compared without regard to case.</summary>
        public Connection? FindByName(string name) => Read(db => ConnectionRows.FindLiveByName(db, name));

        /// <summary>The live connection pinned to an org, if any.</summary>
        public Connection? FindByOrganization(string organizationId) => Read(db => ConnectionRows.FindLiveByOrganization(db, organizationId));

        /// <summary>The most recently removed connection that was pinned to an org, whose settings a new connection to it reuses.</summary>
        public Connection? FindRemovedByOrganization(string organizationId) => Read(db => ConnectionRows.FindRemovedByOrganization(db, organizationId));

        /// <summary>The live private connections bound to the system connection <paramref name="systemId"/>, in name order.</summary>
        public IReadOnlyList<Connection> ListBoundTo(Guid systemId) => Read(db => ConnectionRows.ListLiveBoundTo(db, systemId));

        /// <summary>Reads a connection inside a write transaction the caller holds.</summary>
        internal Connection? FindInTransaction(StoreTransaction tx, Guid id) => ConnectionRows.FindById(tx, id);

        /// <summary>Adds a new connection and its Create audit entry in one transaction.</summary>
        public Connection Create(Connection connection, string actor) => Create(connection, actor, null);

        /// <summary>Creates a connection, and whatever else must exist with it, in one transaction.</summary>
        internal Connection Create(Connection connection, string actor, Action<StoreTransaction>? alsoWrite) =>
            Write(tx => CreateIn(tx, connection, actor, alsoWrite));

        /// <summary>As <see cref="Create(Connection, string, Action{StoreTransaction}?)"/>, inside a write transaction the caller holds.</summary>
        internal Connection CreateIn(StoreTransaction tx, Connection connection, string actor, Action<StoreTransaction>? alsoWrite)
        {
            EnsureNameFree(tx, connection.Name, connection.Id);
            EnsureOrganizationFree(tx, connection.OrganizationId, connection.Id);
            var now = Now();
            var created = connection.With(c =>
            {
                c.CreatedAt = now;
                c.CreatedBy = actor;
                c.ModifiedAt = now;
                c.ModifiedBy = actor;
                c.Version = 1;
            });
            ConnectionRows.Insert(tx, created);
            alsoWrite?.Invoke(tx);
            AuditRows.Append(tx, null, created, LifecycleAction.Create, actor, now);
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
        internal ChangeOutcome Change(Guid id, LifecycleAction action, Func<Connection, Connection?> change, string actor, Action<StoreTransaction, Connection>? alsoWrite, bool always = false, string? note = null) =>
            Write(tx => ChangeIn(tx, id, action, change, actor, alsoWrite, always, note));

        /// <summary>As <see cref="Change(Guid, LifecycleAction, Func{Connection, Connection?}, string, Action{StoreTransaction, Connection}?, bool, string?)"/>, inside a write transaction the caller holds.</summary>
        internal ChangeOutcome ChangeIn(StoreTransaction tx, Guid id, LifecycleAction action, Func<Connection, Connection?> change, string actor, Action<StoreTransaction, Connection>? alsoWrite, bool always = false, string? note = null)
        {
            var before = ConnectionRows.FindById(tx, id) ?? throw NotFound(FormatId(id));
            var proposed = change(before);
            if (proposed is null || (proposed == before && !always))
            {
                return new ChangeOutcome(before, before, changed: false);
            }

            if (!ConnectionNames.Same(proposed.Name, before.Name) || proposed.Status != before.Status)
            {
                if (proposed.Status != ConnectionStatus.Removed)
                {
                    EnsureNameFree(tx, proposed.Name, id);
                }
            }

            if (proposed.OrganizationId != before.OrganizationId && proposed.Status != ConnectionStatus.Removed)
            {
                EnsureOrganizationFree(tx, proposed.OrganizationId, id);
            }

            var now = Now();
            var after = proposed.With(c => { c.Id = before.Id; c.Version = before.Version + 1; c.ModifiedAt = now; c.ModifiedBy = actor; });
            if (ConnectionRows.Update(tx, after, before.Version) != 1)
            {
                // Unreachable while writers hold the IMMEDIATE lock; kept so a future code path can never overwrite silently.
                throw Conflict(before, null);
            }

            if (before.Status != after.Status)
            {
                JobRows.Follow(tx, after, now);
            }

            if (before.RetrievalInterval != after.RetrievalInterval)
            {
                JobRows.IntervalChanged(tx, after, now);
            }

            alsoWrite?.Invoke(tx, after);
            AuditRows.Append(tx, before, after, action, actor, now, note);
            return new ChangeOutcome(before, after, changed: true);
        }

        /// <summary>The audit entries of one connection, oldest first. Works for removed connections.</summary>
        public IReadOnlyList<AuditEntry> History(Guid connectionId) => History(connectionId, null, null, null);

        /// <summary>
        /// Audit entries, oldest first: of one connection, or of the whole node (node settings included) when
        /// <paramref name="connectionId"/> is null; from <paramref name="since"/> on; then only the first or the last so many.
        /// </summary>
        public IReadOnlyList<AuditEntry> History(Guid? connectionId, DateTimeOffset? since, int? first, int? last) =>
            Read(db => AuditRows.History(db, connectionId, since, first, last));

        /// <summary>A node setting, such as its public URL; null when it was never set.</summary>
        public string? GetNodeSetting(string key) => Read(db => NodeRows.Get(db, key));

        /// <summary>Sets a node setting; the change is audited under the node's id.</summary>
        public void SetNodeSetting(string key, string value, string actor) => Write(tx =>
        {
            var before = NodeRows.Get(tx, key);
            if (before == value)
            {
                return 0;
            }

            NodeRows.Set(tx, key, value);
            AuditRows.AppendNodeSetting(tx, NodeId, key, before, value, actor, Now());
            return 1;
        });

        public long AuditCount() => Read(AuditRows.Count);

        /// <summary>Counts of connections by status, from one query.</summary>
        public IReadOnlyDictionary<ConnectionStatus, int> CountByStatus() => Read(ConnectionRows.CountByStatus);

        internal static string Summarize(Connection? before, Connection after) => AuditRows.Summarize(before, after);

        internal static string FormatId(Guid id) => id.ToString("D");

        /// <summary>Lets go of the file; the last user of it in this process closes its pooled connections.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                StoreRegistry.Release(_shared);
            }
        }

        /// <summary>Runs <paramref name="work"/> on a connection of its own, outside any transaction; a busy store runs it again.</summary>
        internal T Read<T>(Func<StoreSession, T> work) => Retry(() =>
        {
            var engine = _shared.Engine;
            using (var connection = engine.Open())
            {
                return work(new StoreSession(engine, connection));
            }
        });

        /// <summary>
        /// Runs <paramref name="work"/> in one IMMEDIATE transaction and commits what it wrote when it returns; a busy store runs
        /// it again from the start.
        /// </summary>
        internal T Write<T>(Func<StoreTransaction, T> work) => Retry(() =>
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
                var engine = _shared.Engine;
                using (var connection = engine.Open())
                using (var transaction = engine.BeginWrite(connection))
                {
                    var session = new StoreTransaction(engine, connection, transaction);
                    var result = work(session);
                    try
                    {
                        session.Commit();
                    }
                    catch (System.Data.Common.DbException e) when (!engine.IsTransient(e))
                    {
                        // A commit whose answer was lost may have taken effect: running the work again could do it twice.
                        throw engine.Translate(e, _shared, _options.RetryBudget);
                    }

                    return result;
                }
            }
        });

        internal DateTimeOffset Now()
        {
            // Stored with millisecond precision; truncate so an object in memory equals the one read back.
            var now = _options.Clock().ToUniversalTime();
            return DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
        }
    }
}
