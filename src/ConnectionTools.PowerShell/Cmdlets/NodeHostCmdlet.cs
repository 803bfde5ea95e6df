using System.Management.Automation;
using ConnectionTools.NodeHosting;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// The node host's own options, shared by the cmdlets that run it (Start-ConnectionNodeHost) and that write its service
    /// definition (New-ConnectionNodeService): the public side's listener and URL, or the private side's interval.
    /// </summary>
    public abstract class NodeHostCmdlet : ConnectionToolsCmdlet
    {
        internal const string PublicSet = "Public";
        internal const string PrivateSet = "Private";

        /// <summary>The TCP port the public side listens on (default 5080).</summary>
        [Parameter(ParameterSetName = PublicSet)]
        [ValidateRange(1, 65535)]
        public int Port { get; set; } = 5080;

        /// <summary>The IP address the public side listens on: 127.0.0.1 (the default, behind a reverse proxy) or 0.0.0.0 for every address.</summary>
        [Parameter(ParameterSetName = PublicSet)]
        [ValidateNotNullOrEmpty]
        public string ListenAddress { get; set; } = "127.0.0.1";

        /// <summary>The URL private sides reach this node at; saved in the store. Without it, the one already saved is kept.</summary>
        [Parameter(ParameterSetName = PublicSet)]
        [ValidateNotNullOrEmpty]
        public string? PublicUrl { get; set; }

        /// <summary>Runs the private side: it exchanges with its public nodes and listens on nothing.</summary>
        [Parameter(Mandatory = true, ParameterSetName = PrivateSet)]
        public SwitchParameter Private { get; set; }

        /// <summary>How often the private side exchanges with its public nodes, in seconds (default 1).</summary>
        [Parameter(ParameterSetName = PrivateSet)]
        [ValidateRange(0.1, 86400.0)]
        public double IntervalSeconds { get; set; } = 1;

        /// <summary>Runs no retrieval jobs (for a second host on the same store).</summary>
        [Parameter]
        public SwitchParameter NoJobs { get; set; }

        /// <summary>The node host's settings for the store at <paramref name="storePath"/>, from these parameters.</summary>
        protected NodeHostSettings HostSettings(string storePath) => new NodeHostSettings(storePath)
        {
            Private = Private,
            ListenAddress = ListenAddress,
            Port = Port,
            PublicUrl = PublicUrl,
            IntervalSeconds = MyInvocation.BoundParameters.ContainsKey(nameof(IntervalSeconds)) ? IntervalSeconds : (double?)null,
            NoJobs = NoJobs,
        };
    }
}
