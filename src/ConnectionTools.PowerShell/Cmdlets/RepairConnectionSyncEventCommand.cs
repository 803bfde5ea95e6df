using System.Management.Automation;
using ConnectionTools.Sync;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Retries Failed outgoing sync events: runs the connection's current outgoing rule again on each event's case. Success queues
    /// the event again; failure keeps it Failed with the new error.
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Repair, "ConnectionSyncEvent", SupportsShouldProcess = true, DefaultParameterSetName = ByEventId)]
    [Alias("Retry-ConnectionSyncEvent")]
    [OutputType(typeof(SyncEvent))]
    public sealed class RepairConnectionSyncEventCommand : SyncEventTargetCmdlet
    {
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord() => Run(node => new SyncEventCommands(node, HostContext).Retry(EventIds(), PassThru));
    }
}
