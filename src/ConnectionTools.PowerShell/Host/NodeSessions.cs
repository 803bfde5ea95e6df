using System;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.PowerShell.Host
{
    /// <summary>
    /// The node each runspace works with. Keyed by runspace, so parallel runspaces (ForEach-Object -Parallel, jobs)
    /// each have their own choice of store and nothing is shared by accident.
    /// </summary>
    internal static class NodeSessions
    {
        private static readonly ConditionalWeakTable<object, Session> Sessions = new ConditionalWeakTable<object, Session>();
        private static readonly object NoRunspace = new object();

        /// <summary>The node for the current runspace: the one chosen with Connect-ConnectionNode, else CONNECTIONTOOLS_STORE, else the default.</summary>
        public static ConnectionNode Current()
        {
            var session = Sessions.GetValue(Key(), _ => new Session());
            lock (session)
            {
                var location = StoreLocation.Resolve(session.StorePath, Environment.GetEnvironmentVariable);
                if (session.Node is null || !string.Equals(session.Node.Location.Path, location.Path, StringComparison.Ordinal) || session.Node.Location.Source != location.Source)
                {
                    var node = ConnectionNode.Open(location);
                    session.Node?.Dispose();
                    session.Node = node;
                }

                return session.Node;
            }
        }

        /// <summary>Opens the store first, so a bad path leaves the session on its previous store.</summary>
        public static ConnectionNode Connect(string? storePath)
        {
            var session = Sessions.GetValue(Key(), _ => new Session());
            lock (session)
            {
                var node = ConnectionNode.Open(StoreLocation.Resolve(storePath, Environment.GetEnvironmentVariable));
                session.Node?.Dispose();
                session.Node = node;
                session.StorePath = storePath;
                return node;
            }
        }

        private static object Key() => (object?)Runspace.DefaultRunspace ?? NoRunspace;

        private sealed class Session
        {
            public string? StorePath { get; set; }

            public ConnectionNode? Node { get; set; }
        }
    }
}
