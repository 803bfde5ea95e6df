using System.Management.Automation;
using ConnectionTools.Nodes;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Shows which store this session uses, why, and how many connections it holds.</summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionNode")]
    [OutputType(typeof(NodeInfo))]
    public sealed class GetConnectionNodeCommand : ConnectionToolsCmdlet
    {
        /// <summary>Checks the store file with SQLite (PRAGMA integrity_check) first; a damaged store is an error naming what was found.</summary>
        [Parameter]
        public SwitchParameter Check { get; set; }

        protected override void EndProcessing() => Run(node => WriteObject(node.Describe(Check)));
    }
}
