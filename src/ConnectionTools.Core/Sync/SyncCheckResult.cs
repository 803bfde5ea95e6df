using System;
using ConnectionTools.Connections;

namespace ConnectionTools.Sync
{
    /// <summary>What Test-ConnectionSync found for one private connection: whether its bound system can take partner cases.</summary>
    public sealed class SyncCheckResult
    {
        /// <summary>The private connection's name.</summary>
        public string Name { get; internal set; } = "";

        /// <summary>The private connection's id.</summary>
        public Guid Id { get; internal set; }

        /// <summary>The bound system connection's name; null when the connection is not bound.</summary>
        public string? System { get; internal set; }

        /// <summary>The bound system connection's type; null when the connection is not bound.</summary>
        public ConnectionType? SystemType { get; internal set; }

        /// <summary>The field partner cases are matched by: the Case External ID field (Salesforce) or the incident alternate key's column (Dataverse).</summary>
        public string? Field { get; internal set; }

        /// <summary>True when the field exists and the connected user may write cases and that field.</summary>
        public bool Ready { get; internal set; }

        /// <summary>The error id when <see cref="Ready"/> is false.</summary>
        public string? ErrorId { get; internal set; }

        /// <summary>What was found; when not ready, the error's message and what to do.</summary>
        public string? Message { get; internal set; }
    }
}
