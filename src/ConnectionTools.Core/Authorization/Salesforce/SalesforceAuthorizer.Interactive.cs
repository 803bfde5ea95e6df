using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Salesforce
{
    // The Interactive flow: authorization code with PKCE through a loopback redirect, and the checks on the redirect (state, error, RFC 9207 issuer).
    public sealed partial class SalesforceAuthorizer
    {
        private async Task<AuthorizationOutcome> InteractiveAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var instance = Root(spec.InstanceUrl);
            var clientId = ClientIdOf(spec.ClientId, instance);
            var verifier = SalesforceJwt.NewVerifier();
            var state = SalesforceJwt.NewState();
            IReadOnlyDictionary<string, string> redirect;
            Uri redirectUri;
            using (var listener = LoopbackRedirectListener.Start(context.Redirect ?? LoopbackRedirect.Default))
            using (var interaction = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                redirectUri = listener.RedirectUri;
                var authorize = new Uri(instance, AuthorizePath);
                var query = new StringBuilder()
                    .Append("response_type=code")
                    .Append("&client_id=").Append(Uri.EscapeDataString(clientId))
                    .Append("&redirect_uri=").Append(Uri.EscapeDataString(redirectUri.AbsoluteUri))
                    .Append("&scope=").Append(Uri.EscapeDataString(Scope))
                    .Append("&state=").Append(Uri.EscapeDataString(state))
                    .Append("&code_challenge=").Append(Uri.EscapeDataString(SalesforceJwt.Challenge(verifier)))
                    .Append("&code_challenge_method=S256");
                if (!string.IsNullOrWhiteSpace(spec.Username))
                {
                    query.Append("&login_hint=").Append(Uri.EscapeDataString(spec.Username!.Trim()));
                }

                interaction.CancelAfter(context.InteractionTimeout);
                var waiting = listener.WaitForRedirectAsync(interaction.Token);
                try
                {
                    context.Verbose($"Opening the browser at {authorize.AbsoluteUri}; waiting for the redirect to {redirectUri.AbsoluteUri} (at most {Seconds(context.InteractionTimeout)}).");
                    try
                    {
                        await context.OpenBrowser(new Uri(authorize.AbsoluteUri + "?" + query), interaction.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (!(e is OperationCanceledException) && !(e is ConnectionToolsException))
                    {
                        throw new ConnectionToolsException(
                            ErrorIds.AuthorizationInteractionRequired,
                            ErrorKind.InvalidOperation,
                            $"The browser could not be opened for the Salesforce sign-in ({e.GetType().Name}: {e.Message}). Nothing was stored.",
                            instance.Host,
                            "Use -Flow DeviceCode to sign in on another device, or the JWT bearer flow for unattended runs.",
                            e);
                    }

                    redirect = await waiting.ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw TimedOut(instance, context.InteractionTimeout, "the browser sign-in");
                }
                finally
                {
                    // Stops the listener whatever happened, so no accept is left waiting.
                    interaction.Cancel();
                }
            }

            redirect.TryGetValue("state", out var returnedState);
            if (!string.Equals(returnedState, state, StringComparison.Ordinal))
            {
                throw Protocol(instance, "the redirect's state does not match the sign-in this command started (a stale or forged redirect)", "Run the command again and finish the sign-in in the browser window it opens.");
            }

            if (redirect.TryGetValue("error", out var error))
            {
                redirect.TryGetValue("error_description", out var description);
                if (error == "access_denied")
                {
                    throw new ConnectionToolsException(
                        ErrorIds.AuthorizationDeclined,
                        ErrorKind.PermissionDenied,
                        $"The sign-in was declined at Salesforce ({Said(error, description)}). Nothing was stored.",
                        instance.Host,
                        "Run the command again and choose Allow, or ask an admin to allow the connected app for your profile.");
                }

                throw RedirectError(instance, error, description);
            }

            if (redirect.TryGetValue("iss", out var issuer) && !IsExpectedIssuer(issuer, instance, spec.Type))
            {
                // RFC 9207: a response from another authorization server (a mix-up attack) is never redeemed.
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationProtocol,
                    ErrorKind.PermissionDenied,
                    $"The sign-in response names the issuer '{Clip(issuer)}', not {instance.Host}; it was refused and its code was not redeemed. Nothing was stored.",
                    instance.Host,
                    "Close other sign-in windows, check that -InstanceUrl is the org's My Domain, and run the command again.");
            }

            if (!redirect.TryGetValue("code", out var code) || string.IsNullOrEmpty(code))
            {
                throw Protocol(instance, "the redirect carried neither a code nor an error", null);
            }

            var token = await PostTokenAsync(context, instance, "authorization_code", new[]
            {
                Pair("grant_type", "authorization_code"),
                Pair("code", code),
                Pair("client_id", clientId),
                Pair("redirect_uri", redirectUri.AbsoluteUri),
                Pair("code_verifier", verifier),
            }, cancellationToken).ConfigureAwait(false);
            var grant = new GrantMaterial { Flow = AuthorizationFlow.Interactive, ClientId = clientId };
            return await CompleteAsync(context, instance, token, grant, cancellationToken, requireRefreshToken: true, kind: spec.Type).ConfigureAwait(false);
        }

        /// <summary>RFC 9207: the issuer is the org's own host, or the login host of its kind (login.salesforce.com, test.salesforce.com).</summary>
        private static bool IsExpectedIssuer(string issuer, Uri instance, ConnectionType type)
        {
            if (!Uri.TryCreate(issuer, UriKind.Absolute, out var url) || !string.IsNullOrEmpty(url.UserInfo) || url.AbsolutePath.Trim('/').Length > 0 || !string.IsNullOrEmpty(url.Query))
            {
                return false;
            }

            bool Same(Uri a, Uri b) => string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;
            var login = new Uri(InstanceUrls.SalesforceAudience(type));
            if (Same(url, instance) || Same(url, login))
            {
                return true;
            }

            // A sign-in started at the login host (no -InstanceUrl) is finished by the org's own My Domain, which may name
            // itself: a Salesforce host of the org's kind, over https, is still Salesforce, never another server.
            return Same(instance, login) && url.Scheme == Uri.UriSchemeHttps && url.IsDefaultPort && InstanceUrls.SalesforceKindOf(url.Host) == type &&
                url.Host.EndsWith(".my.salesforce.com", StringComparison.OrdinalIgnoreCase);
        }

        private static Exception RedirectError(Uri instance, string error, string? description)
        {
            if (error == "invalid_client_id" || error == "invalid_client")
            {
                return TokenError(400, error, description, instance);
            }

            return Protocol(instance, $"the sign-in ended with an error ({Said(error, description)})", null);
        }
    }
}
