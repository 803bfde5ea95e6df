using System;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using Microsoft.Identity.Client;

namespace ConnectionTools.Authorization.Entra
{
    /// <summary>
    /// Dynamics 365 grants from Entra ID through MSAL.NET: interactive and device-code sign-in (public client, MSAL token
    /// cache kept in the grant), and client credentials with a secret or a certificate; then the environment's
    /// OrganizationId from Dataverse WhoAmI. Stateless and thread-safe: every call builds its own MSAL application, with
    /// its own token cache, and MSAL does all its HTTP through <see cref="AuthorizationContext.Http"/>.
    /// </summary>
    public sealed partial class EntraAuthorizer : ISystemAuthorizer
    {
        /// <summary>
        /// The public client used when no -ClientId is given: the app id Microsoft publishes for Dataverse development
        /// samples and tools (multi-tenant, delegated Dataverse access, redirect URI http://localhost). Production use
        /// should register its own app and pass -ClientId.
        /// </summary>
        public const string WellKnownPublicClientId = "51f81489-12ee-4a9e-aaae-a2591f45987d";

        /// <summary>The tenant of interactive and device-code sign-in when none is given: any work or school account.</summary>
        public const string DefaultUserTenant = "organizations";

        /// <summary>The public client's redirect URI; MSAL listens on a free loopback port for it.</summary>
        public const string RedirectUri = "http://localhost";

        public async Task<AuthorizationOutcome> AuthorizeAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken)
        {
            if (spec is null)
            {
                throw new ArgumentNullException(nameof(spec));
            }

            CheckContext(context);
            if (spec.InstanceUrl is null)
            {
                throw new ArgumentException("The spec has no InstanceUrl.", nameof(spec));
            }

            if (spec.Type != ConnectionType.Dynamics365)
            {
                throw new ArgumentException($"EntraAuthorizer signs in Dynamics 365 connections, not {spec.Type}.", nameof(spec));
            }

            var target = new SystemTarget(spec.Type, spec.EnvironmentType, spec.InstanceUrl);
            switch (spec.Flow)
            {
                case AuthorizationFlow.Interactive:
                case AuthorizationFlow.DeviceCode:
                {
                    if (!spec.CanInteract)
                    {
                        throw InteractionRequired(spec.Flow);
                    }

                    var grant = new GrantMaterial
                    {
                        Flow = spec.Flow,
                        ClientId = string.IsNullOrWhiteSpace(spec.ClientId) ? WellKnownPublicClientId : spec.ClientId!.Trim(),
                        TenantId = string.IsNullOrWhiteSpace(spec.TenantId) ? null : spec.TenantId!.Trim(),
                        Username = string.IsNullOrWhiteSpace(spec.Username) ? null : spec.Username!.Trim(),
                    };
                    return await SignInUserAsync(target, grant, context, cancellationToken).ConfigureAwait(false);
                }

                case AuthorizationFlow.ClientSecret:
                case AuthorizationFlow.ClientCertificate:
                {
                    var grant = new GrantMaterial
                    {
                        Flow = spec.Flow,
                        ClientId = spec.ClientId?.Trim(),
                        TenantId = spec.TenantId?.Trim(),
                        ClientSecret = spec.Flow == AuthorizationFlow.ClientSecret ? spec.ClientSecret : null,
                        CertificatePath = spec.Flow == AuthorizationFlow.ClientCertificate ? spec.CertificatePath : null,
                        CertificateThumbprint = spec.Flow == AuthorizationFlow.ClientCertificate ? spec.CertificateThumbprint : null,
                        CertificatePassword = spec.Flow == AuthorizationFlow.ClientCertificate ? spec.CertificatePassword : null,
                    };
                    CheckClientCredentials(grant);
                    if (spec.Flow == AuthorizationFlow.ClientCertificate && spec.Certificate != null)
                    {
                        // The caller loaded and owns this certificate.
                        return await ClientCredentialsAsync(target, grant, spec.Certificate, context, cancellationToken).ConfigureAwait(false);
                    }

                    return await ClientCredentialsWithStoredCredentialAsync(target, grant, context, cancellationToken).ConfigureAwait(false);
                }

                case AuthorizationFlow.JwtBearer:
                    throw JwtBearerNotEntra();
                default:
                    throw new ArgumentOutOfRangeException(nameof(spec), spec.Flow, "Unknown authorization flow.");
            }
        }

