using System.Management.Automation;
using System.Security;
using ConnectionTools.Connections;
using ConnectionTools.PowerShell.Completion;
using ConnectionTools.PowerShell.Host;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Creates a Salesforce or Dynamics 365 connection: authorizes it, pins it to the org it reaches, and makes it Active.</summary>
    [Cmdlet(VerbsCommon.New, "Connection", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(Connection))]
    public sealed class NewConnectionCommand : ConnectionToolsCmdlet, ISignInParameters
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; } = "";

        /// <summary>SalesforceProduction, SalesforceSandbox or Dynamics365; checked by Core so a wrong value gets its own error id.</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(SystemConnectionTypeCompleter))]
        public string Type { get; set; } = "";

        /// <summary>Optional: without it, Salesforce signs in at its login host and Dynamics 365 lists the environments to choose from.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? InstanceUrl { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(EnvironmentTypeCompleter))]
        public string? EnvironmentType { get; set; }

        /// <summary>Dynamics 365 without -InstanceUrl: the friendly name, unique name or URL of the environment (wildcards allowed).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        public string? EnvironmentName { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? Description { get; set; }

        [Parameter]
        public SwitchParameter AcceptDataProcessingAgreement { get; set; }

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

        protected override void ProcessRecord() => Run(node => new SystemConnectionCommands(node, HostContext).New(SignInParameters.Fill(this, new NewConnectionRequest
        {
            Name = Name,
            Type = Type,
            InstanceUrl = InstanceUrl,
            EnvironmentType = EnvironmentType,
            EnvironmentName = EnvironmentName,
            Description = Description,
            AcceptDataProcessingAgreement = AcceptDataProcessingAgreement.IsPresent,
            CanChoose = Interactivity.CanChoose(Host),
        })));
    }
}
