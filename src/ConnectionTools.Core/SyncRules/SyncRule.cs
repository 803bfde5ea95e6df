using System;

namespace ConnectionTools.SyncRules
{
    public enum SyncDirection
    {
        /// <summary>What this side sends: from the local case to the replica.</summary>
        Outgoing,

        /// <summary>What this side applies: from the partner's replica to the local case.</summary>
        Incoming,
    }

    /// <summary>One sync rule script of a private connection, for cases.</summary>
    public sealed record SyncRule
    {
        public Guid ConnectionId { get; init; }

        public string ConnectionName { get; init; } = "";

        public SyncDirection Direction { get; init; }

        public string Entity { get; init; } = "Case";

        public string Script { get; init; } = "";

        /// <summary>False in Basic mode, where the rules are generated; true after the upgrade to Script mode.</summary>
        public bool Editable { get; init; }
    }
}
