using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ConnectionTools.Emulators;

/// <summary>Which AADSTS error the next refresh of an expired grant answers.</summary>
public enum EntraExpiryReason
{
    /// <summary>AADSTS700082: the refresh token has expired due to inactivity.</summary>
    Inactivity,

    /// <summary>AADSTS70043: the refresh token has expired or is invalid due to sign-in frequency checks by Conditional Access.</summary>
    SignInFrequency,
}

/// <summary>
/// Loopback emulator of the Microsoft identity platform v2.0 (OIDC metadata, authorize, token, devicecode) and the
/// Dataverse Web API WhoAmI, over HTTPS with a self-signed certificate made at run time (<see cref="ServerCertificate"/>).
/// </summary>
public sealed partial class EntraEmulator : EmulatorHost
{
    private sealed class Client(string clientId, string? secret, X509Certificate2? certificate)
    {
        public string ClientId { get; } = clientId;
        public string? Secret { get; } = secret;
        public X509Certificate2? Certificate { get; } = certificate;
        public Guid ApplicationUserId { get; } = Guid.NewGuid();
    }

    private sealed class Grant(string clientId, string? username, string resource) : IEmulatorGrant
    {
        public string ClientId { get; } = clientId;
        public string? Username { get; } = username;
        public string Resource { get; } = resource;
        public bool Revoked { get; set; }
        public EntraExpiryReason? Expired { get; set; }
    }

    private sealed record AccessToken(Grant Grant, string Resource, DateTimeOffset ExpiresAt);

    private sealed class DeviceCode(string clientId, string scope, string userCode, DateTimeOffset expiresAt)
    {
        public string ClientId { get; } = clientId;
        public string Scope { get; } = scope;
        public string UserCode { get; } = userCode;
        public DateTimeOffset ExpiresAt { get; } = expiresAt;
        public string? ApprovedUser { get; set; }
        public bool Declined { get; set; }
        public bool Redeemed { get; set; }
    }

    private sealed record PendingCode(string ClientId, string RedirectUri, string Username, string CodeChallenge, string Scope, DateTimeOffset ExpiresAt);

    private static readonly HashSet<string> OidcScopes = new(StringComparer.OrdinalIgnoreCase) { "openid", "profile", "offline_access", "email" };

    private readonly Dictionary<string, Client> _clients = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Guid> _users = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _resources = new(StringComparer.OrdinalIgnoreCase);
    private readonly GrantBook<Grant, AccessToken> _grants = new(a => a.Grant);
    private readonly Dictionary<string, DeviceCode> _deviceCodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PendingCode> _codes = new(StringComparer.Ordinal);
    private readonly RSA _signingKey = RSA.Create(2048);
    private readonly string _signingKeyId = Jws.NewToken(8);
    private Guid _organizationId = Guid.NewGuid();
    private readonly Dictionary<string, Guid> _organizationsByHost = new(StringComparer.OrdinalIgnoreCase);
    private readonly Guid _businessUnitId = Guid.NewGuid();
    private string? _authorizeUser;
    private TimeSpan _accessTokenLifetime = TimeSpan.FromHours(1);

    /// <param name="tenantId">Directory (tenant) id; the token endpoints accept it (or <see cref="TenantDomain"/>).</param>
    /// <param name="seed">Seed of the Random that picks 429 answers.</param>
    public EntraEmulator(Guid? tenantId = null, int seed = 4242) : this(tenantId ?? Guid.NewGuid(), seed, CreateServerCertificate())
    {
    }

    private EntraEmulator(Guid tenantId, int seed, X509Certificate2 certificate) : base(seed, certificate)
    {
        TenantId = tenantId;
        ServerCertificate = certificate;
    }

    /// <summary>Starts a new emulator.</summary>
    public static async Task<EntraEmulator> StartNewAsync(Guid? tenantId = null, int seed = 4242, CancellationToken cancellationToken = default)
    {
        var emulator = new EntraEmulator(tenantId, seed);
        try
        {
            await emulator.StartAsync(cancellationToken);
            return emulator;
        }
        catch
        {
            await emulator.DisposeAsync();
            throw;
        }
    }

    /// <summary>Self-signed RSA 2048 certificate (SAN 127.0.0.1, localhost) that Kestrel serves. Trust it in tests.</summary>
    public X509Certificate2 ServerCertificate { get; }

    public Guid TenantId { get; }

    /// <summary>Also accepted in place of the tenant id.</summary>
    public string TenantDomain { get; set; } = "contoso.onmicrosoft.com";

    /// <summary>Seconds the device code response tells clients to wait between polls (default 1, to keep tests fast).</summary>
    public int DeviceCodeInterval { get; set; } = 1;

    /// <summary>Lifetime of device codes.</summary>
    public TimeSpan DeviceCodeLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Lifetime of access tokens issued from now on (expires_in).</summary>
    public TimeSpan AccessTokenLifetime
    {
        get { lock (StateGate) { return _accessTokenLifetime; } }
        set { lock (StateGate) { _accessTokenLifetime = value; } }
    }

