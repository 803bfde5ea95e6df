namespace ConnectionTools.Authorization
{
    /// <summary>What a provider returns after it obtained or refreshed a grant and read the org's identity.</summary>
    public sealed class AuthorizationOutcome
    {
        public AuthorizationOutcome(string organizationId, string authorizedAs, GrantMaterial grant, string accessToken)
        {
            OrganizationId = organizationId;
            AuthorizedAs = authorizedAs;
            Grant = grant;
            AccessToken = accessToken;
        }

        /// <summary>Salesforce organization_id from userinfo; Dataverse OrganizationId from WhoAmI.</summary>
        public string OrganizationId { get; }

        /// <summary>Who the grant acts on behalf of: a username, or the app (client id) for client credentials.</summary>
        public string AuthorizedAs { get; }

        /// <summary>The grant to store: for refresh-token flows, with the (possibly rotated) refresh token or token cache.</summary>
        public GrantMaterial Grant { get; }

        /// <summary>For the caller's next API call only. Never stored.</summary>
        public string AccessToken { get; }
    }
}
