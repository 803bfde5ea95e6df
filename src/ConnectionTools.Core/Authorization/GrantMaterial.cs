using System;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// Everything needed to use or renew a connection's grant without asking anyone. Stored only encrypted, as one blob per
    /// connection (see <c>GrantRows</c>); serialized with System.Text.Json. Never logged, never output.
    /// </summary>
    public sealed class GrantMaterial
    {
        public AuthorizationFlow Flow { get; set; }

        public string? ClientId { get; set; }

        public string? Username { get; set; }

        public string? TenantId { get; set; }

        public string? CertificatePath { get; set; }

        public string? CertificateThumbprint { get; set; }

        public string? CertificatePassword { get; set; }

        public string? ClientSecret { get; set; }

        /// <summary>Salesforce: the refresh token from the authorization code or device flow.</summary>
        public string? RefreshToken { get; set; }

        /// <summary>Entra ID public-client flows: MSAL's serialized token cache (base64), which holds the refresh token.</summary>
        public string? TokenCache { get; set; }

        /// <summary>Entra ID public-client flows: the MSAL account's HomeAccountId.Identifier, to find it in the cache.</summary>
        public string? AccountId { get; set; }

        /// <summary>Salesforce: the instance URL the token endpoint returned (the org's own host).</summary>
        public Uri? ApiUrl { get; set; }

        /// <summary>A copy a provider can change (a rotated refresh token, a renewed cache) without touching the caller's.</summary>
        public GrantMaterial Clone() => (GrantMaterial)MemberwiseClone();

        public bool IsUnattended => Flow == AuthorizationFlow.JwtBearer || Flow == AuthorizationFlow.ClientSecret || Flow == AuthorizationFlow.ClientCertificate;
    }
}
