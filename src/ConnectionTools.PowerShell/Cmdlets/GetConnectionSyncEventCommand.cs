using System.Management.Automation;
using ConnectionTools.Sync;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Lists the sync events queued on this node, outgoing and incoming, filtered by connection, direction, case, status and trace id.</summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionSyncEvent")]
    [OutputType(typeof(SyncEvent))]
    public sealed class GetConnectionSyncEventCommand : SyncEventQueryCmdlet
    {
        [Parameter]
        public SyncEventStatus[]? Status { get; set; }

        protected override void ProcessRecord() => Run(node => new SyncEventCommands(node, HostContext).Get(Query(Status)));
    }
}
