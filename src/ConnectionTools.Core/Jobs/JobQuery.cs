using System.Collections.Generic;

namespace ConnectionTools.Jobs
{
    /// <summary>Get-ConnectionJob's filters.</summary>
    public sealed class JobQuery
    {
        /// <summary>Connection names (removed connections too); null for every connection.</summary>
        public IReadOnlyList<string>? Connections { get; set; }

        public IReadOnlyList<JobRunStatus>? Statuses { get; set; }

        /// <summary>Only the newest N runs of each connection.</summary>
        public int? Last { get; set; }

        /// <summary>Schedules instead of run history.</summary>
        public bool Schedule { get; set; }
    }
}
