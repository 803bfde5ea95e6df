using System;
using System.Collections.Generic;

namespace ConnectionTools.Storage
{
    /// <summary>What Copy-ConnectionStore copied: the node, both stores, and each table's rows and checksum, verified in the destination.</summary>
    public sealed class StoreCopyResult
    {
        /// <summary>The node's id, which the destination now carries too (partners know the node by it).</summary>
        public Guid NodeId { get; internal set; }

        public string Source { get; internal set; } = "";

        /// <summary>"SQLite" or "PostgreSQL".</summary>
        public string SourceEngine { get; internal set; } = "";

        public string Destination { get; internal set; } = "";

        public string DestinationEngine { get; internal set; } = "";

        /// <summary>Every table copied, in name order.</summary>
        public IReadOnlyList<StoreCopyTable> Tables { get; internal set; } = Array.Empty<StoreCopyTable>();

        /// <summary>The rows of all tables together.</summary>
        public long TotalRows { get; internal set; }

        /// <summary>How many encrypted values were decrypted with the source's key and encrypted again with the destination's.</summary>
        public long SecretsReencrypted { get; internal set; }

        /// <summary>From the first read to the end of the verification.</summary>
        public TimeSpan Duration { get; internal set; }

        public override string ToString() => $"{TotalRows} rows in {Tables.Count} tables from {Source} to {Destination}";
    }

    /// <summary>One table of a <see cref="StoreCopyResult"/>: its rows, and the SHA-256 over their canonical text, equal in both stores.</summary>
    public sealed class StoreCopyTable
    {
        public string Table { get; internal set; } = "";

        public long Rows { get; internal set; }

        /// <summary>Lower-case hex; encrypted values count by their plaintext, so both stores' checksums agree though their keys differ.</summary>
        public string Checksum { get; internal set; } = "";

        public override string ToString() => $"{Table}: {Rows}";
    }
}
