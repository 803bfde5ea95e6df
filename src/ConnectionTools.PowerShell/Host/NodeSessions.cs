using System;
using System.Management.Automation;
using System.Net;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.PowerShell.Host
{
    /// <summary>
    /// The node each runspace works with. Keyed by runspace, so parallel runspaces (ForEach-Object -Parallel, jobs)
    /// each have their own choice of store. Runspaces that choose the same file share one open store underneath
    /// (<see cref="ConnectionStore"/> keeps one per file per process); a runspace lets go of its store when it closes.
    /// </summary>
    internal static class NodeSessions
    {
        private static readonly ConditionalWeakTable<object, Slot> Sessions = new ConditionalWeakTable<object, Slot>();
        private static readonly object NoRunspace = new object();

        /// <summary>Set in a runspace's global scope when this module first serves it (see SessionOfThisRunspace).</summary>
        private const string MarkerVariable = "global:ConnectionToolsRunspaceSession";

        /// <summary>
        /// The node for the current runspace: the one chosen with Connect-ConnectionNode, else CONNECTIONTOOLS_STORE, else the
        /// default. After a failed Connect-ConnectionNode there is none until a connect succeeds: never a silent fallback.
        /// </summary>
        /// <param name="state">The calling cmdlet's session state, through which a reused runspace is recognised; null from a completer.</param>
        public static ConnectionNode Current(SessionState? state = null)
        {
            var session = SessionOfThisRunspace(state);
            lock (session)
            {
                if (session.FailedConnect is { } failed)
                {
                    throw NotConnected(failed);
                }

                // A database chosen with -ConnectionString stays this session's until the next connect: nothing to re-resolve.
                if (session.Database != null && session.Node != null)
                {
                    return session.Node;
                }

                var location = Locate(session);
                if (session.Node is null || !string.Equals(session.Node.Location.Path, location.Path, StringComparison.Ordinal) || session.Node.Location.Source != location.Source)
                {
                    var node = ConnectionNode.Open(location);
                    session.Node?.Dispose();
                    session.Node = node;
                }

                return session.Node;
            }
        }

        /// <summary>
        /// Where the current runspace's store is, without opening it: for a command that hands the store to another process
        /// (the node host) and must refuse bad options before the file is touched.
        /// </summary>
        public static StoreLocation CurrentLocation(SessionState? state)
        {
            var session = SessionOfThisRunspace(state);
            lock (session)
            {
                if (session.FailedConnect is { } failed)
                {
                    throw NotConnected(failed);
                }

                return Locate(session);
            }
        }

        /// <summary>
        /// The password of the session's -Credential, for a node host started from this session (it goes to the child's
        /// environment only, never its command line); null when the session has none.
        /// </summary>
        public static NetworkCredential? CurrentCredential(SessionState? state)
        {
            var session = SessionOfThisRunspace(state);
            lock (session)
            {
                return session.Database?.Credential;
            }
        }

        /// <summary>
        /// Opens the store and makes it this runspace's. When it cannot be opened, the runspace is left with no store: later
        /// commands name the path that failed instead of quietly using the previous store or the default one.
        /// </summary>
        public static ConnectionNode Connect(string? storePath, bool create, SessionState state) =>
            Connect(state, storePath, null, create, storePath ?? StoreLocation.EnvironmentVariable);

        /// <summary>
        /// Opens a PostgreSQL store and makes it this runspace's. The credential is kept in memory for the session's later
        /// re-opens; it is never written anywhere. <paramref name="keyFile"/> must already be a full path.
        /// </summary>
        public static ConnectionNode ConnectDatabase(string connectionString, NetworkCredential? credential, string? keyFile, bool create, SessionState state) =>
            // A failed connect names "-ConnectionString", not the string: whatever it holds (even a refused password) is never echoed.
            Connect(state, null, new DatabaseChoice(connectionString, credential, keyFile), create, "-ConnectionString");

        private static ConnectionNode Connect(SessionState state, string? storePath, DatabaseChoice? database, bool create, string failedLabel)
        {
            var session = SessionOfThisRunspace(state);
            lock (session)
            {
                ConnectionNode node;
                StoreLocation? location = null;
                if (database != null)
                {
                    // Let go of the current store first: a process shares one open store per database, so re-connecting to the
                    // one this runspace holds would reuse its sign-in and never check the new credential.
                    session.Node?.Dispose();
                    session.Node = null;
                }

                try
                {
                    location = Locate(storePath, database, create);
                    node = ConnectionNode.Open(location);
                    try
                    {
                        // An admin choosing a store learns now, not halfway through a change, that its file is damaged.
                        node.Store.EnsureIntact();
                    }
                    catch
                    {
                        node.Dispose();
                        throw;
                    }
                }
                catch (ConnectionToolsException e)
                {
                    session.Node?.Dispose();
                    session.Node = null;
                    session.FailedConnect = new FailedConnect(location?.Path ?? failedLabel, e);
                    throw;
                }

                session.Node?.Dispose();
                session.Node = node;
                session.StorePath = storePath;
                session.Database = database;
                session.FailedConnect = null;
                return node;
            }
        }

        private static StoreLocation Locate(Session session) => Locate(session.StorePath, session.Database, create: false);

        private static StoreLocation Locate(string? storePath, DatabaseChoice? database, bool create) =>
            database is null
                ? StoreLocation.Resolve(storePath, Environment.GetEnvironmentVariable, create)
                : StoreLocation.ForDatabase(database.ConnectionString, StoreSource.Session, create, database.Credential, database.KeyFile, "-ConnectionString");

        private static ConnectionToolsException NotConnected(FailedConnect failed) => new ConnectionToolsException(
            ErrorIds.StoreNotConnected,
            ErrorKind.InvalidOperation,
            $"This session has no store: Connect-ConnectionNode could not open '{failed.Path}' ({failed.Error.ErrorId}: {failed.Error.Message}) " +
            "No other store is used in its place.",
            failed.Path,
            $"Fix the store, or connect to another with Connect-ConnectionNode -StorePath <path> (without -StorePath: {StoreLocation.EnvironmentVariable} or the per-user default).");

        private static Session SessionOfThisRunspace(SessionState? state)
        {
            var runspace = Runspace.DefaultRunspace;
            if (runspace is null)
            {
                return Sessions.GetValue(NoRunspace, _ => new Slot()).Session;
            }

            var slot = Sessions.GetValue(runspace, key =>
            {
                var created = new Slot();
                // ForEach-Object -Parallel and thread jobs close their runspaces when done: let go of the store with them.
                ((Runspace)key).StateChanged += (_, e) =>
                {
                    if (e.RunspaceStateInfo.State == RunspaceState.Closed || e.RunspaceStateInfo.State == RunspaceState.Broken)
                    {
                        created.Session.Release();
                    }
                };
                return created;
            });

            lock (slot)
            {
                if (state != null)
                {
                    // ForEach-Object -Parallel reuses a runspace for later script blocks after resetting its variables, but not this
                    // table: a global variable the reset clears tells a reused runspace, which starts afresh as a new one would.
                    var marker = state.PSVariable.GetValue(MarkerVariable) as string;
                    if (slot.Marker != null && !string.Equals(marker, slot.Marker, StringComparison.Ordinal))
                    {
                        slot.Session.Release();
                        slot.Session = new Session();
                        slot.Marker = null;
                    }

                    if (slot.Marker is null)
                    {
                        slot.Marker = Guid.NewGuid().ToString("N");
                        state.PSVariable.Set(MarkerVariable, slot.Marker);
                    }
                }

                return slot.Session;
            }
        }

        /// <summary>One runspace's session, replaced when the runspace is reset for reuse.</summary>
        private sealed class Slot
        {
            public Session Session { get; set; } = new Session();

            public string? Marker { get; set; }
        }

        private sealed class FailedConnect
        {
            public FailedConnect(string path, ConnectionToolsException error)
            {
                Path = path;
                Error = error;
            }

            public string Path { get; }

            public ConnectionToolsException Error { get; }
        }

        /// <summary>A PostgreSQL store chosen with Connect-ConnectionNode -ConnectionString: what re-opens it.</summary>
        private sealed class DatabaseChoice
        {
            public DatabaseChoice(string connectionString, NetworkCredential? credential, string? keyFile)
            {
                ConnectionString = connectionString;
                Credential = credential;
                KeyFile = keyFile;
            }

            /// <summary>Never holds a password: the engine refuses one (ConnectionTools.Store.PasswordInConnectionString).</summary>
            public string ConnectionString { get; }

            /// <summary>In memory only, for this session's re-opens and the node hosts it starts.</summary>
            public NetworkCredential? Credential { get; }

            public string? KeyFile { get; }
        }

        private sealed class Session
        {
            public string? StorePath { get; set; }

            public DatabaseChoice? Database { get; set; }

            public ConnectionNode? Node { get; set; }

            public FailedConnect? FailedConnect { get; set; }

            public void Release()
            {
                lock (this)
                {
                    Node?.Dispose();
                    Node = null;
                }
            }
        }
    }
}
