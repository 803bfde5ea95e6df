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

    /// <summary>What Set-ConnectionSyncRule -Test shows: the sample a rule ran on and what it made of it (a replica, or the updated case).</summary>
    public sealed class SyncRuleTestResult
    {
        public string ConnectionName { get; internal set; } = "";

        public SyncDirection Direction { get; internal set; }

        /// <summary>The case (outgoing) or the partner's replica (incoming) the rule ran on, as indented JSON.</summary>
        public string Input { get; internal set; } = "";

        /// <summary>The replica (outgoing) or the local case after the rule (incoming), as indented JSON.</summary>
        public string Output { get; internal set; } = "";

        public override string ToString() => Output;
    }
}
