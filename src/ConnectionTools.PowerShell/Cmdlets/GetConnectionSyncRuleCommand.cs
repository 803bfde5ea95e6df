using System.Management.Automation;
using ConnectionTools.SyncRules;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Shows a private connection's sync rules for cases, generated (Basic mode) or edited (Script mode).</summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionSyncRule", DefaultParameterSetName = ByName)]
    [OutputType(typeof(SyncRule))]
    public sealed class GetConnectionSyncRuleCommand : ConnectionTargetCmdlet
    {
        protected override void ProcessRecord() => Run(node => new SyncRuleCommands(node, HostContext).Get(Targets()));
    }
}
