using System;
using System.Linq;
using System.Management.Automation;
using ConnectionTools.Connections;
using ConnectionTools.Invitations;
using ConnectionTools.PowerShell.Completion;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Shows the current invitation code of pending private connections (all of them without -Name); -Renew replaces it and the
    /// old code stops working.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "InvitationCode", SupportsShouldProcess = true, DefaultParameterSetName = ConnectionTargetCmdlet.ByName)]
    [OutputType(typeof(PrivateConnectionInvitation))]
    public sealed class GetInvitationCodeCommand : ConnectionToolsCmdlet
    {
        /// <summary>Optional, unlike the other cmdlets that act on named connections: without it, every Pending connection.</summary>
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

        [Parameter]
        public SwitchParameter Renew { get; set; }

        /// <summary>How long a renewed code lives.</summary>
        [Parameter]
        public TimeSpan InvitationLifetime { get; set; } = TimeSpan.FromHours(72);

        protected override void ProcessRecord() => Run(node => new InvitationCommands(node, HostContext).Get(Targets(), Renew, InvitationLifetime));

        private ConnectionTarget[]? Targets()
        {
            switch (ParameterSetName)
            {
                case ConnectionTargetCmdlet.ById:
                    return Id.Select(ConnectionTarget.ById).ToArray();
                case ConnectionTargetCmdlet.ByInputObject:
                    return InputObject.Select(ConnectionTarget.ByObject).ToArray();
                default:
                    return Name?.Select(ConnectionTarget.ByName).ToArray();
            }
        }
    }
}
