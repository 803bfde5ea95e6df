using System;
using System.Management.Automation;
using ConnectionTools.Connections;
using ConnectionTools.PowerShell.Completion;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Lists connections from the store in one query. Never touches the network.</summary>
    [Cmdlet(VerbsCommon.Get, "Connection", DefaultParameterSetName = ConnectionTargetCmdlet.ByName)]
    [OutputType(typeof(Connection))]
    public sealed class GetConnectionCommand : ConnectionToolsCmdlet
    {
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ConnectionTargetCmdlet.ByName)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(ConnectionNameCompleter))]
        public string[]? Name { get; set; }

        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ConnectionTargetCmdlet.ById)]
        public Guid[] Id { get; set; } = Array.Empty<Guid>();

        [Parameter]
        public ConnectionStatus[]? Status { get; set; }

        [Parameter]
        public ConnectionType[]? Type { get; set; }

        [Parameter]
        public SwitchParameter IncludeRemoved { get; set; }

        protected override void ProcessRecord() => Run(node => new ConnectionCommands(node, HostContext).Get(new ConnectionQuery
        {
            Names = Name,
            Ids = ParameterSetName == ConnectionTargetCmdlet.ById ? Id : null,
            Statuses = Status,
            Types = Type,
            IncludeRemoved = IncludeRemoved,
        }));
    }
}
