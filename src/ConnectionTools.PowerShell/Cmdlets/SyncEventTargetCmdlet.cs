using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ConnectionTools.Sync;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// The cmdlets that act on sync events: by -EventId (from the pipeline by property name, so Get-ConnectionSyncError's
    /// objects bind too) or by -InputObject (Get-ConnectionSyncEvent | ...).
    /// </summary>
    public abstract class SyncEventTargetCmdlet : ConnectionToolsCmdlet
    {
        internal const string ByEventId = "ByEventId";
        internal const string ByInputObject = "ByInputObject";

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ByEventId)]
        public Guid[] EventId { get; set; } = Array.Empty<Guid>();

        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByInputObject)]
        [ValidateNotNull]
        public SyncEvent[] InputObject { get; set; } = Array.Empty<SyncEvent>();

        internal IEnumerable<Guid> EventIds() => ParameterSetName == ByInputObject ? InputObject.Select(e => e.EventId) : EventId;
    }
}
