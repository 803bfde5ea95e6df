namespace ConnectionTools.Errors
{
    /// <summary>Case sync: binding a private connection to the system connection whose cases it syncs.</summary>
    public static partial class ErrorIds
    {
        /// <summary>-System (or system: in a configuration) names no live connection on this node.</summary>
        public const string BindingSystemNotFound = "ConnectionTools.Binding.SystemNotFound";

        /// <summary>-System names a connection that is not a Salesforce or Dynamics 365 connection.</summary>
        public const string BindingNotASystem = "ConnectionTools.Binding.NotASystem";

        /// <summary>-System was given for a connection that is not a private connection; only private connections sync cases.</summary>
        public const string BindingNotPrivate = "ConnectionTools.Binding.NotPrivate";

        /// <summary>A bound private connection was to move to another system while it is not Paused.</summary>
        public const string BindingRebindNotPaused = "ConnectionTools.Binding.RebindNotPaused";

        /// <summary>Remove-Connection of a system connection that private connections are bound to, without -Force.</summary>
        public const string BindingSystemInUse = "ConnectionTools.Binding.SystemInUse";
    }
}
