using System.Management.Automation;
using ConnectionTools.Nodes;
using ConnectionTools.PowerShell.Host;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Chooses the store this session works with. A path that holds no store is an error unless -Create says to make one
    /// (ConnectionTools.Store.NotFound). Without -StorePath it goes back to CONNECTIONTOOLS_STORE or the per-user default.
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "ConnectionNode")]
    [OutputType(typeof(NodeInfo))]
    public sealed class ConnectConnectionNodeCommand : ConnectionToolsCmdlet
    {
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        public string? StorePath { get; set; }

        /// <summary>Creates a new, empty store when no file exists at the path. Without it, a missing file is an error, so a typo never looks like an empty store.</summary>
        [Parameter]
        public SwitchParameter Create { get; set; }

        protected override void EndProcessing()
        {
            // Resolved against the PowerShell location, which is not the process's working directory.
            var path = StorePath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(StorePath);
            Run(() => WriteObject(Noticed(NodeSessions.Connect(path, Create, SessionState)).Describe()));
        }
    }
}
