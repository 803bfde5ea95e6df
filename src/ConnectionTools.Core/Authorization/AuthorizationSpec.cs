using System;
using ConnectionTools.Connections;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// What a provider needs to obtain a grant for one system connection. Built and checked by Core before any network call;
    /// <see cref="ClientSecret"/> and <see cref="CertificatePassword"/> are secrets and never leave Core except to the provider.
    /// </summary>
    public sealed class AuthorizationSpec
    {
        public ConnectionType Type { get; set; }

        /// <summary>The org's My Domain or the Dataverse environment URL, already validated (https, right provider and cloud).</summary>
        public Uri InstanceUrl { get; set; } = null!;

        public EnvironmentType EnvironmentType { get; set; } = EnvironmentType.Public;

        public AuthorizationFlow Flow { get; set; }

        /// <summary>Connected app consumer key (Salesforce) or app registration (Entra ID). Null: the module's own public client.</summary>
        public string? ClientId { get; set; }

        /// <summary>Salesforce JWT bearer: the user the assertion names (sub). Interactive flows: a login hint.</summary>
        public string? Username { get; set; }

        /// <summary>Entra ID tenant id or domain. Client credentials need one; interactive flows default to "organizations".</summary>
        public string? TenantId { get; set; }

        /// <summary>The certificate with its private key, already loaded and checked. Not stored: the path or thumbprint is.</summary>
        public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; set; }

        public string? CertificatePath { get; set; }

        public string? CertificateThumbprint { get; set; }

        public string? CertificatePassword { get; set; }

        public string? ClientSecret { get; set; }

        /// <summary>Whether to show a prompt: false in scheduled tasks and -NonInteractive sessions; interactive flows fail fast then.</summary>
        public bool CanInteract { get; set; }
    }
}
