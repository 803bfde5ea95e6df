using System;
using System.Collections.Generic;

namespace ConnectionTools.Connections
{
    /// <summary>What Get-Connection asks for. Every part is optional; empty means everything that is not removed.</summary>
    public sealed class ConnectionQuery
    {
        /// <summary>Names or PowerShell wildcard patterns.</summary>
        public IReadOnlyList<string>? Names { get; set; }

        /// <summary>Ids find removed connections too.</summary>
        public IReadOnlyList<Guid>? Ids { get; set; }

        public IReadOnlyList<ConnectionStatus>? Statuses { get; set; }

        public IReadOnlyList<ConnectionType>? Types { get; set; }

        public bool IncludeRemoved { get; set; }
    }
}
