using System;
using ConnectionTools.Storage;

namespace ConnectionTools.Nodes
{
    /// <summary>The node this session works with, as Connect-ConnectionNode and Get-ConnectionNode show it.</summary>
    public sealed class NodeInfo
    {
        public Guid NodeId { get; internal set; }

        public string StorePath { get; internal set; } = "";

        /// <summary>"SQLite" (a file) or "PostgreSQL" (a database several node hosts can share).</summary>
        public string Engine { get; internal set; } = "SQLite";

        /// <summary>The PostgreSQL server, database and user (never the password); empty for a SQLite store.</summary>
        public string Server { get; internal set; } = "";

        /// <summary>Why this store: the session's -StorePath, the CONNECTIONTOOLS_STORE variable, or the per-user default.</summary>
        public StoreSource StoreSource { get; internal set; }

        public int SchemaVersion { get; internal set; }

        public string NodeVersion { get; internal set; } = "";

        /// <summary>Where private sides reach this node; empty until set with Set-ConnectionNode -PublicUrl.</summary>
        public string? PublicUrl { get; internal set; }

        /// <summary>What protects stored secrets: DPAPI on Windows, an owner-only key file elsewhere.</summary>
        public string SecretProtection { get; internal set; } = "";

        public int ConnectionCount { get; internal set; }

        public int ActiveCount { get; internal set; }

        public int PausedCount { get; internal set; }

        public int InactiveCount { get; internal set; }

        public int PendingCount { get; internal set; }

        public int RemovedCount { get; internal set; }

        /// <summary>"ok" after Get-ConnectionNode -Check found the store intact (PRAGMA integrity_check); empty when not checked.</summary>
        public string? Integrity { get; internal set; }

        /// <summary>The store's path: what the session works with.</summary>
        public override string ToString() => StorePath;
    }
}
