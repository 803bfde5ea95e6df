using System;

namespace ConnectionTools.Connections
{
    /// <summary>
    /// A connection as stored on this node. Instances are immutable snapshots: a change produces a new one with a higher <see cref="Version"/>.
    /// </summary>
    public sealed record Connection
    {
        public Guid Id { get; init; }

        /// <summary>Unique on the node among connections that are not removed, compared without regard to case.</summary>
        public string Name { get; init; } = "";

        public string Description { get; init; } = "";

        public ConnectionType Type { get; init; }

        public ConnectionStatus Status { get; init; }

        /// <summary>Set only while <see cref="Status"/> is Inactive.</summary>
        public InactiveReason? InactiveReason { get; init; }

        public DateTimeOffset CreatedAt { get; init; }

        public string CreatedBy { get; init; } = "";

        public DateTimeOffset ModifiedAt { get; init; }

        public string ModifiedBy { get; init; } = "";

        public DateTimeOffset? RemovedAt { get; init; }

        /// <summary>The optimistic concurrency version: 1 when created, one more for every change.</summary>
        public long Version { get; init; }

        public override string ToString() => Name;
    }
}
