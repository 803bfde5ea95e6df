using System;
using System.Management.Automation;
using ConnectionTools.Connections;
using ConnectionTools.Sync;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>The first sync of a new partner: queues the existing cases of the bound system for a private connection.</summary>
    [Cmdlet(VerbsData.Initialize, "ConnectionSync", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
    [OutputType(typeof(Connection))]
    public sealed class InitializeConnectionSyncCommand : ConnectionTargetCmdlet
    {
        /// <summary>Only the cases changed since then; every case without it.</summary>
        [Parameter]
        public DateTime? Since { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord() => Run(node =>
            new InitialLoadCommands(node, HostContext).Start(Targets(), Since is DateTime since ? new DateTimeOffset(since.ToUniversalTime()) : (DateTimeOffset?)null, PassThru));
    }
}
