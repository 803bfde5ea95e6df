namespace ConnectionTools.Authorization
{
    /// <summary>How a system connection obtains its grant. The last three never prompt, so scheduled tasks can run them.</summary>
    public enum AuthorizationFlow
    {
        /// <summary>Authorization code with PKCE, in the system browser, redirected to a loopback listener.</summary>
        Interactive,

        /// <summary>Device code: the user signs in on another device. For headless sessions with a person at the keyboard.</summary>
        DeviceCode,

        /// <summary>Salesforce OAuth 2.0 JWT bearer: an assertion signed with the connected app's certificate.</summary>
        JwtBearer,

        /// <summary>Entra ID client credentials with a client secret.</summary>
        ClientSecret,

        /// <summary>Entra ID client credentials with a certificate.</summary>
        ClientCertificate,
    }
}
