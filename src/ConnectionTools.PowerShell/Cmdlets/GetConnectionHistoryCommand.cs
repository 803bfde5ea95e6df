using System.Management.Automation;
using ConnectionTools.Connections;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Shows the audit of connections, removed ones included: who changed what, when, before and after.</summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionHistory", DefaultParameterSetName = ByName)]
    [OutputType(typeof(AuditEntry))]
    public sealed class GetConnectionHistoryCommand : ConnectionTargetCmdlet
    {
        protected override void ProcessRecord() => Run(node => new ConnectionCommands(node, HostContext).History(Targets()));
    }
}
