using System;

namespace ConnectionTools.Jobs
{
    /// <summary>Where a connection's retrieval job stands. It follows the connection's status; nobody sets it directly.</summary>
    public enum JobState
    {
        /// <summary>The connection is Active: the job runs every retrieval interval.</summary>
        Scheduled,

        /// <summary>The connection is Paused by an admin: nothing is retrieved until it is resumed.</summary>
        Paused,

        /// <summary>The connection is Inactive (its grant failed): the job waits for re-authorization, then catches up from its watermark.</summary>
        Holding,

        /// <summary>The connection was removed: the job never runs again; its history stays.</summary>
        Cancelled,
    }

    public enum JobRunStatus
    {
        Running,
        Succeeded,
        Failed,
    }

    public enum JobTrigger
    {
        Schedule,
        Manual,
    }

    /// <summary>A connection's retrieval schedule, as Get-ConnectionJob -Schedule shows it.</summary>
    public sealed class ConnectionJob
    {
        public string ConnectionName { get; internal set; } = "";

        public Guid ConnectionId { get; internal set; }

        public JobState State { get; internal set; }

        public TimeSpan Interval { get; internal set; }

        public DateTimeOffset? NextRunAt { get; internal set; }

        /// <summary>The newest modification time retrieved and committed; the next run asks for changes from here on.</summary>
        public DateTimeOffset? Watermark { get; internal set; }

        public JobRunStatus? LastRunStatus { get; internal set; }

        public DateTimeOffset? LastRunAt { get; internal set; }

        public override string ToString() => $"{ConnectionName}: {State}";
    }

    /// <summary>One run of a retrieval job. Kept after the connection is removed.</summary>
    public sealed class JobRun
    {
        public long Id { get; internal set; }

        public string ConnectionName { get; internal set; } = "";

        public Guid ConnectionId { get; internal set; }

        public JobTrigger Trigger { get; internal set; }

        public JobRunStatus Status { get; internal set; }

        public DateTimeOffset StartedAt { get; internal set; }

        public DateTimeOffset? EndedAt { get; internal set; }

        public TimeSpan? Duration => EndedAt - StartedAt;

        public long Records { get; internal set; }

        public int Pages { get; internal set; }

        /// <summary>The watermark when the run ended (or failed): where the next run starts.</summary>
        public DateTimeOffset? Watermark { get; internal set; }

        public string? ErrorId { get; internal set; }

        public string? Error { get; internal set; }

        public override string ToString() => $"{ConnectionName} #{Id}: {Status}";
    }
}
