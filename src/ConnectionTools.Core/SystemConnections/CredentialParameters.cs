
namespace ConnectionTools.SystemConnections
{
    /// <summary>The sign-in parameters New-Connection and Update-ConnectionAuthorization share. Secrets are plain here for the shortest time possible.</summary>
    public class CredentialParameters
    {
        public bool UseDeviceCode { get; set; }

        public string? ClientId { get; set; }

        public string? Username { get; set; }

        public string? TenantId { get; set; }

        public string? CertificatePath { get; set; }

        public string? CertificateThumbprint { get; set; }

        public string? CertificatePassword { get; set; }

        public string? ClientSecret { get; set; }

        /// <summary>-RedirectPort: the loopback port of the interactive Salesforce sign-in for this command (default: the node's).</summary>
        public int? RedirectPort { get; set; }

        /// <summary>Whether a person can answer a browser or device-code sign-in (false in scheduled tasks and -NonInteractive sessions).</summary>
        public bool Interactive { get; set; }

        internal bool GivesCredentials =>
            UseDeviceCode || ClientId != null || Username != null || TenantId != null || CertificatePath != null ||
            CertificateThumbprint != null || ClientSecret != null;
    }

    /// <summary>New-Connection's parameters.</summary>
    public sealed class NewConnectionRequest : CredentialParameters
    {
        public string? Name { get; set; }

        public string? Description { get; set; }

        /// <summary>SalesforceProduction, SalesforceSandbox or Dynamics365.</summary>
        public string? Type { get; set; }

        public string? InstanceUrl { get; set; }

        /// <summary>Dynamics 365 only: Public (default), GCC, GCCHigh, DoD or China.</summary>
        public string? EnvironmentType { get; set; }

        /// <summary>Dynamics 365 without an instance URL: the friendly name, unique name or URL (wildcards allowed) of the environment to use.</summary>
        public string? EnvironmentName { get; set; }

        /// <summary>Whether a person can answer a choice prompt (false also where a sign-in works but the prompt cannot ask, such as redirected input).</summary>
        public bool CanChoose { get; set; }

        public bool AcceptDataProcessingAgreement { get; set; }
    }

    /// <summary>Update-ConnectionAuthorization's parameters besides the connections.</summary>
    public sealed class UpdateAuthorizationRequest : CredentialParameters
    {
        public bool AcceptNewOrganizationId { get; set; }

        public int ThrottleLimit { get; set; } = SystemConnectionCommands.DefaultThrottleLimit;

    }

    /// <summary>Find-ConnectionEnvironment's parameters.</summary>
    public sealed class FindEnvironmentRequest : CredentialParameters
    {
        /// <summary>Dynamics365 (the only type with environments to discover).</summary>
        public string? Type { get; set; }

        /// <summary>Public (default), GCC, GCCHigh, DoD or China.</summary>
        public string? EnvironmentType { get; set; }

        /// <summary>Lists only the environments whose friendly name, unique name or URL matches (wildcards allowed).</summary>
        public string? EnvironmentName { get; set; }
    }

    /// <summary>Test-ConnectionAuthorization's parameters besides the connections.</summary>
    public sealed class TestAuthorizationRequest
    {
        public int ThrottleLimit { get; set; } = SystemConnectionCommands.DefaultThrottleLimit;
    }
}
