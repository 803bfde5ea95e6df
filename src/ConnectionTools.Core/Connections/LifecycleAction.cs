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

        /// <summary>A new invitation code replaced the current one.</summary>
        RenewInvitation,

        /// <summary>A sync rule script was edited (Script mode only).</summary>
        EditSyncRule,

        /// <summary>A node setting changed (audited under the node's id).</summary>
        ConfigureNode,

        /// <summary>An admin discarded a sync event (Remove-ConnectionSyncEvent); the entry names its case and trace id.</summary>
        DiscardSyncEvent,
    }
}
