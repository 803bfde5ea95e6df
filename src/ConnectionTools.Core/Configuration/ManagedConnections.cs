using System;
using System.Collections.Generic;
using ConnectionTools.Storage;

namespace ConnectionTools.Configuration
{
    /// <summary>The configuration_managed table (migration V5): which configuration manages which connection.</summary>
    internal static class ManagedConnections
    {
        /// <summary>Every row: connection id to configuration name.</summary>
        public static Dictionary<Guid, string> ReadAll(ConnectionStore store) => store.Read(ManagedRows.All);

        /// <summary>Records connections as managed by <paramref name="configuration"/>, in one transaction. Not audited: the connection does not change.</summary>
        public static void Record(ConnectionStore store, string configuration, IReadOnlyCollection<Guid> ids, DateTimeOffset at)
        {
            if (ids.Count == 0)
            {
                return;
            }

            store.Write(tx =>
            {
                foreach (var id in ids)
                {
                    RecordIn(tx, configuration, id, at);
                }

                return 0;
            });
        }

        /// <summary>Records one connection as managed, inside a write transaction the caller holds (the one that creates it).</summary>
        public static void RecordIn(StoreTransaction tx, string configuration, Guid id, DateTimeOffset at) => ManagedRows.Record(tx, configuration, id, at);
    }
}
