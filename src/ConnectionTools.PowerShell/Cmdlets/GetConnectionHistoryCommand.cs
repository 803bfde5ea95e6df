using System;
using System.Linq;
using System.Management.Automation;
using ConnectionTools.Connections;
using ConnectionTools.PowerShell.Completion;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Shows the audit of connections, removed ones included: who changed what, when, before and after. Without -Name, the node's
    /// latest entries (the last 20 unless -First, -Last or -Since says otherwise).
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "ConnectionHistory", DefaultParameterSetName = ConnectionTargetCmdlet.ByName)]
    [OutputType(typeof(AuditEntry))]
    public sealed class GetConnectionHistoryCommand : ConnectionToolsCmdlet
    {
        /// <summary>How many of the node's latest entries a call with no -Name, -First, -Last or -Since shows.</summary>
        internal const int DefaultLast = 20;

        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ConnectionTargetCmdlet.ByName)]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(ConnectionNameCompleter))]
        public string[]? Name { get; set; }

        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ConnectionTargetCmdlet.ById)]
        public Guid[] Id { get; set; } = Array.Empty<Guid>();

        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ConnectionTargetCmdlet.ByInputObject)]
        [ValidateNotNull]
        public Connection[] InputObject { get; set; } = Array.Empty<Connection>();

        /// <summary>Only the oldest so many entries (of each connection, or of the node).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int First { get; set; }

        /// <summary>Only the newest so many entries (of each connection, or of the node), still oldest first.</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Last { get; set; }

        /// <summary>Only entries at or after this time.</summary>
        [Parameter]
        public DateTimeOffset Since { get; set; }

        protected override void ProcessRecord() => Run(node =>
        {
            int? first = MyInvocation.BoundParameters.ContainsKey(nameof(First)) ? First : (int?)null;
            int? last = MyInvocation.BoundParameters.ContainsKey(nameof(Last)) ? Last : (int?)null;
            DateTimeOffset? since = MyInvocation.BoundParameters.ContainsKey(nameof(Since)) ? Since : (DateTimeOffset?)null;
            var targets = ParameterSetName switch
            {
                ConnectionTargetCmdlet.ById => Id.Select(ConnectionTarget.ById).ToArray(),
                ConnectionTargetCmdlet.ByInputObject => InputObject.Select(ConnectionTarget.ByObject).ToArray(),
                _ => Name?.Select(ConnectionTarget.ByName).ToArray(),
            };
            if (targets is null && first is null && last is null && since is null)
            {
                last = DefaultLast;
            }

            new ConnectionCommands(node, HostContext).History(targets, since, first, last);
        });
    }
}
