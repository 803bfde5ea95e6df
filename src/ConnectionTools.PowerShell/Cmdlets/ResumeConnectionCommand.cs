using System.Management.Automation;
using ConnectionTools.Connections;

namespace ConnectionTools.PowerShell.Cmdlets
{
    [Cmdlet(VerbsLifecycle.Resume, "Connection", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
    [OutputType(typeof(Connection))]
    public sealed class ResumeConnectionCommand : ConnectionTargetCmdlet
    {
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord() => Run(node => new ConnectionCommands(node, HostContext).Resume(Targets(), PassThru));
    }
}