    public Guid OrganizationId
    {
        get { lock (StateGate) { return _organizationId; } }
    }

    public Guid BusinessUnitId => _businessUnitId;

    /// <summary>Authority for MSAL: https://127.0.0.1:port/{tenant}/</summary>
    public Uri Authority => new(BaseUri, TenantId.ToString("D") + "/");
    public Uri TokenEndpoint => TokenEndpointFor(TenantId.ToString("D"));
    public Uri DeviceCodeEndpoint => new(BaseUri, $"{TenantId:D}/oauth2/v2.0/devicecode");
    public Uri AuthorizeEndpoint => new(BaseUri, $"{TenantId:D}/oauth2/v2.0/authorize");
    public Uri OpenIdConfigurationEndpoint => new(BaseUri, $"{TenantId:D}/v2.0/.well-known/openid-configuration");

    /// <summary>The Dataverse Web API root of this emulator (WhoAmI lives at api/data/v9.2/WhoAmI).</summary>
    public Uri DataverseUri => BaseUri;
    public Uri WhoAmIEndpoint => new(BaseUri, "api/data/v9.2/WhoAmI");

    private Uri TokenEndpointFor(string tenant) => new(BaseUri, $"{tenant}/oauth2/v2.0/token");

    /// <summary>The root the client addressed: https://login.microsoftonline.us when a ProviderHostRouter kept the real host, else <see cref="BaseUri"/>.</summary>
    private string OriginOf(HttpContext context) =>
        $"{BaseUri.Scheme}://{(context.Request.Host.HasValue ? context.Request.Host.Value : BaseUri.Authority)}";

    private readonly HashSet<string> _authorityHosts = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Restricts the sign-in endpoints (everything but the Dataverse API) to these hosts, for example login.microsoftonline.us:
    /// a request that reached the emulator under another host name is answered 421 Misdirected Request. Empty (the default): any host.
    /// Loopback requests (127.0.0.1, localhost) are always accepted.
    /// </summary>
    public void AcceptAuthorityHosts(params string[] hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        lock (StateGate)
        {
            _authorityHosts.Clear();
            _authorityHosts.UnionWith(hosts);
        }
    }

    private bool IsAcceptedAuthorityHost(string host)
    {
        if (host is "127.0.0.1" or "localhost" or "[::1]" or "")
        {
            return true;
        }
        lock (StateGate)
        {
            return _authorityHosts.Count == 0 || _authorityHosts.Contains(host);
        }
    }

    /// <summary>Makes the RSA 2048 self-signed loopback certificate.</summary>
    public static X509Certificate2 CreateServerCertificate()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=ConnectionTools Emulator", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Round-trip through PFX so the key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    /// <summary>Validation callback for HttpClientHandler.ServerCertificateCustomValidationCallback that trusts only this emulator's certificate.</summary>
    public bool IsTrusted(X509Certificate2? certificate) =>
        certificate is not null && certificate.RawData.AsSpan().SequenceEqual(ServerCertificate.RawData);

    /// <summary>An HttpClientHandler that trusts this emulator's certificate (and nothing else self-signed).</summary>
    public HttpClientHandler CreateTrustingHandler() => new()
    {
        ServerCertificateCustomValidationCallback = (_, cert, _, errors) => errors == System.Net.Security.SslPolicyErrors.None || IsTrusted(cert),
    };

    /// <summary>Registers an app registration: confidential with a secret and/or a certificate, or public with neither.</summary>
    public void RegisterClient(string clientId, string? clientSecret = null, X509Certificate2? certificate = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        lock (StateGate) { _clients[clientId] = new Client(clientId, clientSecret, certificate); }
    }

