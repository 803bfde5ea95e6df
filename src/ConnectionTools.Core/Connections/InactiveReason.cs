namespace ConnectionTools.Connections
{
    /// <summary>Why the system made a connection Inactive. Each reason has one fix, named in the error that reports it.</summary>
    public enum InactiveReason
    {
        Expired,
        Revoked,
        ConsentRequired,
        PolicyBlocked,
        OrgChanged,
    }
}
