using System;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;
using Microsoft.Identity.Client;

namespace ConnectionTools.Authorization.Entra
{
    // A person's sign-in (browser or device code) through MSAL, for one scope: the Dataverse environment's, or the cloud's
    // Global Discovery Service's when the environment is chosen afterwards.
    public sealed partial class EntraAuthorizer
    {
        /// <summary>
        /// The interactive or device-code sign-in itself, for one scope. Fills <paramref name="grant"/>'s account, username and
        /// token cache (whose refresh token later gets tokens for other resources of the same cloud without a prompt).
        /// </summary>
        private static async Task<AuthenticationResult> AcquireUserTokenAsync(EnvironmentType environment, GrantMaterial grant, string scope, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var cloud = CloudEndpoints.For(environment);
            var tenant = grant.TenantId ?? DefaultUserTenant;
            var authority = cloud.Authority(tenant);
            var scopes = new[] { scope };
            var what = $"Entra ID ({cloud.AuthorityHost})";
            var slot = new TokenCacheSlot(null);
            var app = PublicClient(grant.ClientId!, authority, context, slot);
            var flowName = grant.Flow == AuthorizationFlow.Interactive ? "interactive" : "device code";
            context.Verbose($"Entra ID: {flowName} sign-in at {authority.AbsoluteUri} for {scopes[0]} with app {grant.ClientId}.");

            AuthenticationResult result;
            using (var interaction = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                interaction.CancelAfter(context.InteractionTimeout);
                try
                {
                    if (grant.Flow == AuthorizationFlow.Interactive)
                    {
                        // A browser sign-in is not repeated on failure: the person would see a second sign-in.
                        var builder = app.AcquireTokenInteractive(scopes)
                            .WithSystemWebViewOptions(new SystemWebViewOptions { OpenBrowserAsync = uri => context.OpenBrowser(uri, interaction.Token) });
                        if (grant.Username != null)
                        {
                            builder = builder.WithLoginHint(grant.Username);
                        }

                        result = await builder.ExecuteAsync(interaction.Token).ConfigureAwait(false);
                    }
                    else
                    {
                        // Retried only until the code is shown: after that a retry would show a second code.
                        var shown = 0;
                        var attempt = 0;
                        result = await ProviderRetry.RunAsync(
                            token => app.AcquireTokenWithDeviceCode(scopes, code =>
                            {
                                Interlocked.Exchange(ref shown, 1);
                                context.ShowDeviceCode(code.Message);
                                return Task.CompletedTask;
                            }).ExecuteAsync(token),
                            e => Volatile.Read(ref shown) == 0 ? EntraErrors.RetryAfter(e, ++attempt) : null,
                            what,
                            interaction.Token).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (interaction.IsCancellationRequested && !cancellationToken.IsCancellationRequested &&
                    (e is OperationCanceledException || e is MsalClientException))
                {
                    throw new ConnectionToolsException(
                        ErrorIds.AuthorizationTimedOut,
                        ErrorKind.OperationTimeout,
                        $"The {flowName} sign-in was not completed within {context.InteractionTimeout.TotalMinutes:0.#} minutes. Nothing was stored.",
                        what,
                        "Run the command again and complete the sign-in in time.",
                        e);
                }
                catch (Exception e) when (EntraErrors.Translate(e, what, grant.ClientId!, grant.TenantId) is Exception translated)
                {
                    throw translated;
                }
            }

            var account = result.Account;
            grant.AccountId = account?.HomeAccountId?.Identifier;
            grant.Username = account?.Username ?? grant.Username;
            grant.TokenCache = slot.ToBase64();
            if (grant.AccountId is null || grant.TokenCache is null)
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationProtocol,
                    ErrorKind.InvalidData,
                    $"{what} signed in but returned no account to refresh the grant with (no client_info or refresh token). Nothing was stored.",
                    what,
                    "Use an app registration that allows public client flows, and run the command again.");
            }

            return result;
        }
    }
}
