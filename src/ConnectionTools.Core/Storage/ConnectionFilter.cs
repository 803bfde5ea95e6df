using System;
using System.Collections.Generic;
using ConnectionTools.Connections;

namespace ConnectionTools.Storage
{
    /// <summary>What the store can filter on in SQL. Everything else (wildcards) is matched in memory after one query.</summary>
    public sealed class ConnectionFilter
    {
        public IReadOnlyCollection<string>? ExactNames { get; set; }

        public IReadOnlyCollection<Guid>? Ids { get; set; }

        public IReadOnlyCollection<ConnectionStatus>? Statuses { get; set; }

        public IReadOnlyCollection<ConnectionType>? Types { get; set; }

        public bool IncludeRemoved { get; set; }
    }
}
