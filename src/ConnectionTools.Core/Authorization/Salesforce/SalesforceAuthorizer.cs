using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Peering;

namespace ConnectionTools.Authorization.Salesforce
{
    /// <summary>
    /// Salesforce OAuth 2.0 on HttpClient: authorization code with PKCE through a loopback redirect (Interactive), the device
    /// flow (DeviceCode) and the JWT bearer flow (JwtBearer); refresh, revoke, and userinfo for the org's identity.
    /// Stateless and thread-safe. Every URL is built on the org's instance URL (My Domain) except the assertion's audience,
    /// which is the login host of the org's kind. Tokens, assertions, the code verifier and certificate passwords never appear
    /// in messages, verbose lines or ToString.
    /// </summary>
    public sealed class SalesforceAuthorizer : ISystemAuthorizer
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
        private const int MaxProviderTextLength = 300;

        private static readonly HashSet<string> RefusalErrors = new HashSet<string>(StringComparer.Ordinal)
        {
            "invalid_grant", "access_denied", "inactive_user", "inactive_org", "invalid_app_access",
        };

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
            return await CompleteAsync(context, instance, token, grant, cancellationToken, requireRefreshToken: true).ConfigureAwait(false);
        }

        private async Task<AuthorizationOutcome> DeviceCodeAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var instance = Root(spec.InstanceUrl);
            var clientId = ClientIdOf(spec.ClientId, instance);
            var started = Stopwatch.StartNew();
            var device = await PostFormAsync(context, instance, "device_code", new[]
            {
                Pair("response_type", "device_code"),
                Pair("client_id", clientId),
                Pair("scope", Scope),
            }, false, cancellationToken).ConfigureAwait(false);
            var deviceCode = String(device, "device_code");
            var userCode = String(device, "user_code");
            var verification = String(device, "verification_uri");
            if (deviceCode is null || userCode is null || verification is null)
            {
                throw Protocol(instance, "the device code answer lacks device_code, user_code or verification_uri", null);
            }

            var interval = TimeSpan.FromSeconds(Math.Max(1, Number(device, "interval") ?? 5));
            var deadline = context.InteractionTimeout;
            if (Number(device, "expires_in") is long expiresIn && expiresIn > 0 && TimeSpan.FromSeconds(expiresIn) < deadline)
            {
                deadline = TimeSpan.FromSeconds(expiresIn);
            }

            context.ShowDeviceCode($"To sign in to Salesforce, open {verification} in a browser on any device and enter the code {userCode}.");
            context.Verbose($"Waiting for the device code to be approved at {instance.Host} (polling every {Seconds(interval)}, at most {Seconds(deadline)}).");
            var polls = 0;
            while (true)
            {
                if (started.Elapsed + interval > deadline)
                {
                    throw TimedOut(instance, deadline, "the device-code sign-in");
                }

                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                polls++;
                var url = new Uri(instance, TokenPath);
                var (status, body) = await SendAsync(context, HttpMethod.Post, url, new[]
                {
                    Pair("grant_type", "device"),
                    Pair("client_id", clientId),
                    Pair("code", deviceCode),
                }, null, "device", true, cancellationToken).ConfigureAwait(false);
                if (status == 200)
                {
                    context.Verbose($"POST {url.AbsoluteUri} (device) → 200 after {polls} polls in {Seconds(started.Elapsed)}.");
                    var grant = new GrantMaterial { Flow = AuthorizationFlow.DeviceCode, ClientId = clientId };
                    return await CompleteAsync(context, instance, ParseObject(body, instance), grant, cancellationToken, requireRefreshToken: true).ConfigureAwait(false);
                }

                var (error, description) = ReadError(body);
                switch (error)
                {
                    case "authorization_pending":
                        continue;
                    case "slow_down":
                        interval += TimeSpan.FromSeconds(5);
                        context.Verbose($"Salesforce asked to poll more slowly: every {Seconds(interval)} from now on.");
                        continue;
                    case "access_denied":
                        throw new ConnectionToolsException(
                            ErrorIds.AuthorizationDeclined,
                            ErrorKind.PermissionDenied,
                            $"The device-code sign-in was declined at Salesforce ({Said(error, description)}). Nothing was stored.",
                            instance.Host,
                            "Run the command again and choose Allow after entering the code.");
                    case "expired_token":
                        throw TimedOut(instance, started.Elapsed, "the device-code sign-in");
                    case "invalid_grant" when (description ?? "").IndexOf("expired", StringComparison.OrdinalIgnoreCase) >= 0:
                        throw TimedOut(instance, started.Elapsed, "the device-code sign-in");
                    default:
                        throw TokenError(status, error, description, url);
                }
            }
        }

        private async Task<AuthorizationOutcome> JwtBearerAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var instance = Root(spec.InstanceUrl);
            RequireJwtInputs(spec.ClientId, spec.Username, instance);
            var given = spec.Certificate;
            var certificate = given ?? CertificateLoader.Load(spec.CertificatePath, spec.CertificateThumbprint, spec.CertificatePassword);
            try
            {
                if (given != null)
                {
                    CertificateLoader.EnsurePrivateKey(given, spec.CertificatePath ?? spec.CertificateThumbprint);
                }

                var grant = new GrantMaterial
                {
                    Flow = AuthorizationFlow.JwtBearer,
                    ClientId = spec.ClientId,
                    Username = spec.Username,
                    CertificatePath = spec.CertificatePath,
                    CertificateThumbprint = spec.CertificateThumbprint ?? (spec.CertificatePath is null ? certificate.Thumbprint : null),
                    CertificatePassword = spec.CertificatePassword,
                };
                var token = await JwtBearerTokenAsync(context, spec.Type, instance, certificate, spec.ClientId!, spec.Username!, cancellationToken).ConfigureAwait(false);
                return await CompleteAsync(context, instance, token, grant, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (given is null)
                {
                    certificate.Dispose();
                }
            }
        }

        private static Task<JsonElement> JwtBearerTokenAsync(AuthorizationContext context, ConnectionType type, Uri instance, X509Certificate2 certificate, string clientId, string username, CancellationToken cancellationToken)
        {
            var audience = InstanceUrls.SalesforceAudience(type);
            var assertion = SalesforceJwt.CreateAssertion(certificate, clientId, username, audience, DateTimeOffset.UtcNow, AssertionLifetime);
            return PostTokenAsync(context, instance, "jwt-bearer", new[]
            {
                Pair("grant_type", JwtBearerGrantType),
                Pair("assertion", assertion),
            }, cancellationToken);
        }

        /// <summary>Reads the token answer, then userinfo at the instance_url it names, and builds the outcome.</summary>
        private static async Task<AuthorizationOutcome> CompleteAsync(AuthorizationContext context, Uri instance, JsonElement token, GrantMaterial grant, CancellationToken cancellationToken, bool requireRefreshToken = false)
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

        /// <summary>RFC 9207: the issuer is the org's own host, or the login host of its kind (login.salesforce.com, test.salesforce.com).</summary>
        private static bool IsExpectedIssuer(string issuer, Uri instance, ConnectionType type)
        {
            if (!Uri.TryCreate(issuer, UriKind.Absolute, out var url) || !string.IsNullOrEmpty(url.UserInfo) || url.AbsolutePath.Trim('/').Length > 0 || !string.IsNullOrEmpty(url.Query))
            {
                return false;
            }

            bool Same(Uri a, Uri b) => string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;
            return Same(url, instance) || (Uri.TryCreate(InstanceUrls.SalesforceAudience(type), UriKind.Absolute, out var login) && Same(url, login));
        }

        private static async Task<JsonElement> PostTokenAsync(AuthorizationContext context, Uri instance, string label, KeyValuePair<string, string>[] form, CancellationToken cancellationToken, bool repeatable = true)
        {
            var token = await PostFormAsync(context, instance, label, form, false, cancellationToken, repeatable).ConfigureAwait(false);
            if (string.IsNullOrEmpty(String(token, "access_token")))
            {
                throw Protocol(instance, "the token answer has no access_token", null);
            }

            return token;
        }

        /// <summary>POSTs a form to the token endpoint; the JSON object on 200, else the mapped error.</summary>
        private static async Task<JsonElement> PostFormAsync(AuthorizationContext context, Uri instance, string label, KeyValuePair<string, string>[] form, bool quiet, CancellationToken cancellationToken, bool repeatable = true)
        {
            var url = new Uri(instance, TokenPath);
            var (status, body) = await SendAsync(context, HttpMethod.Post, url, form, null, label, quiet, cancellationToken, repeatable).ConfigureAwait(false);
            if (status != 200)
            {
                var (error, description) = ReadError(body);
                throw TokenError(status, error, description, url);
            }

            return ParseObject(body, instance);
        }

        /// <summary>One HTTP exchange through <see cref="ProviderRetry"/>; verbose says method, URL, grant, status and time, nothing more.</summary>
        private static async Task<(int Status, string Body)> SendAsync(AuthorizationContext context, HttpMethod method, Uri url, KeyValuePair<string, string>[]? form, string? bearer, string label, bool quiet, CancellationToken cancellationToken, bool repeatable = true)
        {
            var attempts = 0;
            var watch = Stopwatch.StartNew();
            HttpRequestMessage Make()
            {
                attempts++;
                var request = new HttpRequestMessage(method, url);
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                if (form != null)
                {
                    request.Content = new FormUrlEncodedContent(form);
                }

                if (bearer != null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
                }

                return request;
            }

            using (var response = await ProviderRetry.SendAsync(context.Http, Make, context.RequestTimeout, $"Salesforce ({url.Host})", repeatable, cancellationToken).ConfigureAwait(false))
            {
                var body = response.Content is null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (!quiet)
                {
                    var tries = attempts > 1 ? $", {attempts} attempts" : "";
                    context.Verbose($"{method.Method} {url.AbsoluteUri} ({label}) → {status} in {watch.ElapsedMilliseconds.ToString(CultureInfo.InvariantCulture)} ms{tries}");
                }

                if (status >= 500)
                {
                    // The provider failed to answer, which says nothing about the grant: never a refusal.
                    throw ProviderRetry.Unavailable($"Salesforce ({url.Host})", $"HTTP {status} after {attempts} attempts", mayHaveArrived: true);
                }

                return (status, body);
            }
        }

        private static Exception TokenError(int status, string? error, string? description, Uri url)
        {
            if (error is null)
            {
                return Protocol(url, $"the token endpoint answered HTTP {status} without an OAuth error", null);
            }

            var said = Said(error, description);
            if (error == "invalid_client_id" || error == "invalid_client")
            {
                return new ConnectionToolsException(
                    ErrorIds.AuthorizationInvalidClient,
                    ErrorKind.InvalidArgument,
                    $"Salesforce at {url.Host} does not accept the connected app ({said}). Nothing was stored.",
                    url.Host,
                    "Check that -ClientId is the connected app's consumer key and that the app is available in this org (a new connected app can take up to 10 minutes to work).");
            }

            if (RefusalErrors.Contains(error))
            {
                return new ProviderRefusedException(AuthorizationFailures.ClassifySalesforce(error, description), said);
            }

            return Protocol(url, $"the token endpoint answered HTTP {status} ({said})", null);
        }

        private static Exception RedirectError(Uri instance, string error, string? description)
        {
            if (error == "invalid_client_id" || error == "invalid_client")
            {
                return TokenError(400, error, description, instance);
            }

            return Protocol(instance, $"the sign-in ended with an error ({Said(error, description)})", null);
        }

        private static ConnectionToolsException Protocol(Uri url, string what, string? fix) => new ConnectionToolsException(
            ErrorIds.AuthorizationProtocol,
            ErrorKind.InvalidData,
            $"Salesforce at {url.Host} gave an unexpected answer: {what}. Nothing was stored.",
            url.Host,
            fix ?? "Run the command again; if it keeps failing, check the connected app's settings and Salesforce's status.");

        private static ConnectionToolsException TimedOut(Uri instance, TimeSpan waited, string what) => new ConnectionToolsException(
            ErrorIds.AuthorizationTimedOut,
            ErrorKind.OperationTimeout,
            $"No one completed {what} for {instance.Host} within {Seconds(waited)}. Nothing was stored.",
            instance.Host,
            "Run the command again and finish the sign-in sooner, or use the JWT bearer flow for unattended runs.");

        private static ConnectionToolsException InvalidFlow(AuthorizationFlow flow, Uri instance) => new ConnectionToolsException(
            ErrorIds.AuthorizationInvalidFlow,
            ErrorKind.InvalidArgument,
            $"Salesforce connections cannot use the {flow} flow; ClientSecret and ClientCertificate are for Dynamics 365 (Entra ID). Nothing was sent.",
            instance.Host,
            "Use -Flow Interactive, DeviceCode, or JwtBearer (-ClientId -Username -CertificatePath) for Salesforce.");

        private static ConnectionToolsException NoRefreshToken(Uri instance) => new ConnectionToolsException(
            ErrorIds.AuthorizationNoGrant,
            ErrorKind.InvalidData,
            $"The stored grant for {instance.Host} has no refresh token, so it cannot be renewed. Nothing was sent.",
            instance.Host,
            "Authorize the connection again with Update-ConnectionAuthorization.");

        private static void RequireJwtInputs(string? clientId, string? username, Uri instance)
        {
            if (string.IsNullOrWhiteSpace(clientId) || string.IsNullOrWhiteSpace(username))
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationInvalidFlow,
                    ErrorKind.InvalidArgument,
                    "The JWT bearer flow needs the connected app's consumer key and the Salesforce username the assertion names. Nothing was sent.",
                    instance.Host,
                    "Give -ClientId <consumer key> -Username <user> with -CertificatePath <pfx> or -CertificateThumbprint.");
            }
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

        private static Uri Root(Uri url) => new Uri(url.GetLeftPart(UriPartial.Authority) + "/");

        private static KeyValuePair<string, string> Pair(string name, string value) => new KeyValuePair<string, string>(name, value);

        private static JsonElement ParseObject(string body, Uri url)
        {
            try
            {
                using (var document = JsonDocument.Parse(body))
                {
                    if (document.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        throw Protocol(url, "the answer is not a JSON object", null);
                    }

                    return document.RootElement.Clone();
                }
            }
            catch (JsonException)
            {
                throw Protocol(url, "the answer is not JSON", null);
            }
        }

        /// <summary>error and error_description of an OAuth error body; (null, null) when the body is not one.</summary>
        private static (string? Error, string? Description) ReadError(string body)
        {
            try
            {
                using (var document = JsonDocument.Parse(body))
                {
                    var root = document.RootElement;
                    if (root.ValueKind != JsonValueKind.Object)
                    {
                        return (null, null);
                    }

                    return (Clip(String(root, "error")), Clip(String(root, "error_description")));
                }
            }
            catch (JsonException)
            {
                return (null, null);
            }
        }

        /// <summary>"errorCode: message" of a REST API error body ([{"message":…,"errorCode":…}]), or null.</summary>
        private static string? ReadApiError(string body)
        {
            try
            {
                using (var document = JsonDocument.Parse(body))
                {
                    var root = document.RootElement;
                    if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0)
                    {
                        root = root[0];
                    }

                    if (root.ValueKind != JsonValueKind.Object)
                    {
                        return null;
                    }

                    var code = Clip(String(root, "errorCode") ?? String(root, "error"));
                    var message = Clip(String(root, "message") ?? String(root, "error_description"));
                    return code is null ? message : Said(code, message);
                }
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private static string Said(string error, string? description) => string.IsNullOrEmpty(description) ? error : $"{error}: {description}";

        /// <summary>Provider texts go into messages: keep them short and on one line.</summary>
        private static string? Clip(string? text)
        {
            if (text is null)
            {
                return null;
            }

            var builder = new StringBuilder(Math.Min(text.Length, MaxProviderTextLength));
            foreach (var c in text)
            {
                if (builder.Length >= MaxProviderTextLength)
                {
                    builder.Append('…');
                    break;
                }

                builder.Append(char.IsControl(c) ? ' ' : c);
            }

            return builder.ToString();
        }

        private static string? String(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        private static long? Number(JsonElement element, string name)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value))
            {
                return null;
            }

            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
            {
                return number;
            }

            return value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : (long?)null;
        }

        private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s";
    }
}
