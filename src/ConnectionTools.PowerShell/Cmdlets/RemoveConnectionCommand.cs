using System.Management.Automation;
using ConnectionTools.Connections;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Removes connections. They stay as tombstones, so Get-ConnectionHistory still shows what happened to them.</summary>
    [Cmdlet(VerbsCommon.Remove, "Connection", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByName)]
    [OutputType(typeof(Connection))]
    public sealed class RemoveConnectionCommand : ConnectionTargetCmdlet
    {
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>Removes a system connection even when private connections are bound to it: they are unbound (status only), and their queued outgoing sync events dropped.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessRecord() => Run(node => new ConnectionCommands(node, HostContext, node.Peers).Remove(Targets(), PassThru, Force));
    }
}
