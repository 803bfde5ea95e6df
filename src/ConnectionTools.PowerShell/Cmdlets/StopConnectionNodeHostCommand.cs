using System;
using System.Management.Automation;
using ConnectionTools.Errors;
using ConnectionTools.NodeHosting;
using ConnectionTools.PowerShell.Host;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Stops node hosts started in the background: SIGTERM on Linux and macOS, so they finish what they do and close the store.</summary>
    [Cmdlet(VerbsLifecycle.Stop, "ConnectionNodeHost", SupportsShouldProcess = true, DefaultParameterSetName = InputObjectSet)]
    [OutputType(typeof(NodeHostProcess))]
    public sealed class StopConnectionNodeHostCommand : ConnectionToolsCmdlet
    {
        private const string InputObjectSet = "InputObject";
        private const string IdSet = "Id";

        /// <summary>Node hosts as Start-ConnectionNodeHost -Background returned them.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
        public NodeHostProcess[] InputObject { get; set; } = Array.Empty<NodeHostProcess>();

        /// <summary>The process ids of node hosts.</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
        [Alias("ProcessId")]
        public int[] Id { get; set; } = Array.Empty<int>();

        /// <summary>How long to wait for a clean stop before the process is ended (default 45 s; the host's own shutdown timeout is 30 s).</summary>
        [Parameter]
        [ValidateRange(1, 3600)]
        public int TimeoutSeconds { get; set; } = (int)NodeHostLauncher.StopTimeout.TotalSeconds;

        /// <summary>Writes the stopped node hosts (with -InputObject).</summary>
        [Parameter(ParameterSetName = InputObjectSet)]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord() => Run(() =>
        {
            var timeout = TimeSpan.FromSeconds(TimeoutSeconds);
            if (ParameterSetName == IdSet)
            {
                foreach (var id in Id)
                {
                    Stop(() => NodeHostLauncher.Stop(id, null, timeout, HostContext));
                }

                return;
            }

            foreach (var host in InputObject)
            {
                if (Stop(() => NodeHostLauncher.Stop(host.ProcessId, host.StartTime, timeout, HostContext)) && PassThru)
                {
                    WriteObject(host);
                }
            }
        });

        /// <summary>One host: a host that is gone or not a node host is a non-terminating error, and the others are still stopped.</summary>
        private bool Stop(Func<bool> stop)
        {
            try
            {
                return stop();
            }
            catch (ConnectionToolsException e)
            {
                WriteError(ErrorMapper.ToRecord(e));
                return false;
            }
        }
    }
}
