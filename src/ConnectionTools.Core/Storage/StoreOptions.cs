using System;

namespace ConnectionTools.Storage
{
    public sealed class StoreOptions
    {
        /// <summary>How long SQLite itself waits for a lock before it reports busy.</summary>
        public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

        /// <summary>How long a unit of work is retried while the store stays busy, before the user sees a Busy error.</summary>
        public TimeSpan RetryBudget { get; set; } = TimeSpan.FromSeconds(60);

        public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;
    }
}
