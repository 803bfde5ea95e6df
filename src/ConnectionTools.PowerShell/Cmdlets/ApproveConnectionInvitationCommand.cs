using System.Management.Automation;
using ConnectionTools.Connections;
using ConnectionTools.Peering;
using ConnectionTools.PowerShell.Completion;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// On the private side: accepts an invitation code, and both sides become Active. Exported also as Accept-ConnectionInvitation,
    /// the requested name; Accept is not an approved verb, and an alias keeps Import-Module free of warnings.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Approve, "ConnectionInvitation", SupportsShouldProcess = true)]
    [Alias("Accept-ConnectionInvitation")]
    [OutputType(typeof(Connection))]
    public sealed class ApproveConnectionInvitationCommand : ConnectionToolsCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string InvitationCode { get; set; } = "";

        /// <summary>The name on this side; the invitation's name when omitted.</summary>
        [Parameter]
        public string? Name { get; set; }

        /// <summary>This side's instance name, as the public side will show it; the computer name when omitted.</summary>
        [Parameter]
        public string? LocalInstanceName { get; set; }

        /// <summary>The Salesforce or Dynamics 365 connection on this node whose cases it syncs; without it, the connection exchanges status only.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(SystemConnectionNameCompleter))]
        public string? System { get; set; }

        protected override void ProcessRecord() => Run(node =>
            new PeerCommands(node, HostContext).AcceptEach(new[] { InvitationCode }, Name, LocalInstanceName, System));
    }
}
