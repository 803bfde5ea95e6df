using System.Management.Automation;
using ConnectionTools.Jobs;
using ConnectionTools.PowerShell.Completion;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Lists the run history of retrieval jobs (newest first), or with -Schedule their schedules. Works for removed connections.</summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionJob", DefaultParameterSetName = History)]
    [OutputType(typeof(JobRun), ParameterSetName = new[] { History })]
    [OutputType(typeof(ConnectionJob), ParameterSetName = new[] { ScheduleSet })]
    public sealed class GetConnectionJobCommand : ConnectionToolsCmdlet
    {
        internal const string History = "History";
        internal const string ScheduleSet = "Schedule";

        /// <summary>Connection names, wildcards allowed; removed connections keep their history and are found too.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("ConnectionName", "Name")]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(ConnectionNameCompleter))]
        public string[]? Connection { get; set; }

        [Parameter(ParameterSetName = History)]
        public JobRunStatus[]? Status { get; set; }

        /// <summary>Only the newest N runs of each connection.</summary>
        [Parameter(ParameterSetName = History)]
        [ValidateRange(1, int.MaxValue)]
        public int? Last { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = ScheduleSet)]
        public SwitchParameter Schedule { get; set; }

        protected override void ProcessRecord() => Run(node => new JobCommands(node, HostContext).Get(new JobQuery
        {
            Connections = Connection,
            Statuses = Status,
            Last = Last,
            Schedule = Schedule.IsPresent,
        }));
    }
}
