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
    public sealed class SyncRule
    {
        public Guid ConnectionId { get; internal set; }

        public string ConnectionName { get; internal set; } = "";

        public SyncDirection Direction { get; internal set; }

        public string Entity { get; internal set; } = "Case";

        public string Script { get; internal set; } = "";

        /// <summary>False in Basic mode, where the rules are generated; true after the upgrade to Script mode.</summary>
        public bool Editable { get; internal set; }

        public override string ToString() => $"{ConnectionName} {Direction} {Entity}";
    }
}