    /// <summary>Registers a resource (e.g. "https://contoso.crm.dynamics.com"); scopes must name a registered resource.</summary>
    public void RegisterResource(string resource)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(resource);
        lock (StateGate) { _resources.Add(resource.TrimEnd('/')); }
    }

    /// <summary>Registers a user and returns its object id. The first one is the user the authorize endpoint signs in.</summary>
    public Guid RegisterUser(string username)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(username);
        lock (StateGate)
        {
            if (!_users.TryGetValue(username, out var id))
            {
                id = Guid.NewGuid();
                _users[username] = id;
                _authorizeUser ??= username;
            }
            return id;
        }
    }

    /// <summary>Approves a pending device code (as the user entering the user code at the verification page).</summary>
    public bool ApproveDeviceCode(string userCode, string username)
    {
        RegisterUser(username);
        lock (StateGate)
        {
            var entry = _deviceCodes.Values.FirstOrDefault(d => string.Equals(d.UserCode, userCode, StringComparison.OrdinalIgnoreCase));
            if (entry is null || entry.ExpiresAt < DateTimeOffset.UtcNow)
            {
                return false;
            }
            entry.ApprovedUser = username;
            return true;
        }
    }

    /// <summary>User codes issued and neither redeemed, declined nor expired (what a person could still enter at the verification page).</summary>
    public IReadOnlyList<string> PendingUserCodes
    {
        get
        {
            lock (StateGate)
            {
                var now = DateTimeOffset.UtcNow;
                return _deviceCodes.Values.Where(d => !d.Redeemed && !d.Declined && d.ApprovedUser is null && d.ExpiresAt >= now).Select(d => d.UserCode).ToList();
            }
        }
    }

    /// <summary>Declines a pending device code (authorization_declined).</summary>
    public bool DeclineDeviceCode(string userCode)
    {
        lock (StateGate)
        {
            var entry = _deviceCodes.Values.FirstOrDefault(d => string.Equals(d.UserCode, userCode, StringComparison.OrdinalIgnoreCase));
            if (entry is null)
            {
                return false;
            }
            entry.Declined = true;
            return true;
        }
    }

    /// <summary>Test helper: issues an authorization code as if the user signed in and consented.</summary>
    public string CreateAuthorizationCode(string clientId, string redirectUri, string username, string codeChallenge, string scope)
    {
        RegisterUser(username);
        var code = "0.A" + Jws.NewToken(32);
        lock (StateGate)
        {
            _codes[code] = new PendingCode(clientId, redirectUri, username, codeChallenge, scope, DateTimeOffset.UtcNow.AddMinutes(10));
        }
        return code;
    }

    /// <summary>Revokes the grant holding this refresh or access token. Its next refresh answers AADSTS50173.</summary>
    public bool RevokeGrant(string token)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        lock (StateGate)
        {
            return _grants.Revoke(token);
        }
    }

    /// <summary>Revokes every grant of a user (e.g. the user's sessions were revoked or the password changed).</summary>
    public int RevokeGrantsForUser(string username)
    {
        lock (StateGate)
        {
            return _grants.RevokeForUser(username);
        }
    }

    /// <summary>Expires every grant issued so far: access tokens stop working and the next refresh answers
    /// AADSTS700082 (<see cref="EntraExpiryReason.Inactivity"/>) or AADSTS70043 (<see cref="EntraExpiryReason.SignInFrequency"/>).</summary>
    public void ExpireTokens(EntraExpiryReason reason = EntraExpiryReason.Inactivity)
    {
        lock (StateGate)
        {
            foreach (var g in _grants.AllGrants())
            {
                g.Expired = reason;
            }
        }
    }

    /// <summary>WhoAmI reports this OrganizationId from now on.</summary>
    /// <summary>
    /// Gives one environment host its own OrganizationId, so one emulator can stand for many environments (each still
    /// registered with <see cref="RegisterResource"/>). Hosts without one answer <see cref="OrganizationId"/>.
    /// </summary>
    public void SetOrganizationIdForHost(string host, Guid organizationId)
    {
        lock (StateGate)
        {
            _organizationsByHost[host] = organizationId;
        }
    }

    public void ChangeOrganizationId(Guid organizationId)
    {
        lock (StateGate) { _organizationId = organizationId; }
    }

    protected override bool IsThrottled(string path) =>
        path.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal) ||
        path.EndsWith("/oauth2/v2.0/devicecode", StringComparison.Ordinal) ||
        path.StartsWith("/api/data/", StringComparison.Ordinal);

    protected override bool IsTokenCall(string path) => path.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal);

    protected override Task HandleCoreAsync(HttpContext context, string path, IFormCollection form)
    {
        if (path.Equals("/api/data/v9.2/WhoAmI", StringComparison.OrdinalIgnoreCase) ||
            path.Equals("/api/data/v9.2/WhoAmI()", StringComparison.OrdinalIgnoreCase))
        {
            return WhoAmIAsync(context);
        }
        if (path.Equals("/api/data/v9.2/incidents", StringComparison.OrdinalIgnoreCase)) { return IncidentsAsync(context); }
        // Retrieval's notes pass filters on createdon; a case's notes (the writer's reader) on _objectid_value, answered with the writes.
        if (path.Equals("/api/data/v9.2/annotations", StringComparison.OrdinalIgnoreCase) && HttpMethods.IsGet(context.Request.Method) &&
            context.Request.Query["$filter"].ToString().Contains("createdon", StringComparison.Ordinal))
        {
            return NotesSinceAsync(context);
        }
        if (IsIncidentWritePath(path)) { return IncidentWritesAsync(context, path); }
        if (IsDiscoveryPath(path)) { return DiscoveryInstancesAsync(context); }
        if (!IsAcceptedAuthorityHost(context.Request.Host.Host))
        {
            return WriteJsonAsync(context, 421, new { error = "misdirected_request", error_description = $"This emulator does not serve the authority host '{context.Request.Host.Host}'." });
        }
        if (path.Equals("/common/discovery/instance", StringComparison.OrdinalIgnoreCase))
        {
            return InstanceDiscoveryAsync(context);
        }
        var segments = path.Trim('/').Split('/');
        if (segments.Length < 2)
        {
            return WriteJsonAsync(context, 404, new { error = "not_found" });
        }
        var tenant = segments[0];
        var rest = string.Join('/', segments.Skip(1));
        return rest switch
        {
            "v2.0/.well-known/openid-configuration" => OpenIdConfigurationAsync(context, tenant),
            "discovery/v2.0/keys" => KeysAsync(context),
            "oauth2/v2.0/token" when HttpMethods.IsPost(context.Request.Method) => TokenAsync(context, tenant, form),
            "oauth2/v2.0/devicecode" when HttpMethods.IsPost(context.Request.Method) => DeviceCodeAsync(context, tenant, form),
            "oauth2/v2.0/authorize" when HttpMethods.IsGet(context.Request.Method) => AuthorizeAsync(context, tenant),
            _ => WriteJsonAsync(context, 404, new { error = "not_found" }),
        };
    }

    private bool IsKnownTenant(string tenant, bool allowMultiTenant) =>
        string.Equals(tenant, TenantId.ToString("D"), StringComparison.OrdinalIgnoreCase) ||
        string.Equals(tenant, TenantDomain, StringComparison.OrdinalIgnoreCase) ||
        (allowMultiTenant && (tenant is "common" or "organizations"));

    private Task OpenIdConfigurationAsync(HttpContext context, string tenant)
    {
        if (!IsKnownTenant(tenant, allowMultiTenant: true))
        {
            return AadstsAsync(context, 400, "invalid_tenant", 90002, $"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.");
        }
        var b = OriginOf(context);
        var tid = tenant is "common" or "organizations" ? "{tenantid}" : TenantId.ToString("D");
        return WriteJsonAsync(context, 200, new Dictionary<string, object?>
        {
            ["token_endpoint"] = $"{b}/{tenant}/oauth2/v2.0/token",
            ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_post", "private_key_jwt", "client_secret_basic" },
            ["jwks_uri"] = $"{b}/{tenant}/discovery/v2.0/keys",
            ["response_modes_supported"] = new[] { "query", "fragment", "form_post" },
            ["subject_types_supported"] = new[] { "pairwise" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            ["response_types_supported"] = new[] { "code", "id_token", "code id_token", "id_token token" },
            ["scopes_supported"] = new[] { "openid", "profile", "email", "offline_access" },
            ["issuer"] = $"{b}/{tid}/v2.0",
            ["request_uri_parameter_supported"] = false,
            ["userinfo_endpoint"] = $"{b}/oidc/userinfo",
            ["authorization_endpoint"] = $"{b}/{tenant}/oauth2/v2.0/authorize",
            ["device_authorization_endpoint"] = $"{b}/{tenant}/oauth2/v2.0/devicecode",
            ["http_logout_supported"] = true,
            ["frontchannel_logout_supported"] = true,
            ["end_session_endpoint"] = $"{b}/{tenant}/oauth2/v2.0/logout",
            ["claims_supported"] = new[] { "sub", "iss", "aud", "exp", "iat", "nonce", "preferred_username", "name", "tid", "ver", "oid" },
            ["kerberos_endpoint"] = $"{b}/{tenant}/kerberos",
            ["tenant_region_scope"] = "NA",
            ["cloud_instance_name"] = "microsoftonline.com",
            ["cloud_graph_host_name"] = "graph.windows.net",
            ["msgraph_host"] = "graph.microsoft.com",
            ["rbac_url"] = "https://pas.windows.net",
        });
    }

    private Task InstanceDiscoveryAsync(HttpContext context)
    {
        // Answers for the host the client asked (login.microsoftonline.us behind a ProviderHostRouter), as Entra ID does per cloud.
        var origin = OriginOf(context);
        var host = new Uri(origin).Authority;
        var tenant = TenantId.ToString("D");
        return WriteJsonAsync(context, 200, new Dictionary<string, object?>
        {
            ["tenant_discovery_endpoint"] = $"{origin}/{tenant}/v2.0/.well-known/openid-configuration",
            ["api-version"] = "1.1",
            ["metadata"] = new[] { new { preferred_network = host, preferred_cache = host, aliases = new[] { host } } },
        });
    }

    private Task KeysAsync(HttpContext context)
    {
        var p = _signingKey.ExportParameters(false);
        return WriteJsonAsync(context, 200, new
        {
            keys = new[] { new { kty = "RSA", use = "sig", kid = _signingKeyId, n = Jws.Base64UrlEncode(p.Modulus!), e = Jws.Base64UrlEncode(p.Exponent!) } },
        });
    }

    /// <summary>Writes an error in the published AADSTS JSON shape.</summary>
    private static Task AadstsAsync(HttpContext context, int status, string error, int code, string message, string? suberror = null)
    {
        var now = DateTimeOffset.UtcNow;
        var trace = Guid.NewGuid();
        var correlation = Guid.NewGuid();
        var body = new Dictionary<string, object?>
        {
            ["error"] = error,
            ["error_description"] = $"AADSTS{code}: {message} Trace ID: {trace:D} Correlation ID: {correlation:D} Timestamp: {now.ToString("yyyy-MM-dd HH:mm:ssZ", CultureInfo.InvariantCulture)}",
            ["error_codes"] = new[] { code },
            ["timestamp"] = now.ToString("yyyy-MM-dd HH:mm:ssZ", CultureInfo.InvariantCulture),
            ["trace_id"] = trace.ToString("D"),
            ["correlation_id"] = correlation.ToString("D"),
            ["error_uri"] = $"https://login.microsoftonline.com/error?code={code}",
        };
        if (suberror is not null)
        {
            body["suberror"] = suberror;
        }
        return WriteJsonAsync(context, status, body);
    }

    private Task AuthorizeAsync(HttpContext context, string tenant)
    {
        var q = context.Request.Query;
        var clientId = q["client_id"].ToString();
        string? user;
        bool known;
        lock (StateGate)
        {
            known = _clients.ContainsKey(clientId);
            user = string.IsNullOrEmpty(q["login_hint"]) ? _authorizeUser : q["login_hint"].ToString();
        }
        if (!IsKnownTenant(tenant, allowMultiTenant: true))
        {
            return AadstsAsync(context, 400, "invalid_tenant", 90002, $"Tenant '{tenant}' not found.");
        }
        if (!known)
        {
            return AadstsAsync(context, 400, "unauthorized_client", 700016, $"Application with identifier '{clientId}' was not found in the directory '{TenantDomain}'.");
        }
        if (!Uri.TryCreate(q["redirect_uri"].ToString(), UriKind.Absolute, out var redirect))
        {
            return AadstsAsync(context, 400, "invalid_request", 50011, "The redirect URI specified in the request does not match the redirect URIs configured for the application.");
        }
        var challenge = q["code_challenge"].ToString();
        var state = q["state"].ToString();
        var answer = new List<KeyValuePair<string, string>>();
        if (string.IsNullOrEmpty(challenge) || q["code_challenge_method"] != "S256" || user is null)
        {
            answer.Add(new("error", "invalid_request"));
            answer.Add(new("error_description", "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption."));
        }
        else
        {
            answer.Add(new("code", CreateAuthorizationCode(clientId, redirect.AbsoluteUri, user, challenge, q["scope"].ToString())));
        }
        if (!string.IsNullOrEmpty(state))
        {
            answer.Add(new("state", state));
        }
        if (q["response_mode"] == "form_post")
        {
            // As Entra ID does (and MSAL.NET asks for with the system browser): a page that POSTs the answer to the redirect URI.
            var inputs = string.Concat(answer.Select(p =>
                $"<input type=\"hidden\" name=\"{WebUtility.HtmlEncode(p.Key)}\" value=\"{WebUtility.HtmlEncode(p.Value)}\" />"));
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = "no-store";
            return context.Response.WriteAsync(
                $"<html><head><title>Working...</title></head><body><form method=\"POST\" name=\"hiddenform\" action=\"{WebUtility.HtmlEncode(redirect.AbsoluteUri)}\">{inputs}" +
                "<noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript></form>" +
                "<script language=\"javascript\">document.forms[0].submit();</script></body></html>", context.RequestAborted);
        }
        var query = string.Join('&', answer.Select(p => p.Key + "=" + Uri.EscapeDataString(p.Value)));
        context.Response.StatusCode = 302;
        context.Response.Headers.Location = redirect.AbsoluteUri + (string.IsNullOrEmpty(redirect.Query) ? "?" : "&") + query;
        return Task.CompletedTask;
    }

    /// <summary>Checks the scope parameter; returns the resource, or null after writing the error.</summary>
    private async Task<string?> CheckScopeAsync(HttpContext context, string scope, bool clientCredentials)
    {
        var parts = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(s => !OidcScopes.Contains(s)).ToList();
        if (parts.Count != 1)
        {
            await AadstsAsync(context, 400, "invalid_scope", 70011, $"The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid.");
            return null;
        }
        var s = parts[0];
        var slash = s.LastIndexOf('/');
        var resource = slash > 0 ? s[..slash] : s;
        var permission = slash > 0 ? s[(slash + 1)..] : "";
        if (clientCredentials && permission != ".default")
        {
            await AadstsAsync(context, 400, "invalid_scope", 1002012, $"The provided value for scope {s} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).");
            return null;
        }
        bool known;
        lock (StateGate) { known = _resources.Contains(resource.TrimEnd('/')); }
        if (!known)
        {
            await AadstsAsync(context, 400, "invalid_resource", 500011, $"The resource principal named {resource} was not found in the tenant named {TenantDomain}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.");
            return null;
        }
        if (permission is not (".default" or "user_impersonation"))
        {
            await AadstsAsync(context, 400, "invalid_scope", 70011, $"The provided value for the input parameter 'scope' is not valid. The scope {s} is not valid.");
            return null;
        }
        return resource.TrimEnd('/');
    }

    private Task TokenAsync(HttpContext context, string tenant, IFormCollection form)
    {
        if (!IsKnownTenant(tenant, allowMultiTenant: form["grant_type"] != "client_credentials"))
        {
            return AadstsAsync(context, 400, "invalid_request", 90002, $"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.");
        }
        return form["grant_type"].ToString() switch
        {
            "client_credentials" => ClientCredentialsAsync(context, tenant, form),
            "refresh_token" => RefreshAsync(context, tenant, form),
            // MSAL.NET sends the short form; Entra ID accepts both.
            "urn:ietf:params:oauth:grant-type:device_code" or "device_code" => DeviceCodePollAsync(context, form),
            "authorization_code" => AuthorizationCodeAsync(context, tenant, form),
            "" => AadstsAsync(context, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."),
            var g => AadstsAsync(context, 400, "unsupported_grant_type", 70003, $"The app requested an unsupported grant type '{g}'."),
        };
    }

    /// <summary>Authenticates a confidential client (secret or assertion). Null after writing the error.</summary>
    private async Task<Client?> AuthenticateClientAsync(HttpContext context, string tenant, IFormCollection form, bool required)
    {
        var clientId = form["client_id"].ToString();
        Client? client;
        lock (StateGate) { client = _clients.GetValueOrDefault(clientId); }
        if (client is null)
        {
            await AadstsAsync(context, 400, "unauthorized_client", 700016, $"Application with identifier '{clientId}' was not found in the directory '{TenantDomain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.");
            return null;
        }
        var assertion = form["client_assertion"].ToString();
        var secret = form["client_secret"].ToString();
        if (assertion.Length > 0)
        {
            if (form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                await AadstsAsync(context, 400, "invalid_request", 50027, "JWT token is invalid or malformed (client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer).");
                return null;
            }
            if (client.Certificate is null || Jws.ValidateRs256(assertion, [client.Certificate], out _, allowPs256: true) is not { } payload)
            {
                await AadstsAsync(context, 401, "invalid_client", 700027, "The certificate with identifier used to sign the client assertion is not registered on application. Client assertion failed signature validation.");
                return null;
            }
            var aud = $"{OriginOf(context)}/{tenant}/oauth2/v2.0/token";
            if (!Jws.HasAudience(payload, aud))
            {
                await AadstsAsync(context, 401, "invalid_client", 700212, $"No matching federated identity record found for presented assertion audience. The audience must be '{aud}'.");
                return null;
            }
            if (Jws.GetString(payload, "iss") != client.ClientId || Jws.GetString(payload, "sub") != client.ClientId)
            {
                await AadstsAsync(context, 401, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer. The 'iss' and 'sub' claims of the client assertion must be the client id.");
                return null;
            }
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            // MSAL.NET writes exp and nbf as numeric strings ("1795297390"); Entra ID accepts both forms.
            var exp = NumericDate(payload, "exp");
            var nbf = NumericDate(payload, "nbf");
            if (exp is null || exp.Value < now - 300 || (nbf is not null && nbf.Value > now + 300))
            {
                await AadstsAsync(context, 401, "invalid_client", 700024, "Client assertion is not within its valid time range.");
                return null;
            }
            return client;
        }
        if (secret.Length > 0)
        {
            if (client.Secret is null || !CryptographicOperations.FixedTimeEquals(
                    System.Text.Encoding.UTF8.GetBytes(secret), System.Text.Encoding.UTF8.GetBytes(client.Secret)))
            {
                await AadstsAsync(context, 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.");
                return null;
            }
            return client;
        }
        if (required || client.Secret is not null || client.Certificate is not null)
        {
            await AadstsAsync(context, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
            return null;
        }
        return client;
    }

    private async Task ClientCredentialsAsync(HttpContext context, string tenant, IFormCollection form)
    {
        var client = await AuthenticateClientAsync(context, tenant, form, required: true);
        if (client is null)
        {
            return;
        }
        var resource = await CheckScopeAsync(context, form["scope"].ToString(), clientCredentials: true);
        if (resource is null)
        {
            return;
        }
        await IssueAsync(context, new Grant(client.ClientId, null, resource), resource, withRefreshToken: false, scope: form["scope"].ToString());
    }

    private async Task RefreshAsync(HttpContext context, string tenant, IFormCollection form)
    {
        var client = await AuthenticateClientAsync(context, tenant, form, required: false);
        if (client is null)
        {
            return;
        }
        Grant? grant;
        lock (StateGate)
        {
            if (_grants.RefreshTokens.TryGetValue(form["refresh_token"].ToString(), out grant) && !grant.Revoked && grant.Expired is null)
            {
                // Refresh tokens rotate: the one just used stops working.
                _grants.RefreshTokens.Remove(form["refresh_token"].ToString());
            }
        }
        if (grant is null || grant.ClientId != client.ClientId)
        {
            await AadstsAsync(context, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.");
            return;
        }
        if (grant.Revoked)
        {
            await AadstsAsync(context, 400, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.");
            return;
        }
        if (grant.Expired == EntraExpiryReason.Inactivity)
        {
            await AadstsAsync(context, 400, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on 2026-01-01T00:00:00.0000000Z and was inactive for 90.00:00:00.");
            return;
        }
        if (grant.Expired == EntraExpiryReason.SignInFrequency)
        {
            await AadstsAsync(context, 400, "invalid_grant", 70043, "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on 2026-01-01T00:00:00.0000000Z and the maximum allowed lifetime for this request is 3600.", "bad_token");
            return;
        }
        var scope = form["scope"].ToString();
        var resource = string.IsNullOrWhiteSpace(scope) ? grant.Resource : await CheckScopeAsync(context, scope, clientCredentials: false);
        if (resource is null)
        {
            return;
        }
        await IssueAsync(context, grant, resource, withRefreshToken: true, scope: string.IsNullOrWhiteSpace(scope) ? resource + "/user_impersonation" : scope);
    }

    private async Task AuthorizationCodeAsync(HttpContext context, string tenant, IFormCollection form)
    {
        var client = await AuthenticateClientAsync(context, tenant, form, required: false);
        if (client is null)
        {
            return;
        }
        PendingCode? pending;
        lock (StateGate)
        {
            if (_codes.Remove(form["code"].ToString(), out pending) && pending.ExpiresAt < DateTimeOffset.UtcNow)
            {
                pending = null;
            }
        }
        if (pending is null || pending.ClientId != client.ClientId)
        {
            await AadstsAsync(context, 400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.");
            return;
        }
        // Compared as URIs: MSAL.NET sends http://localhost:port in both requests, which the authorize step normalized to http://localhost:port/.
        if (!Uri.TryCreate(form["redirect_uri"].ToString(), UriKind.Absolute, out var redeemRedirect) ||
            !string.Equals(pending.RedirectUri, redeemRedirect.AbsoluteUri, StringComparison.Ordinal))
        {
            await AadstsAsync(context, 400, "invalid_grant", 50148, "The redirect_uri does not match the redirect_uri used in the authorization request.");
            return;
        }
        var verifier = form["code_verifier"].ToString();
        if (verifier.Length == 0 || Jws.S256Challenge(verifier) != pending.CodeChallenge)
        {
            await AadstsAsync(context, 400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.");
            return;
        }
        var resource = await CheckScopeAsync(context, pending.Scope, clientCredentials: false);
        if (resource is null)
        {
            return;
        }
        await IssueAsync(context, new Grant(client.ClientId, pending.Username, resource), resource, withRefreshToken: true, scope: pending.Scope);
    }

    private async Task DeviceCodeAsync(HttpContext context, string tenant, IFormCollection form)
    {
        if (!IsKnownTenant(tenant, allowMultiTenant: true))
        {
            await AadstsAsync(context, 400, "invalid_request", 90002, $"Tenant '{tenant}' not found.");
            return;
        }
        var clientId = form["client_id"].ToString();
        bool known;
        lock (StateGate) { known = _clients.ContainsKey(clientId); }
        if (!known)
        {
            await AadstsAsync(context, 400, "unauthorized_client", 700016, $"Application with identifier '{clientId}' was not found in the directory '{TenantDomain}'.");
            return;
        }
        var scope = form["scope"].ToString();
        if (await CheckScopeAsync(context, scope, clientCredentials: false) is null)
        {
            return;
        }
        var deviceCode = "DAQABAAEAAAA" + Jws.NewToken(48);
        var userCode = string.Concat(Enumerable.Range(0, 9).Select(_ => "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[RandomNumberGenerator.GetInt32(32)]));
        var lifetime = DeviceCodeLifetime;
        lock (StateGate)
        {
            _deviceCodes[deviceCode] = new DeviceCode(clientId, scope, userCode, DateTimeOffset.UtcNow + lifetime);
        }
        var verification = $"{OriginOf(context)}/devicelogin";
        await WriteJsonAsync(context, 200, new Dictionary<string, object?>
        {
            ["user_code"] = userCode,
            ["device_code"] = deviceCode,
            ["verification_uri"] = verification,
            ["expires_in"] = (int)lifetime.TotalSeconds,
            ["interval"] = DeviceCodeInterval,
            ["message"] = $"To sign in, use a web browser to open the page {verification} and enter the code {userCode} to authenticate.",
        });
    }

    private async Task DeviceCodePollAsync(HttpContext context, IFormCollection form)
    {
        var code = form["device_code"].ToString();
        DeviceCode? entry;
        string? user = null;
        lock (StateGate)
        {
            _deviceCodes.TryGetValue(code, out entry);
            if (entry is not null && entry.ApprovedUser is not null && !entry.Redeemed && entry.ExpiresAt >= DateTimeOffset.UtcNow)
            {
                entry.Redeemed = true;
                user = entry.ApprovedUser;
            }
        }
        if (entry is null || entry.ClientId != form["client_id"].ToString() || (entry.Redeemed && user is null))
        {
            await AadstsAsync(context, 400, "invalid_grant", 70000, "Provided grant is invalid or malformed.");
            return;
        }
        if (entry.ExpiresAt < DateTimeOffset.UtcNow)
        {
            await AadstsAsync(context, 400, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.");
            return;
        }
        if (entry.Declined)
        {
            await AadstsAsync(context, 400, "authorization_declined", 70019, "The end user denied the authorization request.");
            return;
        }
        if (user is null)
        {
            await AadstsAsync(context, 400, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.");
            return;
        }
        var resource = await CheckScopeAsync(context, entry.Scope, clientCredentials: false);
        if (resource is null)
        {
            return;
        }
        await IssueAsync(context, new Grant(entry.ClientId, user, resource), resource, withRefreshToken: true, scope: entry.Scope);
    }

    private Task IssueAsync(HttpContext context, Grant grant, string resource, bool withRefreshToken, string scope)
    {
        var access = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + Jws.NewToken(48);
        string? refresh = null;
        TimeSpan lifetime;
        Guid? oid = null;
        lock (StateGate)
        {
            lifetime = _accessTokenLifetime;
            _grants.AccessTokens[access] = new AccessToken(grant, resource, DateTimeOffset.UtcNow + lifetime);
            if (withRefreshToken)
            {
                refresh = "1.AXoA" + Jws.NewToken(64);
                _grants.RefreshTokens[refresh] = grant;
            }
            if (grant.Username is not null)
            {
                oid = _users.TryGetValue(grant.Username, out var id) ? id : null;
            }
        }
        var seconds = Math.Max(0, (int)lifetime.TotalSeconds);
        var resourceScopes = string.Join(' ', scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(s => !OidcScopes.Contains(s)));
        var body = new Dictionary<string, object?>
        {
            ["token_type"] = "Bearer",
            ["scope"] = resourceScopes,
            ["expires_in"] = seconds,
            ["ext_expires_in"] = seconds,
            ["access_token"] = access,
        };
        if (refresh is not null)
        {
            body["refresh_token"] = refresh;
        }
        if (grant.Username is not null && oid is not null)
        {
            var tid = TenantId.ToString("D");
            body["client_info"] = Jws.Base64UrlEncode(JsonSerializer.SerializeToUtf8Bytes(new { uid = oid.Value.ToString("D"), utid = tid }));
            if (scope.Split(' ').Contains("openid", StringComparer.OrdinalIgnoreCase))
            {
                var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                body["id_token"] = Jws.SignRs256(_signingKey, new Dictionary<string, object?>
                {
                    ["aud"] = grant.ClientId,
                    ["iss"] = $"{OriginOf(context)}/{tid}/v2.0",
                    ["iat"] = now,
                    ["nbf"] = now,
                    ["exp"] = now + 3600,
                    ["name"] = grant.Username,
                    ["oid"] = oid.Value.ToString("D"),
                    ["preferred_username"] = grant.Username,
                    ["sub"] = Jws.Base64UrlEncode(SHA256.HashData(oid.Value.ToByteArray())),
                    ["tid"] = tid,
                    ["ver"] = "2.0",
                });
            }
        }
        return WriteJsonAsync(context, 200, body);
    }

    private Task WhoAmIAsync(HttpContext context)
    {
        var token = BearerToken(context.Request);
        Guid? userId = null;
        Guid org;
        lock (StateGate)
        {
            org = _organizationsByHost.TryGetValue(context.Request.Host.Host, out var own) ? own : _organizationId;
            if (token is not null && _grants.AccessTokens.TryGetValue(token, out var a) && !a.Grant.Revoked && a.Grant.Expired is null &&
                a.ExpiresAt > DateTimeOffset.UtcNow && IsDataverseResource(a.Resource, a.Grant.Resource) &&
                IsAudienceHost(a.Resource, context.Request.Host.Host))
            {
                userId = a.Grant.Username is not null
                    ? _users[a.Grant.Username]
                    : _clients.TryGetValue(a.Grant.ClientId, out var c) ? c.ApplicationUserId : Guid.Empty;
            }
        }
        if (userId is null)
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = $"Bearer authorization_uri={Authority.AbsoluteUri}oauth2/authorize, resource_id={BaseUri.AbsoluteUri}";
            return Task.CompletedTask;
        }
        context.Response.Headers["OData-Version"] = "4.0";
        return WriteJsonAsync(context, 200, new Dictionary<string, object?>
        {
            ["@odata.context"] = $"{OriginOf(context)}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
            ["BusinessUnitId"] = _businessUnitId,
            ["UserId"] = userId.Value,
            ["OrganizationId"] = org,
        });
    }

    private static long? NumericDate(JsonElement payload, string name) =>
        Jws.GetNumber(payload, name) ??
        (long.TryParse(Jws.GetString(payload, name), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null);

    /// <summary>
    /// A token for Dataverse: for the grant's own resource, or, from the same sign-in's refresh token, for another environment
    /// (never for the discovery service). Caller holds StateGate.
    /// </summary>
    private bool IsDataverseResource(string resource, string grantResource) =>
        string.Equals(resource.TrimEnd('/'), grantResource.TrimEnd('/'), StringComparison.OrdinalIgnoreCase) ||
        (!_discoveryResources.Contains(resource.TrimEnd('/')) && _resources.Contains(resource.TrimEnd('/')));

    /// <summary>Dataverse accepts a token only for its own host; direct loopback calls (no router) skip the check.</summary>
    private static bool IsAudienceHost(string resource, string requestHost) =>
        requestHost is "127.0.0.1" or "localhost" or "[::1]" or "" ||
        (Uri.TryCreate(resource, UriKind.Absolute, out var r) && string.Equals(r.Host, requestHost, StringComparison.OrdinalIgnoreCase));

    protected override void OnDisposed() => _signingKey.Dispose();
}
