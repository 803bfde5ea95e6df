using System.Management.Automation;
using ConnectionTools.Connections;

namespace ConnectionTools.PowerShell.Cmdlets
{
    [Cmdlet(VerbsLifecycle.Suspend, "Connection", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
    [OutputType(typeof(Connection))]
    public sealed class SuspendConnectionCommand : ConnectionTargetCmdlet
    {
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord() => Run(node => new ConnectionCommands(node, HostContext).Suspend(Targets(), PassThru));
    }
}
