using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// Turns what Salesforce or Entra ID answered when a grant was refreshed into one typed reason, and the reason into an
    /// error that says which command fixes it. Unattended runs match on the reason, never on provider texts.
    /// </summary>
    public static class AuthorizationFailures
    {
        private static readonly Dictionary<int, InactiveReason> EntraCodes = new Dictionary<int, InactiveReason>
        {
            [700082] = InactiveReason.Expired,         // refresh token expired from inactivity
            [700084] = InactiveReason.Expired,         // single-page app refresh token lifetime ended
            [50173] = InactiveReason.Revoked,          // grant revoked (password change, admin revoke)
            [70008] = InactiveReason.Expired,          // code or refresh token expired
            [65001] = InactiveReason.ConsentRequired,  // the app has no consent
            [65004] = InactiveReason.ConsentRequired,  // the user declined consent
            [70043] = InactiveReason.PolicyBlocked,    // sign-in frequency policy
            [50076] = InactiveReason.PolicyBlocked,    // MFA required by policy
            [50079] = InactiveReason.PolicyBlocked,    // MFA registration required
            [53003] = InactiveReason.PolicyBlocked,    // blocked by Conditional Access
        };

        /// <summary>
        /// Salesforce's token endpoint answers invalid_grant with a description; these are the published ones. A revoked
        /// refresh token reads "expired access/refresh token" just like an expired one, so Salesforce alone cannot tell them apart.
        /// </summary>
        private static readonly (string Text, InactiveReason Reason)[] SalesforceDescriptions =
        {
            ("expired access/refresh token", InactiveReason.Expired),
            ("user hasn't approved this consumer", InactiveReason.ConsentRequired),
            ("user is not admin approved to access this app", InactiveReason.ConsentRequired),
            ("ip restricted or invalid login hours", InactiveReason.PolicyBlocked),
            ("inactive user", InactiveReason.PolicyBlocked),
            ("inactive organization", InactiveReason.PolicyBlocked),
        };

        public static InactiveReason ClassifySalesforce(string? error, string? description)
        {
            var text = (description ?? "").ToLowerInvariant();
            foreach (var (known, reason) in SalesforceDescriptions)
            {
                if (text.Contains(known))
                {
                    return reason;
                }
            }

            // Any other invalid_grant means the grant can no longer be used: it has to be authorized again.
            return string.Equals(error, "invalid_grant", StringComparison.Ordinal) ? InactiveReason.Expired : InactiveReason.ConsentRequired;
        }

        /// <summary>Uses error_codes when Entra ID sends them, else the AADSTS code in the description.</summary>
        public static InactiveReason ClassifyEntra(string? error, string? description, IEnumerable<int>? errorCodes)
        {
            foreach (var code in (errorCodes ?? Enumerable.Empty<int>()).Concat(AadstsCodes(description)))
            {
                if (EntraCodes.TryGetValue(code, out var reason))
                {
                    return reason;
                }
            }

            return error == "interaction_required" || error == "consent_required" ? InactiveReason.ConsentRequired : InactiveReason.Expired;
        }

        /// <summary>The error for a connection whose grant failed, naming the command that fixes it.</summary>
        public static ConnectionToolsException ToError(InactiveReason reason, string connectionName, string providerSaid)
        {
            var reauthorize = $"Update-ConnectionAuthorization -Name '{connectionName}'";
            switch (reason)
            {
                case InactiveReason.Expired:
                    return Error(ErrorIds.AuthorizationExpired, $"The authorization of '{connectionName}' has expired ({providerSaid}).", $"Authorize it again: {reauthorize}");
                case InactiveReason.Revoked:
                    return Error(ErrorIds.AuthorizationRevoked, $"The authorization of '{connectionName}' was revoked at the provider ({providerSaid}).", $"Authorize it again: {reauthorize}");
                case InactiveReason.ConsentRequired:
                    return Error(ErrorIds.AuthorizationConsentRequired, $"'{connectionName}' needs consent at the provider before it can be authorized ({providerSaid}).", $"Have an admin grant the app consent, then run: {reauthorize}");
                case InactiveReason.PolicyBlocked:
                    return Error(ErrorIds.AuthorizationPolicyBlocked, $"A sign-in policy blocks the authorization of '{connectionName}' ({providerSaid}).", $"Sign in interactively to satisfy the policy, or use an unattended grant the policy allows, then run: {reauthorize}");
                case InactiveReason.OrgChanged:
                    return Error(ErrorIds.AuthorizationOrgChanged, $"'{connectionName}' now reaches a different organization ({providerSaid}); a refreshed sandbox has a new Org ID. Nothing was re-pointed.", $"If this is the org you want, keep the connection's id and settings with: {reauthorize} -AcceptNewOrganizationId");
                default:
                    throw new ArgumentOutOfRangeException(nameof(reason), reason, null);
            }

            ConnectionToolsException Error(string id, string message, string fix) =>
                new ConnectionToolsException(id, ErrorKind.AuthenticationError, message, connectionName, fix);
        }

        private static IEnumerable<int> AadstsCodes(string? description)
        {
            var text = description ?? "";
            for (var at = text.IndexOf("AADSTS", StringComparison.Ordinal); at >= 0; at = text.IndexOf("AADSTS", at + 6, StringComparison.Ordinal))
            {
                var end = at + 6;
                while (end < text.Length && char.IsDigit(text[end]))
                {
                    end++;
                }

                if (end > at + 6 && int.TryParse(text.Substring(at + 6, end - at - 6), out var code))
                {
                    yield return code;
                }
            }
        }
    }
}
