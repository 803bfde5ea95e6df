using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Salesforce
{
    /// <summary>
    /// Salesforce OAuth 2.0 on HttpClient: authorization code with PKCE through a loopback redirect (Interactive), the device
    /// flow (DeviceCode) and the JWT bearer flow (JwtBearer); refresh, revoke, and userinfo for the org's identity.
    /// Stateless and thread-safe. Every URL is built on the org's instance URL (My Domain) except the assertion's audience,
    /// which is the login host of the org's kind. Tokens, assertions, the code verifier and certificate passwords never appear
    /// in messages, verbose lines or ToString. One partial file per flow (Interactive, DeviceCode, JwtBearer), with the token
    /// answer (Identity), the HTTP exchange (Http) and the reading of errors (Errors) in files of their own.
    /// </summary>
    public sealed partial class SalesforceAuthorizer : ISystemAuthorizer
    {
        /// <summary>Scopes asked for in the interactive and device flows: the APIs, identity (userinfo) and a refresh token.</summary>
        public const string Scope = "api id refresh_token";

        /// <summary>Lifetime of a JWT bearer assertion; Salesforce accepts at most 3 minutes.</summary>
        public static readonly TimeSpan AssertionLifetime = TimeSpan.FromSeconds(150);

        private const string JwtBearerGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer";
        private const string TokenPath = "services/oauth2/token";
        private const string AuthorizePath = "services/oauth2/authorize";
        private const string UserInfoPath = "services/oauth2/userinfo";
        private const string RevokePath = "services/oauth2/revoke";

        private readonly string? _defaultClientId;

        /// <summary>A provider without a default consumer key: every spec must name its connected app (-ClientId).</summary>
        public SalesforceAuthorizer()
            : this(null)
        {
        }

        /// <param name="defaultClientId">Consumer key of the module's own connected app, used when a spec gives none.</param>
        public SalesforceAuthorizer(string? defaultClientId)
        {
            _defaultClientId = string.IsNullOrWhiteSpace(defaultClientId) ? null : defaultClientId;
        }

        /// <inheritdoc />
        public Task<AuthorizationOutcome> AuthorizeAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken)
        {
            if (spec is null)
            {
                throw new ArgumentNullException(nameof(spec));
            }

            if (context is null)
            {
                throw new ArgumentNullException(nameof(context));
            }

            if (spec.InstanceUrl is null)
            {
                throw new ArgumentException("The spec has no instance URL.", nameof(spec));
            }

            switch (spec.Flow)
            {
                case AuthorizationFlow.Interactive:
                    RequireInteraction(spec);
                    return InteractiveAsync(spec, context, cancellationToken);
                case AuthorizationFlow.DeviceCode:
                    RequireInteraction(spec);
                    return DeviceCodeAsync(spec, context, cancellationToken);
                case AuthorizationFlow.JwtBearer:
                    return JwtBearerAsync(spec, context, cancellationToken);
                default:
                    throw InvalidFlow(spec.Flow, spec.InstanceUrl);
            }
        }

        /// <inheritdoc />
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

            if (context is null)
            {
                throw new ArgumentNullException(nameof(context));
            }

            var instance = Root(target.InstanceUrl);
            var renewed = grant.Clone();
            switch (grant.Flow)
            {
                case AuthorizationFlow.Interactive:
                case AuthorizationFlow.DeviceCode:
                {
                    if (string.IsNullOrEmpty(grant.RefreshToken))
                    {
                        throw NoRefreshToken(instance);
                    }

                    var clientId = ClientIdOf(grant.ClientId, instance);
                    renewed.ClientId = clientId;
                    // Never sent twice blindly: under rotation a repeated refresh presents a used-up token and the grant is revoked.
                    var token = await PostTokenAsync(context, instance, "refresh_token", new[]
                    {
                        Pair("grant_type", "refresh_token"),
                        Pair("client_id", clientId),
                        Pair("refresh_token", grant.RefreshToken!),
                    }, cancellationToken, repeatable: false).ConfigureAwait(false);
                    return await CompleteAsync(context, instance, token, renewed, cancellationToken).ConfigureAwait(false);
                }

                case AuthorizationFlow.JwtBearer:
                {
                    RequireJwtInputs(grant.ClientId, grant.Username, instance);
                    using (var certificate = CertificateLoader.Load(grant.CertificatePath, grant.CertificateThumbprint, grant.CertificatePassword))
                    {
                        var token = await JwtBearerTokenAsync(context, target.Type, instance, certificate, grant.ClientId!, grant.Username!, cancellationToken).ConfigureAwait(false);
                        return await CompleteAsync(context, instance, token, renewed, cancellationToken).ConfigureAwait(false);
                    }
                }

                default:
                    throw InvalidFlow(grant.Flow, instance);
            }
        }

        /// <inheritdoc />
        public async Task<bool> RevokeAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken)
        {
            if (target is null)
            {
                throw new ArgumentNullException(nameof(target));
            }

            if (grant is null)
            {
                throw new ArgumentNullException(nameof(grant));
            }

            if (context is null)
            {
                throw new ArgumentNullException(nameof(context));
            }

            if (string.IsNullOrEmpty(grant.RefreshToken))
            {
                // JWT bearer grants hold no refresh token: there is nothing at Salesforce to revoke.
                return false;
            }

            var instance = Root(target.InstanceUrl);
            var url = new Uri(instance, RevokePath);
            var form = new List<KeyValuePair<string, string>> { Pair("token", grant.RefreshToken!), Pair("token_type_hint", "refresh_token") };
            var clientId = string.IsNullOrWhiteSpace(grant.ClientId) ? _defaultClientId : grant.ClientId!.Trim();
            if (clientId != null)
            {
                // RFC 7009 §2.1: a public client identifies itself with client_id, or a conformant server refuses the request.
                form.Add(Pair("client_id", clientId));
            }

            var (status, body) = await SendAsync(context, HttpMethod.Post, url, form.ToArray(), null, "revoke", false, cancellationToken).ConfigureAwait(false);
            if (status == 200)
            {
                return true;
            }

            var (error, description) = ReadError(body);
            var said = error is null ? $"HTTP {status}" : Said(error, description);
            throw new ConnectionToolsException(
                ErrorIds.AuthorizationProtocol,
                ErrorKind.InvalidOperation,
                $"Salesforce did not revoke the grant at {url.Host} ({said}); it may already have expired or been revoked.",
                url.Host,
                "Check the connected app's OAuth usage in Setup > Connected Apps OAuth Usage, and revoke the session there if it is still listed.");
        }

        private static void RequireInteraction(AuthorizationSpec spec)
        {
            if (spec.CanInteract)
            {
                return;
            }

            var flow = spec.Flow == AuthorizationFlow.DeviceCode ? "device-code" : "interactive (browser)";
            throw new ConnectionToolsException(
                ErrorIds.AuthorizationInteractionRequired,
                ErrorKind.InvalidOperation,
                $"The {flow} sign-in needs a person at the keyboard, and this session cannot prompt. Nothing was sent.",
                spec.InstanceUrl.Host,
                "For unattended runs use the JWT bearer flow: -ClientId <consumer key> -Username <user> -CertificatePath <pfx> (-CertificatePassword), or -CertificateThumbprint; or run the command in an interactive session.");
        }

        private string ClientIdOf(string? clientId, Uri instance)
        {
            if (!string.IsNullOrWhiteSpace(clientId))
            {
                return clientId!.Trim();
            }

            return _defaultClientId ?? throw new ConnectionToolsException(
                ErrorIds.AuthorizationInvalidClient,
                ErrorKind.InvalidArgument,
                $"No connected app was given for {instance.Host}. Nothing was sent.",
                instance.Host,
                "Give -ClientId with the consumer key of a connected app in the org, or set a node-wide default once: Set-ConnectionNode -SalesforceClientId <consumer key>. See about_ConnectionTools for the connected app's callback URL and scopes.");
        }

        private static Uri Root(Uri url) => new Uri(url.GetLeftPart(UriPartial.Authority) + "/");

        private static KeyValuePair<string, string> Pair(string name, string value) => new KeyValuePair<string, string>(name, value);
    }
}
