namespace ConnectionTools.Connections
{
    public enum ConnectionStatus
    {
        /// <summary>Created, waiting for the partner to accept.</summary>
        Pending,

        /// <summary>Running: jobs retrieve and send.</summary>
        Active,

        /// <summary>Deactivated by an admin: nothing is retrieved or sent; changes are queued until resume.</summary>
        Paused,

        /// <summary>Deactivated by the system, for example because its grant expired. See <see cref="InactiveReason"/>.</summary>
        Inactive,

        /// <summary>A tombstone kept so that history stays queryable.</summary>
        Removed,
    }
}
