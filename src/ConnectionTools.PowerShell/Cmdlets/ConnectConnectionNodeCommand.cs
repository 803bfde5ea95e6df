using System;
using System.Management.Automation;
using ConnectionTools.Nodes;
using ConnectionTools.PowerShell.Host;
using ConnectionTools.Storage;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Chooses the store this session works with: a SQLite file (-StorePath) or a PostgreSQL database (-ConnectionString). A
    /// store that does not exist is an error unless -Create says to make one (ConnectionTools.Store.NotFound). Without either
    /// it goes back to CONNECTIONTOOLS_STORE or the per-user default.
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "ConnectionNode", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(NodeInfo))]
    public sealed class ConnectConnectionNodeCommand : ConnectionToolsCmdlet
    {
        private const string PathSet = "Path";
        private const string DatabaseSet = "Database";

        [Parameter(Position = 0, ParameterSetName = PathSet)]
        [ValidateNotNullOrEmpty]
        public string? StorePath { get; set; }

        /// <summary>A PostgreSQL database: a postgresql:// URI or Npgsql keywords, without a password.</summary>
        [Parameter(Mandatory = true, ParameterSetName = DatabaseSet)]
        [ValidateNotNullOrEmpty]
        public string? ConnectionString { get; set; }

        /// <summary>The PostgreSQL user and password; kept in this session's memory only. Without it: PGPASSWORD or PGPASSFILE.</summary>
        [Parameter(ParameterSetName = DatabaseSet)]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>The key file that protects the PostgreSQL store's secrets; default CONNECTIONTOOLS_KEY_FILE.</summary>
        [Parameter(ParameterSetName = DatabaseSet)]
        [ValidateNotNullOrEmpty]
        public string? KeyFile { get; set; }

        /// <summary>Creates a new, empty store when none exists. Without it, a missing store is an error, so a typo never looks like an empty store.</summary>
        [Parameter]
        public SwitchParameter Create { get; set; }

        protected override void EndProcessing()
        {
            if (ParameterSetName == DatabaseSet)
            {
                // Relative key file paths, also from the variable, mean the PowerShell location, not the process's working directory.
                var keyFile = KeyFile ?? Environment.GetEnvironmentVariable(StoreLocation.KeyFileVariable);
                keyFile = string.IsNullOrWhiteSpace(keyFile) ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(keyFile);
                var credential = Credential is null || Credential == PSCredential.Empty ? null : Credential.GetNetworkCredential();
                Run(() => WriteObject(Noticed(NodeSessions.ConnectDatabase(ConnectionString!, credential, keyFile, Create, SessionState)).Describe()));
                return;
            }

            // Resolved against the PowerShell location, which is not the process's working directory.
            var path = StorePath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(StorePath);
            Run(() => WriteObject(Noticed(NodeSessions.Connect(path, Create, SessionState)).Describe()));
        }
    }
}
