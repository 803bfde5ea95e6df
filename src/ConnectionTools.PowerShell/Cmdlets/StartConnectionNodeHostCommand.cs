using System;
using System.IO;
using System.Management.Automation;
using ConnectionTools.Errors;
using ConnectionTools.NodeHosting;
using ConnectionTools.PowerShell.Host;
using ConnectionTools.Storage;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Runs the node host that ships with the module (node/ in the module folder) for this session's store: in the foreground, where
    /// its log lines are the output and Ctrl+C stops it cleanly, or with -Background as a detached process that it returns.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "ConnectionNodeHost", SupportsShouldProcess = true, DefaultParameterSetName = PublicSet)]
    [OutputType(typeof(string), typeof(NodeHostProcess))]
    public sealed class StartConnectionNodeHostCommand : ConnectionToolsCmdlet
    {
        private const string PublicSet = "Public";
        private const string PrivateSet = "Private";

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

        /// <summary>Starts the host as a background process, waits until it is ready, and returns it.</summary>
        [Parameter]
        public SwitchParameter Background { get; set; }

        /// <summary>With -Background: the file the host appends its log to (default: node-host-PORT.log beside the store).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? LogPath { get; set; }

        protected override void EndProcessing() => Run(() =>
        {
            var location = NodeSessions.CurrentLocation(SessionState);
            var settings = new NodeHostSettings(location.Path)
            {
                // The per-user default store is created on first use, as any command here would; a named one must exist.
                Create = location.Source == StoreSource.Default,
                Private = Private,
                ListenAddress = ListenAddress,
                Port = Port,
                PublicUrl = PublicUrl,
                IntervalSeconds = MyInvocation.BoundParameters.ContainsKey(nameof(IntervalSeconds)) ? IntervalSeconds : (double?)null,
                NoJobs = NoJobs,
                LogPath = LogPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(LogPath),
            };
            if (LogPath != null && !Background)
            {
                throw new ConnectionToolsException(ErrorIds.NodeHostInvalidOption, ErrorKind.InvalidArgument, "-LogPath is for -Background: in the foreground the host's log lines are this command's output.", LogPath, "Add -Background, or redirect the output (| Tee-Object -FilePath <file>).");
            }

            // Everything is checked before the host starts, so a mistake never reaches the store file.
            settings.Validate();
            var runtime = NodeHostRuntime.Find(Path.GetDirectoryName(typeof(StartConnectionNodeHostCommand).Assembly.Location)!, Environment.GetEnvironmentVariable);
            var what = settings.Private ? "Start a private node host" : $"Start a public node host listening on {settings.ListenUrl}";
            if (!ShouldProcess(location.Path, what + (Background ? " in the background" : "")))
            {
                return;
            }

            var launcher = new NodeHostLauncher(runtime, HostContext);
            if (Background)
            {
                WriteObject(launcher.StartBackground(settings));
            }
            else
            {
                launcher.RunForeground(settings);
            }
        });
    }
}
