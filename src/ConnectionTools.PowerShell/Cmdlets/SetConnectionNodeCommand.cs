using System.Management.Automation;
using ConnectionTools.Nodes;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Changes this node's settings, such as the public URL that private sides reach it at.</summary>
    [Cmdlet(VerbsCommon.Set, "ConnectionNode", SupportsShouldProcess = true)]
    [OutputType(typeof(NodeInfo))]
    public sealed class SetConnectionNodeCommand : ConnectionToolsCmdlet
    {
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string PublicUrl { get; set; } = "";

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing() => Run(node => new NodeCommands(node, HostContext).SetPublicUrl(PublicUrl, PassThru));
    }
}
