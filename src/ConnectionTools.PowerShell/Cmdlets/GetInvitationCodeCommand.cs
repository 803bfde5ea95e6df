using System;
using System.Management.Automation;
using ConnectionTools.Invitations;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Shows the current invitation code of pending private connections; -Renew replaces it and the old code stops working.</summary>
    [Cmdlet(VerbsCommon.Get, "InvitationCode", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
    [OutputType(typeof(PrivateConnectionInvitation))]
    public sealed class GetInvitationCodeCommand : ConnectionTargetCmdlet
    {
        [Parameter]
        public SwitchParameter Renew { get; set; }

        /// <summary>How long a renewed code lives.</summary>
        [Parameter]
        public TimeSpan InvitationLifetime { get; set; } = TimeSpan.FromHours(72);

        protected override void ProcessRecord() => Run(node => new InvitationCommands(node, HostContext).Get(Targets(), Renew, InvitationLifetime));
    }
}