        public async Task<AuthorizationOutcome> RefreshAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken)
        {
            if (target is null)
            {
                throw new ArgumentNullException(nameof(target));
            }

            if (grant is null)
            {
                throw new ArgumentNullException(nameof(grant));
            }

            CheckContext(context);
            switch (grant.Flow)
            {
                case AuthorizationFlow.Interactive:
                case AuthorizationFlow.DeviceCode:
                    return await RefreshUserAsync(target, grant, context, cancellationToken).ConfigureAwait(false);
                case AuthorizationFlow.ClientSecret:
                case AuthorizationFlow.ClientCertificate:
                    CheckClientCredentials(grant);
                    return await ClientCredentialsWithStoredCredentialAsync(target, grant.Clone(), context, cancellationToken).ConfigureAwait(false);
                case AuthorizationFlow.JwtBearer:
                    throw JwtBearerNotEntra();
                default:
                    throw new ArgumentOutOfRangeException(nameof(grant), grant.Flow, "Unknown authorization flow.");
            }
        }

        /// <summary>
        /// Entra ID has no endpoint that revokes one refresh token or one client-credentials grant (only all of a user's
        /// sessions, through Microsoft Graph, which these grants cannot call): nothing is sent and false is returned.
        /// </summary>
        public Task<bool> RevokeAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken)
        {
            if (target is null)
            {
                throw new ArgumentNullException(nameof(target));
            }

            if (grant is null)
            {
                throw new ArgumentNullException(nameof(grant));
            }

            CheckContext(context);
            context.Verbose("Entra ID: there is no revocation endpoint for this grant; it ends when it is no longer refreshed.");
            return Task.FromResult(false);
        }

        private static async Task<AuthorizationOutcome> SignInUserAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var result = await AcquireUserTokenAsync(target.EnvironmentType, grant, InstanceUrls.DataverseScope(target.InstanceUrl), context, cancellationToken).ConfigureAwait(false);
            var organizationId = await DataverseWhoAmI.OrganizationIdAsync(target.InstanceUrl, result.AccessToken, context, cancellationToken).ConfigureAwait(false);
            context.Verbose($"Entra ID: signed in as {grant.Username}; organization {organizationId}.");
            return new AuthorizationOutcome(organizationId, grant.Username ?? grant.AccountId!, grant, result.AccessToken);
        }

        private static async Task<AuthorizationOutcome> RefreshUserAsync(SystemTarget target, GrantMaterial stored, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var grant = stored.Clone();
            if (string.IsNullOrWhiteSpace(grant.ClientId))
            {
                grant.ClientId = WellKnownPublicClientId;
            }

            var cloud = CloudEndpoints.For(target.EnvironmentType);
            var authority = cloud.Authority(grant.TenantId ?? DefaultUserTenant);
            var scopes = new[] { InstanceUrls.DataverseScope(target.InstanceUrl) };
            var what = $"Entra ID ({cloud.AuthorityHost})";
            var slot = TokenCacheSlot.FromGrant(grant.TokenCache);
            var app = PublicClient(grant.ClientId!, authority, context, slot);
            context.Verbose($"Entra ID: refreshing the sign-in of {grant.Username} at {authority.AbsoluteUri} for {scopes[0]}.");

            var account = string.IsNullOrEmpty(grant.AccountId) ? null : await app.GetAccountAsync(grant.AccountId).ConfigureAwait(false);
            if (account is null)
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationNoGrant,
                    ErrorKind.ObjectNotFound,
                    "The stored grant holds no signed-in account to refresh. Nothing was sent.",
                    grant.Username,
                    "Authorize the connection again with Update-ConnectionAuthorization.");
            }

            var attempt = 0;
            AuthenticationResult result;
            try
            {
                result = await ProviderRetry.RunAsync(
                    token => WithTimeout(t => app.AcquireTokenSilent(scopes, account).WithForceRefresh(true).ExecuteAsync(t), context.RequestTimeout, token),
                    e => EntraErrors.RetryAfter(e, ++attempt),
                    what,
                    cancellationToken).ConfigureAwait(false);
            }
            catch (MsalUiRequiredException e) when (e.ErrorCode == MsalError.NoTokensFoundError || e.ErrorCode == MsalError.NoAccountForLoginHint)
            {
                throw new ProviderRefusedException(InactiveReason.Expired, $"{e.ErrorCode}: the stored token cache holds no refresh token", e);
            }
            catch (Exception e) when (EntraErrors.Translate(e, what, grant.ClientId!, grant.TenantId) is Exception translated)
            {
                throw translated;
            }

            if (slot.Changed)
            {
                grant.TokenCache = slot.ToBase64();
            }

            grant.Username = result.Account?.Username ?? account.Username ?? grant.Username;
            var organizationId = await DataverseWhoAmI.OrganizationIdAsync(target.InstanceUrl, result.AccessToken, context, cancellationToken).ConfigureAwait(false);
            context.Verbose($"Entra ID: refreshed the sign-in of {grant.Username}; organization {organizationId}.");
            return new AuthorizationOutcome(organizationId, grant.Username ?? grant.AccountId!, grant, result.AccessToken);
        }

        private static async Task<AuthorizationOutcome> ClientCredentialsWithStoredCredentialAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken)
        {
            if (grant.Flow == AuthorizationFlow.ClientSecret)
            {
                return await ClientCredentialsAsync(target, grant, null, context, cancellationToken).ConfigureAwait(false);
            }

            using (var certificate = CertificateLoader.Load(grant.CertificatePath, grant.CertificateThumbprint, grant.CertificatePassword))
            {
                return await ClientCredentialsAsync(target, grant, certificate, context, cancellationToken).ConfigureAwait(false);
            }
        }

        private static async Task<AuthorizationOutcome> ClientCredentialsAsync(SystemTarget target, GrantMaterial grant, X509Certificate2? certificate, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var cloud = CloudEndpoints.For(target.EnvironmentType);
            var authority = cloud.Authority(grant.TenantId!);
            var scopes = new[] { InstanceUrls.DataverseScope(target.InstanceUrl) };
            var what = $"Entra ID ({cloud.AuthorityHost})";
            var builder = ConfidentialClientApplicationBuilder.Create(grant.ClientId)
                .WithAuthority(authority)
                .WithHttpClientFactory(new MsalHttpClientFactory(context.Http), retryOnceOn5xx: false);
            builder = certificate != null ? builder.WithCertificate(certificate) : builder.WithClientSecret(grant.ClientSecret);
            var app = builder.Build();
            context.Verbose($"Entra ID: client credentials ({(certificate != null ? "certificate " + certificate.Thumbprint : "client secret")}) for app {grant.ClientId} at {authority.AbsoluteUri} for {scopes[0]}.");

            var attempt = 0;
            AuthenticationResult result;
            try
            {
                result = await ProviderRetry.RunAsync(
                    token => WithTimeout(t => app.AcquireTokenForClient(scopes).WithForceRefresh(true).ExecuteAsync(t), context.RequestTimeout, token),
                    e => EntraErrors.RetryAfter(e, ++attempt),
                    what,
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (EntraErrors.Translate(e, what, grant.ClientId!, grant.TenantId) is Exception translated)
            {
                throw translated;
            }

            var organizationId = await DataverseWhoAmI.OrganizationIdAsync(target.InstanceUrl, result.AccessToken, context, cancellationToken).ConfigureAwait(false);
            context.Verbose($"Entra ID: app {grant.ClientId} authorized; organization {organizationId}.");
            return new AuthorizationOutcome(organizationId, "app:" + grant.ClientId, grant, result.AccessToken);
        }

        private static IPublicClientApplication PublicClient(string clientId, Uri authority, AuthorizationContext context, TokenCacheSlot slot)
        {
            var app = PublicClientApplicationBuilder.Create(clientId)
                .WithAuthority(authority)
                .WithRedirectUri(RedirectUri)
                .WithHttpClientFactory(new MsalHttpClientFactory(context.Http), retryOnceOn5xx: false)
                .Build();
            slot.Attach(app.UserTokenCache);
            return app;
        }

        /// <summary>One MSAL token request, bounded by the context's request timeout; a timeout is a TimeoutException (retried).</summary>
        private static async Task<T> WithTimeout<T>(Func<CancellationToken, Task<T>> call, TimeSpan timeout, CancellationToken cancellationToken)
        {
            using (var perAttempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                perAttempt.CancelAfter(timeout);
                try
                {
                    return await call(perAttempt.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"no answer within {timeout.TotalSeconds:0} s", e);
                }
            }
        }

        private static void CheckContext(AuthorizationContext context)
        {
            if (context is null)
            {
                throw new ArgumentNullException(nameof(context));
            }
        }

        private static void CheckClientCredentials(GrantMaterial grant)
        {
            if (string.IsNullOrWhiteSpace(grant.TenantId))
            {
                throw InvalidFlow(
                    $"{grant.Flow} needs the tenant of the app registration: Entra ID client credentials cannot sign in to 'organizations'.",
                    "Give -TenantId (the directory id or a verified domain such as contoso.onmicrosoft.com).");
            }

            if (string.IsNullOrWhiteSpace(grant.ClientId))
            {
                throw InvalidFlow($"{grant.Flow} needs the app registration's client id.", "Give -ClientId (the app registration's Application (client) ID).");
            }

            if (grant.Flow == AuthorizationFlow.ClientSecret && string.IsNullOrEmpty(grant.ClientSecret))
            {
                throw InvalidFlow("ClientSecret needs the app registration's client secret.", "Give -ClientSecret, or use -CertificatePath for a certificate credential.");
            }
        }

        private static ConnectionToolsException InteractionRequired(AuthorizationFlow flow) => new ConnectionToolsException(
            ErrorIds.AuthorizationInteractionRequired,
            ErrorKind.InvalidOperation,
            $"The {(flow == AuthorizationFlow.Interactive ? "interactive" : "device code")} sign-in needs a person at the keyboard, and this session cannot prompt. Nothing was sent.",
            flow,
            "For unattended use, authorize with an app registration: -TenantId and -ClientId with -ClientSecret or -CertificatePath.");

        private static ConnectionToolsException JwtBearerNotEntra() => InvalidFlow(
            "JwtBearer is a Salesforce flow; Dynamics 365 (Entra ID) does not offer it.",
            "Use -TenantId and -ClientId with -CertificatePath (client credentials with a certificate) for an unattended Dynamics 365 grant.");

        private static ConnectionToolsException InvalidFlow(string message, string fix) =>
            new ConnectionToolsException(ErrorIds.AuthorizationInvalidFlow, ErrorKind.InvalidArgument, message + " Nothing was sent.", null, fix);
    }
}
