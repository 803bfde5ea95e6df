using System;
using ConnectionTools.Storage;

namespace ConnectionTools.Nodes
{
    /// <summary>The node this session works with, as Connect-ConnectionNode and Get-ConnectionNode show it.</summary>
    public sealed record NodeInfo
    {
        public Guid NodeId { get; init; }

        public string StorePath { get; init; } = "";

        /// <summary>Why this store: the session's -StorePath, the CONNECTIONTOOLS_STORE variable, or the per-user default.</summary>
        public StoreSource StoreSource { get; init; }

        public int SchemaVersion { get; init; }

        public string NodeVersion { get; init; } = "";

        /// <summary>Where private sides reach this node; empty until set with Set-ConnectionNode -PublicUrl.</summary>
        public Uri? PublicUrl { get; init; }

        /// <summary>What protects stored secrets: DPAPI on Windows, an owner-only key file elsewhere.</summary>
        public string SecretProtection { get; init; } = "";

        public int ConnectionCount { get; init; }

        public int ActiveCount { get; init; }

        public int PausedCount { get; init; }

        public int InactiveCount { get; init; }

        public int PendingCount { get; init; }

        public int RemovedCount { get; init; }

        /// <summary>"ok" after Get-ConnectionNode -Check found the store intact (PRAGMA integrity_check); empty when not checked.</summary>
        public string? Integrity { get; init; }
    }
}
