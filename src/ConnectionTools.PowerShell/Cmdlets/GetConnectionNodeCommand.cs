using System.Management.Automation;
using ConnectionTools.Nodes;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Shows which store this session uses, why, and how many connections it holds.</summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionNode")]
    [OutputType(typeof(NodeInfo))]
    public sealed class GetConnectionNodeCommand : ConnectionToolsCmdlet
    {
        protected override void EndProcessing() => Run(node => WriteObject(node.Describe()));
    }
}
