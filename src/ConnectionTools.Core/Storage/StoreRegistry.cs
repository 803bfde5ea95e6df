using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Platform;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// What every user of one store file in this process shares: one connection pool, one write gate, the schema check done
    /// once, and whether SQLite has reported the file damaged.
    /// </summary>
    internal sealed class SharedStore
    {
        private volatile string? _damage;

        public SharedStore(StoreEngine engine)
        {
            Engine = engine;
        }

        /// <summary>The registry's key: a file's real path, or a PostgreSQL server and database.</summary>
        public string RealPath => Engine.Key;

        public StoreEngine Engine { get; }

        /// <summary>Writers in this process queue here rather than in SQLite's busy handler, which sleeps in coarse steps.</summary>
        public object WriteGate { get; } = new object();

        /// <summary>Held while the first user checks and migrates the file, so the others wait for the outcome.</summary>
        public object InitializeGate { get; } = new object();

        public bool Initialized { get; set; }

        public Guid NodeId { get; set; }

        /// <summary>Guarded by the registry's lock.</summary>
        public int Users { get; set; }

        /// <summary>What SQLite said when it reported the file damaged; null while it has not.</summary>
        public string? Damage => _damage;

        public void MarkDamaged(string message) => _damage ??= message;
    }

    /// <summary>
    /// One open store per file per process: the one process-wide state the design allows. Keyed by the file's real path (symlinks
    /// resolved), counted by users, and closed (its pooled connections released) when the last user lets go. Runspaces, the node
    /// host's endpoints, its job scheduler and its poller all go through here, so two parts of a process never open one file twice.
    /// </summary>
    internal static class StoreRegistry
    {
        private static readonly Dictionary<string, SharedStore> Stores = new Dictionary<string, SharedStore>(UnixFile.PathComparer);

        public static SharedStore Acquire(string key, Func<StoreEngine> engine)
        {
            lock (Stores)
            {
                if (!Stores.TryGetValue(key, out var shared))
                {
                    shared = new SharedStore(engine());
                    Stores.Add(key, shared);
                }

                shared.Users++;
                return shared;
            }
        }

        public static void Release(SharedStore shared)
        {
            lock (Stores)
            {
                shared.Users--;
                if (shared.Users > 0)
                {
                    return;
                }

                Stores.Remove(shared.RealPath);
            }

            // The last user: close the pooled connections.
            shared.Engine.ClearPool();
        }

        /// <summary>The real paths of the stores open in this process.</summary>
        public static IReadOnlyList<string> OpenPaths()
        {
            lock (Stores)
            {
                return Stores.Keys.ToList();
            }
        }

        /// <summary>How many users share the store at this real path (0 when it is not open); for tests.</summary>
        public static int UsersOf(string realPath)
        {
            lock (Stores)
            {
                return Stores.TryGetValue(realPath, out var shared) ? shared.Users : 0;
            }
        }
    }
}
