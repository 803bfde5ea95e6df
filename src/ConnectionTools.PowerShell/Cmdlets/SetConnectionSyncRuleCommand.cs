using System.Management.Automation;
using ConnectionTools.SyncRules;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Replaces a sync rule script of a private connection in Script mode, once it parses. Basic mode's generated rules are refused.
    /// -Test runs the script on a sample case in the rules' sandbox and shows the result, saving nothing.
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "ConnectionSyncRule", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
    [OutputType(typeof(SyncRule), typeof(SyncRuleTestResult))]
    public sealed class SetConnectionSyncRuleCommand : ConnectionTargetCmdlet
    {
        // Held as object so that loading this public type never needs the engine (see ModuleInitializer).
        private object? _direction;

        [Parameter(Mandatory = true)]
        public SyncDirection Direction
        {
            get => _direction is SyncDirection direction ? direction : SyncDirection.Outgoing;
            set => _direction = value;
        }

        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public string Script { get; set; } = "";

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        [Parameter]
        public SwitchParameter Test { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Sample { get; set; }

        protected override void ProcessRecord() => Run(node => new SyncRuleCommands(node, HostContext).Set(Targets(), Direction, Script, PassThru, Test, Sample));
    }
}
