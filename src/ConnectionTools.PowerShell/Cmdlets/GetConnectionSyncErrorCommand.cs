using System.Management.Automation;
using ConnectionTools.Sync;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Lists the sync errors: one per Failed sync event, with its error id and message (and the rule's line).</summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionSyncError")]
    [OutputType(typeof(SyncError))]
    public sealed class GetConnectionSyncErrorCommand : SyncEventQueryCmdlet
    {
        protected override void ProcessRecord() => Run(node => new SyncEventCommands(node, HostContext).GetErrors(Query(null)));
    }
}
