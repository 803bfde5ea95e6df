namespace ConnectionTools.Errors
{
    /// <summary>Case sync: running sync rules.</summary>
    public static partial class ErrorIds
    {
        /// <summary>A rule threw while it ran for one case (a JavaScript error): an error of that case, with the rule's line and column.</summary>
        public const string SyncRuleFailed = "ConnectionTools.SyncRule.Failed";

        /// <summary>A rule hit a sandbox limit (statements, time, memory, recursion) for one case.</summary>
        public const string SyncRuleLimitExceeded = "ConnectionTools.SyncRule.LimitExceeded";

        /// <summary>A rule left <c>replica</c> (outgoing) or <c>entity</c> (incoming) as something other than an object, or too large.</summary>
        public const string SyncRuleInvalidResult = "ConnectionTools.SyncRule.InvalidResult";

        /// <summary>A peer's sync batch holds a malformed event (id, trace id, case id, sequence or replica); refused whole, nothing stored.</summary>
        public const string SyncMalformedBatch = "ConnectionTools.Sync.MalformedBatch";

        /// <summary>A peer's sync batch holds more events, or a larger replica, than a batch may carry; refused whole, nothing stored.</summary>
        public const string SyncBatchTooLarge = "ConnectionTools.Sync.BatchTooLarge";

        /// <summary>
        /// A peer's sync batch holds a new event whose sequence number is not above the last one received for its case: the
        /// partner's rules number each case's events upward, so it is not an event they sent. Refused whole, nothing stored.
        /// </summary>
        public const string SyncUnexpectedEvent = "ConnectionTools.Sync.UnexpectedEvent";

        /// <summary>An initial load on a connection that is not a private connection bound to a live system connection.</summary>
        public const string SyncNotBound = "ConnectionTools.Sync.NotBound";

        /// <summary>Initialize-ConnectionSync -Since a moment still to come: no case has changed since then, so it is most likely a typo.</summary>
        public const string SyncSinceInFuture = "ConnectionTools.Sync.SinceInFuture";

        /// <summary>The sample given to Set-ConnectionSyncRule -Test is not a JSON object.</summary>
        public const string SyncRuleInvalidSample = "ConnectionTools.SyncRule.InvalidSample";
    }
}
