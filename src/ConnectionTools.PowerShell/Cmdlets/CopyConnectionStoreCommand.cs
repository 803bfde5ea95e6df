using System.Management.Automation;
using ConnectionTools.Storage;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Copies this session's store, everything in it, into a new, empty store: a SQLite file or a PostgreSQL database. The
    /// source is left unchanged; hosts and sessions are pointed at the destination afterwards.
    /// </summary>
    [Cmdlet(VerbsCommon.Copy, "ConnectionStore", SupportsShouldProcess = true, DefaultParameterSetName = "Path")]
    [OutputType(typeof(StoreCopyResult))]
    public sealed class CopyConnectionStoreCommand : ConnectionToolsCmdlet
    {
        /// <summary>The new store file; made when it does not exist.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Path")]
        [ValidateNotNullOrEmpty]
        public string DestinationPath { get; set; } = "";

        /// <summary>A postgresql:// URI or Npgsql keywords, without a password, of an empty database.</summary>
        [Parameter(Mandatory = true, ParameterSetName = "ConnectionString")]
        [ValidateNotNullOrEmpty]
        public string DestinationConnectionString { get; set; } = "";

        [Parameter(ParameterSetName = "ConnectionString")]
        [Credential]
        public PSCredential? DestinationCredential { get; set; }

        /// <summary>The key the PostgreSQL store's secrets are encrypted with; made when it does not exist.</summary>
        [Parameter(Mandatory = true, ParameterSetName = "ConnectionString")]
        [ValidateNotNullOrEmpty]
        public string DestinationKeyFile { get; set; } = "";

        protected override void EndProcessing() => Run(node =>
        {
            // Paths are resolved against the PowerShell location, which is not the process's working directory.
            var destination = ParameterSetName == "ConnectionString"
                ? StoreLocation.ForDatabase(DestinationConnectionString, StoreSource.Session, create: true, DestinationCredential?.GetNetworkCredential(), Resolve(DestinationKeyFile), "-DestinationConnectionString")
                : new StoreLocation(Resolve(DestinationPath), StoreSource.Session, create: true, origin: "-DestinationPath");
            StoreCopy.CopyTo(node, destination, HostContext);
        });

        private string Resolve(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
    }
}
