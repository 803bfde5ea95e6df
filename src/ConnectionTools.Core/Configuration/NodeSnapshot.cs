using System;
using System.Collections.Generic;
using ConnectionTools.Connections;

namespace ConnectionTools.Configuration
{
    /// <summary>What the node holds, read once, that a plan is computed from.</summary>
    public sealed class NodeSnapshot
    {
        /// <summary>Every connection that is not removed.</summary>
        public IReadOnlyList<Connection> Connections { get; init; } = Array.Empty<Connection>();

        /// <summary>Connection id to the name of the configuration that manages it.</summary>
        public IReadOnlyDictionary<Guid, string> Managed { get; init; } = new Dictionary<Guid, string>();

        /// <summary>Null when this node cannot create or authorize system connections; they are then compared by status only.</summary>
        public IReadOnlyDictionary<Guid, SystemConnectionSettings>? SystemSettings { get; init; }
    }
}
