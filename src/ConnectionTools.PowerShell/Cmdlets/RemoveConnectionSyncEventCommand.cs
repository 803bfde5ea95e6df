using System.Management.Automation;
using ConnectionTools.Sync;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Discards sync events that were not sent (Queued, Held or Failed); each discard is recorded in the connection's history.</summary>
    [Cmdlet(VerbsCommon.Remove, "ConnectionSyncEvent", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByEventId)]
    [OutputType(typeof(SyncEvent))]
    public sealed class RemoveConnectionSyncEventCommand : SyncEventTargetCmdlet
    {
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord() => Run(node => new SyncEventCommands(node, HostContext).Discard(EventIds(), PassThru));
    }
}
