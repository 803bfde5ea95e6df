using System;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Peering;

namespace ConnectionTools.Authorization.Salesforce
{
    // From a token answer to the outcome: the access and refresh tokens, the API URL, and the org and user from the identity URL or userinfo.
    public sealed partial class SalesforceAuthorizer
    {
        /// <summary>Reads the token answer, then userinfo at the instance_url it names, and builds the outcome.</summary>
        /// <param name="kind">For a new sign-in: the connection's type, which the org the token answer names must be of.</param>
        private static async Task<AuthorizationOutcome> CompleteAsync(AuthorizationContext context, Uri instance, JsonElement token, GrantMaterial grant, CancellationToken cancellationToken, bool requireRefreshToken = false, ConnectionType? kind = null)
        {
            var accessToken = String(token, "access_token");
            if (string.IsNullOrEmpty(accessToken))
            {
                throw Protocol(instance, "the token answer has no access_token", null);
            }

            var refreshToken = String(token, "refresh_token");
            if (!string.IsNullOrEmpty(refreshToken))
            {
                grant.RefreshToken = refreshToken;
            }
            else if (requireRefreshToken)
            {
                throw Protocol(instance, "Salesforce issued no refresh token, so the grant could not be renewed without signing in again",
                    "Add the OAuth scope 'Perform requests at any time (refresh_token, offline_access)' to the connected app, then run the command again.");
            }

            var apiUrl = ApiUrlOf(token, instance);
            grant.ApiUrl = apiUrl;
            if (!string.IsNullOrEmpty(refreshToken))
            {
                // The previous refresh token may be used up (rotation): hand the new one over before anything else can fail.
                context.GrantIssued?.Invoke(grant.Clone());
            }

            if (kind is ConnectionType expected && !PeerUrls.IsLoopback(apiUrl) && InstanceUrls.SalesforceKindOf(apiUrl.Host) is ConnectionType actual && actual != expected)
            {
                // After GrantIssued on purpose: the caller then knows there is a grant to revoke.
                var sandbox = actual == ConnectionType.SalesforceSandbox;
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationInstanceKindMismatch,
                    ErrorKind.InvalidData,
                    $"The sign-in reached {apiUrl.Host}, a {(sandbox ? "sandbox" : "production org")}, but the connection is of type {expected}. Nothing was stored.",
                    apiUrl.Host,
                    sandbox
                        ? "Use -Type SalesforceSandbox for a sandbox, or sign in with a production user."
                        : "Use -Type SalesforceProduction for a production org, or sign in with the sandbox user (user@example.com.sandboxname).");
            }

            // Every Salesforce token answer names the identity URL .../id/<orgId>/<userId>: the org is pinned from it, and
            // userinfo (which a server may refuse without the openid scope) is asked only for what it does not give.
            var identity = IdentityOf(String(token, "id"));
            if (identity is { } known && !string.IsNullOrEmpty(grant.Username))
            {
                return new AuthorizationOutcome(known.OrganizationId, grant.Username!, grant, accessToken!);
            }

            if (identity is { } partial)
            {
                // A new interactive or device grant: who signed in comes from userinfo when it answers, else the user id.
                string? username = null;
                try
                {
                    username = (await UserInfoAsync(context, apiUrl, accessToken!, cancellationToken).ConfigureAwait(false)).Username;
                }
                catch (ConnectionToolsException e)
                {
                    context.Verbose($"userinfo at {apiUrl.Host} gave no username ({e.ErrorId}); the grant is recorded as user {partial.UserId}.");
                }
                catch (ProviderRefusedException e)
                {
                    context.Verbose($"userinfo at {apiUrl.Host} gave no username ({e.ProviderSaid}); the grant is recorded as user {partial.UserId}.");
                }

                grant.Username = username ?? partial.UserId;
                return new AuthorizationOutcome(partial.OrganizationId, grant.Username, grant, accessToken!);
            }

            var info = await UserInfoAsync(context, apiUrl, accessToken!, cancellationToken).ConfigureAwait(false);
            if (grant.Flow != AuthorizationFlow.JwtBearer)
            {
                grant.Username = info.Username;
            }

            return new AuthorizationOutcome(info.OrganizationId, info.Username, grant, accessToken!);
        }

        private static async Task<(string OrganizationId, string Username)> UserInfoAsync(AuthorizationContext context, Uri apiUrl, string accessToken, CancellationToken cancellationToken)
        {
            var url = new Uri(apiUrl, UserInfoPath);
            var (status, body) = await SendAsync(context, HttpMethod.Get, url, null, accessToken, "userinfo", false, cancellationToken).ConfigureAwait(false);
            if (status == 401)
            {
                var said = ReadApiError(body) ?? "HTTP 401";
                throw new ProviderRefusedException(InactiveReason.Expired, said);
            }

            if (status != 200)
            {
                throw Protocol(apiUrl, $"userinfo answered HTTP {status}{(ReadApiError(body) is string e ? " (" + e + ")" : "")}",
                    "The connected app's OAuth scopes must include 'Access the identity URL service (id, profile, email, address, phone)'.");
            }

            var info = ParseObject(body, apiUrl);
            var organizationId = String(info, "organization_id");
            var username = String(info, "preferred_username") ?? String(info, "username");
            if (string.IsNullOrEmpty(organizationId) || string.IsNullOrEmpty(username))
            {
                throw Protocol(apiUrl, "userinfo lacks organization_id or preferred_username", null);
            }

            return (organizationId!, username!);
        }

        /// <summary>The org and user ids of an identity URL (https://host/id/&lt;orgId&gt;/&lt;userId&gt;), or null when it is missing or not one.</summary>
        internal static (string OrganizationId, string UserId)? IdentityOf(string? id)
        {
            if (id is null || !Uri.TryCreate(id, UriKind.Absolute, out var url))
            {
                return null;
            }

            var parts = url.AbsolutePath.Trim('/').Split('/');
            if (parts.Length != 3 || parts[0] != "id" || !IsSalesforceId(parts[1], "00D") || !IsSalesforceId(parts[2], null))
            {
                return null;
            }

            return (parts[1], parts[2]);
        }

        private static bool IsSalesforceId(string value, string? prefix)
        {
            if ((value.Length != 15 && value.Length != 18) || (prefix != null && !value.StartsWith(prefix, StringComparison.Ordinal)))
            {
                return false;
            }

            foreach (var c in value)
            {
                if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z'))
                {
                    return false;
                }
            }

            return true;
        }

        private static Uri ApiUrlOf(JsonElement token, Uri instance)
        {
            var text = String(token, "instance_url");
            if (text is null)
            {
                return instance;
            }

            if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || !string.IsNullOrEmpty(url.UserInfo) ||
                !(url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && PeerUrls.IsLoopback(url))))
            {
                throw Protocol(instance, "the token answer's instance_url is not an https URL", null);
            }

            return Root(url);
        }
    }
}
