using System.Collections.Generic;
using System.Management.Automation;
using System.Security;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Re-authorizes system connections: with their stored unattended credentials (a scheduled task can run
    /// Update-ConnectionAuthorization -Status Inactive), with credentials given now, or by signing in.
    /// </summary>
    [Cmdlet(VerbsData.Update, "ConnectionAuthorization", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
    [OutputType(typeof(AuthorizationResult))]
    public sealed class UpdateConnectionAuthorizationCommand : ConnectionTargetCmdlet, ISignInParameters
    {
        internal const string ByStatus = "ByStatus";

        [Parameter(Mandatory = true, ParameterSetName = ByStatus)]
        public ConnectionStatus[] Status { get; set; } = System.Array.Empty<ConnectionStatus>();

        [Parameter]
        public SwitchParameter AcceptNewOrganizationId { get; set; }

        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = SystemConnectionCommands.DefaultThrottleLimit;

        [Parameter]
        public SwitchParameter UseDeviceCode { get; set; }

        [Parameter]
        public string? ClientId { get; set; }

        [Parameter]
        public string? Username { get; set; }

        [Parameter]
        public string? TenantId { get; set; }

        [Parameter]
        public string? CertificatePath { get; set; }

        [Parameter]
        public string? CertificateThumbprint { get; set; }

        [Parameter]
        public SecureString? CertificatePassword { get; set; }

        [Parameter]
        public SecureString? ClientSecret { get; set; }

        /// <summary>The app's client id as the user name and its client secret as the password.</summary>
        [Parameter]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>Salesforce interactive sign-in: the loopback port of the callback URL for this command (default: the node's, 1717).</summary>
        [Parameter]
        [ValidateRange(1, 65535)]
        public int? RedirectPort { get; set; }

        private readonly List<ConnectionTarget> _targets = new List<ConnectionTarget>();

        // Collected first, so unattended grants are renewed in parallel rather than one pipeline item at a time.
        protected override void ProcessRecord()
        {
            if (ParameterSetName != ByStatus)
            {
                _targets.AddRange(Targets());
            }
        }

        protected override void EndProcessing() => Run(node =>
        {
            var commands = new SystemConnectionCommands(node, HostContext);
            var targets = ParameterSetName == ByStatus ? commands.SelectByStatus(Status) : _targets;
            var request = SignInParameters.Fill(this, new UpdateAuthorizationRequest { AcceptNewOrganizationId = AcceptNewOrganizationId.IsPresent, ThrottleLimit = ThrottleLimit });
            commands.Update(targets, request);
        });
    }
}
