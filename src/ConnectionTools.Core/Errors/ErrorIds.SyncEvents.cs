namespace ConnectionTools.Errors
{
    /// <summary>Case sync: the admin cmdlets for sync events (list, retry, discard).</summary>
    public static partial class ErrorIds
    {
        /// <summary>No sync event has this id (it was sent and acknowledged, discarded, or never existed).</summary>
        public const string SyncEventNotFound = "ConnectionTools.SyncEvent.NotFound";

        /// <summary>Only a Failed event can be retried.</summary>
        public const string SyncEventNotFailed = "ConnectionTools.SyncEvent.NotFailed";

        /// <summary>A Sent event is in flight to the partner, which may already hold it: it cannot be discarded.</summary>
        public const string SyncEventInFlight = "ConnectionTools.SyncEvent.InFlight";

        /// <summary>A Failed outgoing event without the case it was made from: it cannot be retried, only discarded.</summary>
        public const string SyncEventNoEntity = "ConnectionTools.SyncEvent.NoEntity";
    }
}
