using System.Management.Automation;
using ConnectionTools.PowerShell.Completion;
using ConnectionTools.Sync;
using ConnectionTools.SyncRules;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>The filters Get-ConnectionSyncEvent and Get-ConnectionSyncError share: connection names (wildcards), direction, case and trace ids.</summary>
    public abstract class SyncEventQueryCmdlet : ConnectionToolsCmdlet
    {
        // Held as object so that loading this public type never needs the engine (see ModuleInitializer).
        private object? _direction;

        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(ConnectionNameCompleter))]
        public string[]? Name { get; set; }

        [Parameter]
        public SyncDirection? Direction
        {
            get => _direction as SyncDirection?;
            set => _direction = value;
        }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string[]? CaseId { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string[]? TraceId { get; set; }

        internal SyncEventQuery Query(SyncEventStatus[]? statuses) => new SyncEventQuery
        {
            Names = Name,
            Direction = Direction,
            CaseIds = CaseId,
            Statuses = statuses,
            TraceIds = TraceId,
        };
    }
}
