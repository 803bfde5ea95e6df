using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ConnectionTools.Connections;
using ConnectionTools.PowerShell.Completion;
using ConnectionTools.Peering;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>On the private side: runs one status exchange with the public node, for the named connections or all of them. Suits a scheduled task.</summary>
    [Cmdlet(VerbsData.Sync, "Connection", SupportsShouldProcess = true, DefaultParameterSetName = "All")]
    [OutputType(typeof(Connection))]
    public sealed class SyncConnectionCommand : ConnectionToolsCmdlet
    {
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ConnectionTargetCmdlet.ByName)]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(ConnectionNameCompleter))]
        public string[]? Name { get; set; }

        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ConnectionTargetCmdlet.ByInputObject)]
        [ValidateNotNull]
        public Connection[] InputObject { get; set; } = Array.Empty<Connection>();

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            IEnumerable<ConnectionTarget>? targets = ParameterSetName == ConnectionTargetCmdlet.ByInputObject
                ? InputObject.Select(ConnectionTarget.ByObject)
                : Name?.Select(ConnectionTarget.ByName);
            Run(node => new PeerCommands(node, HostContext).Sync(targets, PassThru));
        }
    }
}
