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
    public sealed class StartConnectionNodeHostCommand : NodeHostCmdlet
    {
        /// <summary>Starts the host as a background process, waits until it is ready, and returns it.</summary>
        [Parameter]
        public SwitchParameter Background { get; set; }

        /// <summary>With -Background: the file the host appends its log to (default: node-host-PORT.log beside the store, or a PostgreSQL store's key file).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? LogPath { get; set; }

        protected override void EndProcessing() => Run(() =>
        {
            var location = NodeSessions.CurrentLocation(SessionState);
            var settings = HostSettings(location.Path);
            if (location.KeyFile != null)
            {
                // A PostgreSQL store: the host gets its display URI and key file; a -Credential password only through its environment.
                settings.KeyFile = location.KeyFile;
                settings.DatabaseCredential = NodeSessions.CurrentCredential(SessionState);
            }

            // The per-user default store is created on first use, as any command here would; a named one must exist.
            settings.Create = location.Source == StoreSource.Default;
            settings.LogPath = LogPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(LogPath);
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
