namespace ConnectionTools.Connections
{
    /// <summary>The changes a connection can go through. Each one is recorded in the audit under this name.</summary>
    public enum LifecycleAction
    {
        Create,
        Edit,
        Accept,
        Suspend,
        Resume,
        Deactivate,
        Reauthorize,
        Remove,
    }
}
