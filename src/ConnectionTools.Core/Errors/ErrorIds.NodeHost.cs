namespace ConnectionTools.Errors
{
    /// <summary>Error ids of running the node host from the module and as a service (issue 18).</summary>
    public static partial class ErrorIds
    {
        /// <summary>The .NET 10 ASP.NET Core runtime the node host needs is not installed where dotnet is.</summary>
        public const string NodeHostRuntimeMissing = "ConnectionTools.NodeHost.RuntimeMissing";

        /// <summary>The module folder has no node/ConnectionTools.Node.dll (a module built without it, or a damaged install).</summary>
        public const string NodeHostMissing = "ConnectionTools.NodeHost.Missing";

        /// <summary>The address and port the node host would listen on are taken by another program.</summary>
        public const string NodeHostPortInUse = "ConnectionTools.NodeHost.PortInUse";

        /// <summary>An option of the node host is not usable (a listen address that is not an IP address, say).</summary>
        public const string NodeHostInvalidOption = "ConnectionTools.NodeHost.InvalidOption";

        /// <summary>The node host process ended on its own, with an error, or before it was ready.</summary>
        public const string NodeHostExited = "ConnectionTools.NodeHost.Exited";

        /// <summary>A background node host did not become ready (its health endpoint, or its start line for a private host) in time.</summary>
        public const string NodeHostNotReady = "ConnectionTools.NodeHost.NotReady";

        /// <summary>Stop-ConnectionNodeHost was given a process that is not a node host, or one that no longer runs.</summary>
        public const string NodeHostNotFound = "ConnectionTools.NodeHost.NotFound";

        /// <summary>The service account could not read or write the store and its key.</summary>
        public const string NodeServiceAccountDenied = "ConnectionTools.NodeService.AccountDenied";

        /// <summary>The account named for the service does not exist on this computer.</summary>
        public const string NodeServiceUnknownAccount = "ConnectionTools.NodeService.UnknownAccount";

        /// <summary>The service definition could not be written (no permission for /etc/systemd/system, say).</summary>
        public const string NodeServiceWriteFailed = "ConnectionTools.NodeService.WriteFailed";
    }
}
