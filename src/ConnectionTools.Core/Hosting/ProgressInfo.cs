namespace ConnectionTools.Hosting
{
    /// <summary>One progress update for long bulk work.</summary>
    public sealed class ProgressInfo
    {
        public ProgressInfo(int activityId, string activity, string status, int percentComplete, bool completed = false)
        {
            ActivityId = activityId;
            Activity = activity;
            Status = status;
            PercentComplete = percentComplete;
            Completed = completed;
        }

        public int ActivityId { get; }

        public string Activity { get; }

        public string Status { get; }

        public int PercentComplete { get; }

        public bool Completed { get; }
    }
}
