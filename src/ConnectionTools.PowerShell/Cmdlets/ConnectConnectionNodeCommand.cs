using System.Management.Automation;
using ConnectionTools.Nodes;
using ConnectionTools.PowerShell.Host;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Chooses the store this session works with, creating it if the file does not exist.
    /// Without -StorePath it goes back to CONNECTIONTOOLS_STORE or the per-user default.
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "ConnectionNode")]
    [OutputType(typeof(NodeInfo))]
    public sealed class ConnectConnectionNodeCommand : ConnectionToolsCmdlet
    {
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        public string? StorePath { get; set; }

        protected override void EndProcessing()
        {
            // Resolved against the PowerShell location, which is not the process's working directory.
            var path = StorePath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(StorePath);
            Run(() => WriteObject(NodeSessions.Connect(path).Describe()));
        }
    }
}
