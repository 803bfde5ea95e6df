using System;

namespace ConnectionTools.Connections
{
    /// <summary>One change to a connection: who, when, what, and the state before and after. The audit is append-only.</summary>
    public sealed record AuditEntry
    {
        public long Sequence { get; init; }

        public Guid ConnectionId { get; init; }

        /// <summary>The connection's name after the change (before it, for a removal).</summary>
        public string ConnectionName { get; init; } = "";

        public DateTimeOffset At { get; init; }

        public string Actor { get; init; } = "";

        public LifecycleAction Action { get; init; }

        /// <summary>What changed, in words, for example <c>Status: Active -&gt; Paused</c>.</summary>
        public string Summary { get; init; } = "";

        /// <summary>The connection as JSON before the change; empty for a creation.</summary>
        public string Before { get; init; } = "";

        /// <summary>The connection as JSON after the change.</summary>
        public string After { get; init; } = "";
    }
}
