using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

namespace ConnectionTools.Emulators;

/// <summary>
/// Loopback emulator of Salesforce OAuth 2.0 (authorize, token, revoke, userinfo) over HTTP.
/// Flows: web server flow with PKCE (S256), refresh token, JWT bearer (RS256, iss = consumer key, sub = username,
/// aud = <see cref="LoginAudience"/>, exp within 3 minutes), and the OAuth 2.0 device flow (POST token with
/// response_type=device_code, then polls with grant_type=device&amp;code=…; approve with <see cref="ApproveDeviceCode"/>).
/// </summary>
public sealed partial class SalesforceEmulator : EmulatorHost
{
    private sealed class ConnectedApp(string consumerKey, string? consumerSecret, X509Certificate2? certificate)
    {
        public string ConsumerKey { get; } = consumerKey;
        public string? ConsumerSecret { get; } = consumerSecret;
        public X509Certificate2? Certificate { get; } = certificate;
    }

    private sealed class Grant(string clientId, string username) : IEmulatorGrant
    {
        public string ClientId { get; } = clientId;
        public string Username { get; } = username;
        string? IEmulatorGrant.Username => Username;
        public string? RefreshToken { get; set; }
        public bool Revoked { get; set; }
        public bool Expired { get; set; }
    }

    private sealed class AccessToken(Grant grant)
    {
        public Grant Grant { get; } = grant;
        public bool Revoked { get; set; }
    }

    private sealed record PendingCode(string ClientId, string RedirectUri, string Username, string CodeChallenge, DateTimeOffset ExpiresAt);

    private sealed class DeviceCode(string clientId, string userCode, DateTimeOffset expiresAt)
    {
        public string ClientId { get; } = clientId;
        public string UserCode { get; } = userCode;
        public DateTimeOffset ExpiresAt { get; } = expiresAt;
        public string? ApprovedUser { get; set; }
        public bool Denied { get; set; }
        public bool Redeemed { get; set; }
        public DateTimeOffset? LastPoll { get; set; }
    }

    /// <summary>A poll this much earlier than the interval still counts as on time (timer slack).</summary>
    public static readonly TimeSpan PollTolerance = TimeSpan.FromMilliseconds(200);

    /// <summary>Lifetime of an authorization code (Salesforce: 15 minutes).</summary>
    public static readonly TimeSpan AuthorizationCodeLifetime = TimeSpan.FromMinutes(15);

    /// <summary>The JWT bearer assertion's exp must be no later than now + this.</summary>
    public static readonly TimeSpan MaxAssertionLifetime = TimeSpan.FromMinutes(3);

    private readonly Dictionary<string, ConnectedApp> _apps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _users = new(StringComparer.OrdinalIgnoreCase); // username -> user id
    private readonly GrantBook<Grant, AccessToken> _grants = new(a => a.Grant);
    private readonly Dictionary<string, PendingCode> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DeviceCode> _deviceCodes = new(StringComparer.Ordinal);
    private string? _expectedHost;
    private Uri? _instanceUrl;
    private bool _declineAuthorization;
    private int _deviceCodeInterval = 1;
    private TimeSpan _deviceCodeLifetime = TimeSpan.FromMinutes(10);
    private string _organizationId;
    private string? _defaultAuthorizeUser;
    private bool _rotateRefreshTokens;
    private int _failUserInfo;
    private int _dropRefreshAnswers;
    private bool _revokeRequiresClientId;
    private bool _omitIdentityUrl;
    private string? _issuer;
    private int _refreshReuses;
    private int _acceptedRefreshes;
    private readonly Dictionary<string, string> _userOrganizations = new(StringComparer.OrdinalIgnoreCase);
    private int _killClientOnUserInfo;
    private Func<int, SalesforceRefreshFault>? _refreshFaults;
    private readonly Dictionary<SalesforceRefreshFault, int> _injected = new();

    /// <param name="loginAudience">The login host the JWT bearer aud must equal, e.g. "https://login.salesforce.com" or "https://test.salesforce.com".</param>
    /// <param name="organizationId">18-character Org ID ("00D...").</param>
    /// <param name="seed">Seed of the Random that picks 429 answers.</param>
    public SalesforceEmulator(string loginAudience = "https://login.salesforce.com", string organizationId = "00D5g000001AbCdEAK", int seed = 4242)
        : base(seed, null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(loginAudience);
        ArgumentException.ThrowIfNullOrWhiteSpace(organizationId);
        LoginAudience = loginAudience.TrimEnd('/');
        _organizationId = organizationId;
    }

    /// <summary>Starts a new emulator.</summary>
    public static async Task<SalesforceEmulator> StartNewAsync(string loginAudience = "https://login.salesforce.com",
        string organizationId = "00D5g000001AbCdEAK", int seed = 4242, CancellationToken cancellationToken = default)
    {
        var emulator = new SalesforceEmulator(loginAudience, organizationId, seed);
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

    public string LoginAudience { get; }

    public string OrganizationId
    {
        get { lock (StateGate) { return _organizationId; } }
    }

    /// <summary>
    /// When set, requests whose Host header is another host are answered 421 misdirected_request, so tests prove the client
    /// chose this host (e.g. the My Domain "contoso.my.salesforce.com", reached through ProviderHostRouter).
    /// </summary>
    public string? ExpectedHost
    {
        get { lock (StateGate) { return _expectedHost; } }
        set { lock (StateGate) { _expectedHost = value; } }
    }

    /// <summary>The instance_url token answers name (and the device verification page's host). Default: <see cref="EmulatorHost.BaseUri"/>.</summary>
    public Uri InstanceUrl
    {
        get { lock (StateGate) { return _instanceUrl ?? BaseUri; } }
        set { lock (StateGate) { _instanceUrl = value; } }
    }

    /// <summary>When true, the authorize endpoint redirects with error=access_denied (the user clicked Deny).</summary>
    public bool DeclineAuthorization
    {
        get { lock (StateGate) { return _declineAuthorization; } }
        set { lock (StateGate) { _declineAuthorization = value; } }
    }

    /// <summary>Seconds the device flow tells clients to wait between polls (Salesforce: 5; default 1 to keep tests fast).</summary>
    public int DeviceCodeInterval
    {
        get { lock (StateGate) { return _deviceCodeInterval; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 0);
            lock (StateGate) { _deviceCodeInterval = value; }
        }
    }

    /// <summary>How long a device code can be approved and redeemed.</summary>
    public TimeSpan DeviceCodeLifetime
    {
        get { lock (StateGate) { return _deviceCodeLifetime; } }
        set { lock (StateGate) { _deviceCodeLifetime = value; } }
    }

    /// <summary>User codes issued and neither redeemed, denied nor expired.</summary>
    public IReadOnlyList<string> PendingUserCodes
    {
        get
        {
            lock (StateGate)
            {
                var now = DateTimeOffset.UtcNow;
                return _deviceCodes.Values.Where(d => !d.Redeemed && !d.Denied && d.ExpiresAt >= now).Select(d => d.UserCode).ToList();
            }
        }
    }

    /// <summary>Approves a pending device code as <paramref name="username"/> (the user entered the code at /setup/connect and allowed access).</summary>
    public bool ApproveDeviceCode(string userCode, string username)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userCode);
        ArgumentException.ThrowIfNullOrWhiteSpace(username);
        RegisterUser(username);
        lock (StateGate)
        {
            var entry = FindDeviceCode(userCode);
            if (entry is null || entry.Denied || entry.ExpiresAt < DateTimeOffset.UtcNow)
            {
                return false;
            }
            entry.ApprovedUser = username;
            return true;
        }
    }

    /// <summary>Denies a pending device code: the next poll answers access_denied.</summary>
    public bool DenyDeviceCode(string userCode)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userCode);
        lock (StateGate)
        {
            var entry = FindDeviceCode(userCode);
            if (entry is null)
            {
                return false;
            }
            entry.Denied = true;
            return true;
        }
    }

    private DeviceCode? FindDeviceCode(string userCode) =>
        _deviceCodes.Values.FirstOrDefault(d => string.Equals(d.UserCode, NormalizeUserCode(userCode), StringComparison.Ordinal));

    private static string NormalizeUserCode(string userCode) => userCode.Replace("-", "", StringComparison.Ordinal).Trim().ToUpperInvariant();

    public Uri TokenEndpoint => new(BaseUri, "services/oauth2/token");
    public Uri AuthorizeEndpoint => new(BaseUri, "services/oauth2/authorize");
    public Uri UserInfoEndpoint => new(BaseUri, "services/oauth2/userinfo");
    public Uri RevokeEndpoint => new(BaseUri, "services/oauth2/revoke");

    /// <summary>Registers a connected app. A certificate enables the JWT bearer flow for it.</summary>
    public void RegisterConnectedApp(string consumerKey, string? consumerSecret = null, X509Certificate2? certificate = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(consumerKey);
        lock (StateGate) { _apps[consumerKey] = new ConnectedApp(consumerKey, consumerSecret, certificate); }
    }

    /// <summary>Registers a user (pre-authorized for every connected app). Returns the 18-character user id.</summary>
    public string RegisterUser(string username)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(username);
        lock (StateGate)
        {
            if (!_users.TryGetValue(username, out var id))
            {
                id = "005" + Jws.NewToken(12).Replace('-', 'A').Replace('_', 'B')[..15];
                _users[username] = id;
                _defaultAuthorizeUser ??= username;
            }
            return id;
        }
    }

    /// <summary>The user the authorize endpoint signs in (default: the first registered). login_hint overrides it.</summary>
    public string? AuthorizeAsUser
    {
        get { lock (StateGate) { return _defaultAuthorizeUser; } }
        set { lock (StateGate) { _defaultAuthorizeUser = value; } }
    }

    /// <summary>
    /// Refresh-token rotation (a connected-app option): each refresh answers a new refresh token and the old one stops working.
    /// Presenting a used-up refresh token is reuse: the whole grant is revoked, as rotation servers do (RFC 9700 §4.14.2).
    /// </summary>
    public bool RotateRefreshTokens
    {
        get { lock (StateGate) { return _rotateRefreshTokens; } }
        set { lock (StateGate) { _rotateRefreshTokens = value; } }
    }

    /// <summary>How many coming userinfo calls answer 500 (then it works again).</summary>
    public int FailUserInfoTimes
    {
        get { lock (StateGate) { return _failUserInfo; } }
        set { lock (StateGate) { _failUserInfo = value; } }
    }

    /// <summary>How many coming refreshes are processed (the token rotates) but whose answer is lost: the connection is aborted.</summary>
    public int DropRefreshAnswers
    {
        get { lock (StateGate) { return _dropRefreshAnswers; } }
        set { lock (StateGate) { _dropRefreshAnswers = value; } }
    }

    /// <summary>When true, /revoke answers 400 invalid_request unless the client identifies itself (client_id), as RFC 7009 servers do.</summary>
    public bool RevokeRequiresClientId
    {
        get { lock (StateGate) { return _revokeRequiresClientId; } }
        set { lock (StateGate) { _revokeRequiresClientId = value; } }
    }

    /// <summary>When true, token answers carry no "id" (the identity URL), so the client must ask userinfo for the org.</summary>
    public bool OmitIdentityUrl
    {
        get { lock (StateGate) { return _omitIdentityUrl; } }
        set { lock (StateGate) { _omitIdentityUrl = value; } }
    }

    /// <summary>When set, the authorize redirect carries iss=this (RFC 9207).</summary>
    public string? AuthorizationIssuer
    {
        get { lock (StateGate) { return _issuer; } }
        set { lock (StateGate) { _issuer = value; } }
    }

    /// <summary>
    /// A fault plan for refreshes the emulator accepts (the token checked, and rotated if rotation is on): called with the
    /// refresh's number (1, 2, ...) under the emulator's lock. <see cref="SalesforceRefreshFault.LoseAnswer"/> is
    /// <see cref="DropRefreshAnswers"/> for that refresh; <see cref="SalesforceRefreshFault.FailUserInfo"/> makes the next
    /// userinfo call answer 500; <see cref="SalesforceRefreshFault.KillClientAfterAnswer"/> makes the next userinfo call answer
    /// 500 with the header X-Emulator-Kill-Client: 1, which a test process's own HTTP handler takes as "kill this process now"
    /// (the token answer has arrived and been saved by then: the client asks userinfo after saving).
    /// </summary>
    public Func<int, SalesforceRefreshFault>? RefreshFaults
    {
        get { lock (StateGate) { return _refreshFaults; } }
        set { lock (StateGate) { _refreshFaults = value; } }
    }

    /// <summary>
    /// Puts a user's grants in an org of their own: token ids and userinfo name <paramref name="organizationId"/> for them.
    /// Several orgs behind one emulated host, for tests that need many connections (a node connects each org once).
    /// </summary>
    public void PlaceUserInOrganization(string username, string organizationId)
    {
        lock (StateGate)
        {
            _userOrganizations[username] = organizationId;
        }
    }

    /// <summary>How many refreshes the emulator accepted (a valid, current refresh token).</summary>
    public int AcceptedRefreshes
    {
        get { lock (StateGate) { return _acceptedRefreshes; } }
    }

    /// <summary>How many faults of this kind <see cref="RefreshFaults"/> has injected (userinfo and kill faults once served).</summary>
    public int FaultsInjected(SalesforceRefreshFault fault)
    {
        lock (StateGate)
        {
            return _injected.GetValueOrDefault(fault);
        }
    }

    /// <summary>How many refreshes presented a refresh token that rotation had already used up (each revoked its grant).</summary>
    public int RefreshTokenReuses
    {
        get { lock (StateGate) { return _refreshReuses; } }
    }

    /// <summary>The refresh token that currently works for the grant holding <paramref name="token"/> (its latest rotation), or null.</summary>
    public string? CurrentRefreshToken(string token)
    {
        lock (StateGate)
        {
            return _grants.FindGrant(token) is { } g && _grants.RefreshTokens.ContainsKey(token) ? g.RefreshToken : null;
        }
    }

    /// <summary>Test helper: issues an authorization code as if the user approved in the browser.</summary>
    public string CreateAuthorizationCode(string clientId, string redirectUri, string username, string codeChallenge)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        ArgumentException.ThrowIfNullOrWhiteSpace(redirectUri);
        ArgumentException.ThrowIfNullOrWhiteSpace(username);
        ArgumentException.ThrowIfNullOrWhiteSpace(codeChallenge);
        var code = "aPrx" + Jws.NewToken(24);
        lock (StateGate)
        {
            _codes[code] = new PendingCode(clientId, redirectUri, username, codeChallenge, DateTimeOffset.UtcNow + AuthorizationCodeLifetime);
        }
        return code;
    }

    /// <summary>Revokes the grant that holds this refresh or access token (the refresh token and all its access tokens).</summary>
    public bool RevokeGrant(string token)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        lock (StateGate)
        {
            return _grants.Revoke(token);
        }
    }

    /// <summary>Whether the grant holding this refresh or access token was revoked (by the revoke endpoint or <see cref="RevokeGrant"/>).</summary>
    public bool IsRevoked(string token)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        lock (StateGate)
        {
            return _grants.FindGrant(token)?.Revoked ?? false;
        }
    }

    /// <summary>Revokes every grant of a user (like revoking the user's OAuth connection in Setup).</summary>
    public int RevokeGrantsForUser(string username)
    {
        lock (StateGate)
        {
            return _grants.RevokeForUser(username);
        }
    }

    /// <summary>Expires every grant issued so far: access tokens stop working and the next refresh answers
    /// 400 invalid_grant "expired access/refresh token".</summary>
    public void ExpireTokens()
    {
        lock (StateGate)
        {
            foreach (var g in _grants.AllGrants())
            {
                g.Expired = true;
            }
        }
    }

    /// <summary>Simulates a sandbox refresh: userinfo and token ids report this Org ID from now on.</summary>
    public void ChangeOrganizationId(string organizationId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(organizationId);
        lock (StateGate) { _organizationId = organizationId; }
    }

    protected override bool IsThrottled(string path) => path.StartsWith("/services/", StringComparison.Ordinal);

    protected override bool IsTokenCall(string path) => path == "/services/oauth2/token";

    protected override Task HandleCoreAsync(HttpContext context, string path, IFormCollection form)
    {
        var expected = ExpectedHost;
        var host = context.Request.Host.Host;
        if (expected is not null && !string.Equals(host, expected, StringComparison.OrdinalIgnoreCase) && !IsAlsoServed(host))
        {
            return WriteJsonAsync(context, StatusCodes.Status421MisdirectedRequest,
                new { error = "misdirected_request", error_description = $"This org is served at {expected}, not at {host}." });
        }
        var method = context.Request.Method;
        return path switch
        {
            "/services/oauth2/token" when HttpMethods.IsPost(method) => TokenAsync(context, form),
            "/services/oauth2/authorize" when HttpMethods.IsGet(method) => AuthorizeAsync(context),
            "/services/oauth2/userinfo" => UserInfoAsync(context),
            "/services/oauth2/revoke" => RevokeAsync(context, form),
            _ when path.StartsWith("/services/data/", StringComparison.Ordinal) => DataApiAsync(context, path),
            _ => WriteJsonAsync(context, StatusCodes.Status404NotFound,
                new[] { new { message = "The requested resource does not exist", errorCode = "NOT_FOUND" } }),
        };
    }

    private Task AuthorizeAsync(HttpContext context)
    {
        var q = context.Request.Query;
        var clientId = q["client_id"].ToString();
        var redirectUri = q["redirect_uri"].ToString();
        if (q["response_type"] != "code")
        {
            return WriteJsonAsync(context, 400, new { error = "unsupported_response_type", error_description = "response type not supported" });
        }
        bool known;
        bool decline;
        string? user;
        lock (StateGate)
        {
            known = _apps.ContainsKey(clientId);
            decline = _declineAuthorization;
            user = string.IsNullOrEmpty(q["login_hint"]) ? _defaultAuthorizeUser : q["login_hint"].ToString();
        }
        if (!known)
        {
            return WriteJsonAsync(context, 400, new { error = "invalid_client_id", error_description = "client identifier invalid" });
        }
        if (!Uri.TryCreate(redirectUri, UriKind.Absolute, out var redirect))
        {
            return WriteJsonAsync(context, 400, new { error = "redirect_uri_mismatch", error_description = "redirect_uri must match configuration" });
        }
        if (decline)
        {
            return Redirect(context, redirect, "error=access_denied&error_description=" + Uri.EscapeDataString("end-user denied authorization"), q["state"]);
        }
        var challenge = q["code_challenge"].ToString();
        var method = q["code_challenge_method"].ToString();
        if (string.IsNullOrEmpty(challenge) || (method.Length > 0 && method != "S256") || user is null)
        {
            return Redirect(context, redirect, $"error=invalid_request&error_description={Uri.EscapeDataString("invalid code challenge")}", q["state"]);
        }
        var code = CreateAuthorizationCode(clientId, redirectUri, user, challenge);
        var issuer = AuthorizationIssuer;
        return Redirect(context, redirect, "code=" + Uri.EscapeDataString(code) + (issuer is null ? "" : "&iss=" + Uri.EscapeDataString(issuer)), q["state"]);
    }

    private static Task Redirect(HttpContext context, Uri redirect, string query, string? state)
    {
        if (!string.IsNullOrEmpty(state))
        {
            query += "&state=" + Uri.EscapeDataString(state);
        }
        var sep = string.IsNullOrEmpty(redirect.Query) ? "?" : "&";
        context.Response.StatusCode = StatusCodes.Status302Found;
        context.Response.Headers.Location = redirect.AbsoluteUri + sep + query;
        return Task.CompletedTask;
    }

    private static Task InvalidGrant(HttpContext context, string description) =>
        WriteJsonAsync(context, 400, new { error = "invalid_grant", error_description = description });

    private Task TokenAsync(HttpContext context, IFormCollection form)
    {
        if (form["response_type"] == "device_code")
        {
            return DeviceAuthorizationAsync(context, form);
        }
        var grantType = form["grant_type"].ToString();
        return grantType switch
        {
            "authorization_code" => AuthorizationCodeAsync(context, form),
            "device" => DevicePollAsync(context, form),
            "refresh_token" => RefreshAsync(context, form),
            "urn:ietf:params:oauth:grant-type:jwt-bearer" => JwtBearerAsync(context, form),
            _ => WriteJsonAsync(context, 400, new { error = "unsupported_grant_type", error_description = "grant type not supported" }),
        };
    }

    private Task DeviceAuthorizationAsync(HttpContext context, IFormCollection form)
    {
        var clientId = form["client_id"].ToString();
        string deviceCode;
        string userCode;
        int interval;
        lock (StateGate)
        {
            if (!_apps.ContainsKey(clientId))
            {
                return WriteJsonAsync(context, 400, new { error = "invalid_client_id", error_description = "client identifier invalid" });
            }
            deviceCode = "M0Z" + Jws.NewToken(40);
            userCode = string.Concat(Enumerable.Range(0, 8).Select(_ => "BCDFGHJKLMNPQRSTVWXZ23456789"[System.Security.Cryptography.RandomNumberGenerator.GetInt32(28)]));
            interval = _deviceCodeInterval;
            _deviceCodes[deviceCode] = new DeviceCode(clientId, userCode, DateTimeOffset.UtcNow + _deviceCodeLifetime);
        }
        return WriteJsonAsync(context, 200, new Dictionary<string, object?>
        {
            ["device_code"] = deviceCode,
            ["user_code"] = userCode,
            ["verification_uri"] = new Uri(InstanceUrl, "setup/connect").AbsoluteUri,
            ["interval"] = interval,
        });
    }

    private Task DevicePollAsync(HttpContext context, IFormCollection form)
    {
        var clientId = form["client_id"].ToString();
        var code = form["code"].ToString();
        string? user = null;
        lock (StateGate)
        {
            if (!_apps.ContainsKey(clientId))
            {
                return WriteJsonAsync(context, 400, new { error = "invalid_client_id", error_description = "client identifier invalid" });
            }
            if (!_deviceCodes.TryGetValue(code, out var entry) || entry.ClientId != clientId || entry.Redeemed)
            {
                return InvalidGrant(context, "invalid authorization code");
            }
            var now = DateTimeOffset.UtcNow;
            if (entry.ExpiresAt < now)
            {
                return InvalidGrant(context, "expired authorization code");
            }
            if (entry.Denied)
            {
                return WriteJsonAsync(context, 400, new { error = "access_denied", error_description = "end-user denied authorization" });
            }
            var tooSoon = entry.LastPoll is { } last && now - last < TimeSpan.FromSeconds(_deviceCodeInterval) - PollTolerance;
            entry.LastPoll = now;
            if (tooSoon)
            {
                return WriteJsonAsync(context, 400, new { error = "slow_down", error_description = "polling too frequently" });
            }
            if (entry.ApprovedUser is null)
            {
                return WriteJsonAsync(context, 400, new { error = "authorization_pending", error_description = "authorization pending" });
            }
            entry.Redeemed = true;
            user = entry.ApprovedUser;
        }
        return IssueAsync(context, clientId, user, withRefreshToken: true);
    }

    private Task AuthorizationCodeAsync(HttpContext context, IFormCollection form)
    {
        var code = form["code"].ToString();
        var clientId = form["client_id"].ToString();
        PendingCode? pending;
        ConnectedApp? app;
        lock (StateGate)
        {
            _apps.TryGetValue(clientId, out app);
            if (_codes.Remove(code, out pending) && pending.ExpiresAt < DateTimeOffset.UtcNow)
            {
                pending = null;
            }
        }
        if (app is null)
        {
            return WriteJsonAsync(context, 400, new { error = "invalid_client_id", error_description = "client identifier invalid" });
        }
        if (app.ConsumerSecret is not null && form.ContainsKey("client_secret") && form["client_secret"] != app.ConsumerSecret)
        {
            return WriteJsonAsync(context, 400, new { error = "invalid_client", error_description = "invalid client credentials" });
        }
        if (pending is null || pending.ClientId != clientId)
        {
            return InvalidGrant(context, "invalid authorization code");
        }
        if (pending.RedirectUri != form["redirect_uri"].ToString())
        {
            return WriteJsonAsync(context, 400, new { error = "redirect_uri_mismatch", error_description = "redirect_uri must match configuration" });
        }
        var verifier = form["code_verifier"].ToString();
        if (string.IsNullOrEmpty(verifier) || Jws.S256Challenge(verifier) != pending.CodeChallenge)
        {
            return InvalidGrant(context, "invalid code verifier");
        }
        return IssueAsync(context, clientId, pending.Username, withRefreshToken: true);
    }

    private Task RefreshAsync(HttpContext context, IFormCollection form)
    {
        var refreshToken = form["refresh_token"].ToString();
        var clientId = form["client_id"].ToString();
        Grant? grant;
        bool appKnown;
        lock (StateGate)
        {
            appKnown = _apps.ContainsKey(clientId);
            _grants.RefreshTokens.TryGetValue(refreshToken, out grant);
        }
        if (!appKnown)
        {
            return WriteJsonAsync(context, 400, new { error = "invalid_client_id", error_description = "client identifier invalid" });
        }
        bool rotate;
        bool drop;
        string? rotated = null;
        lock (StateGate)
        {
            if (grant is null || grant.Revoked || grant.Expired || grant.ClientId != clientId)
            {
                return InvalidGrant(context, "expired access/refresh token");
            }
            rotate = _rotateRefreshTokens;
            if (rotate && grant.RefreshToken != refreshToken)
            {
                // Reuse of a rotated-out refresh token: someone holds a copy, so the whole grant goes.
                grant.Revoked = true;
                _refreshReuses++;
                return InvalidGrant(context, "expired access/refresh token");
            }
            if (rotate)
            {
                // Checked and rotated under one lock: two refreshes with the same token cannot both succeed.
                rotated = "5Aep" + Jws.NewToken(40);
                grant.RefreshToken = rotated;
                _grants.RefreshTokens[rotated] = grant;
            }
            var fault = _refreshFaults?.Invoke(++_acceptedRefreshes) ?? SalesforceRefreshFault.None;
            switch (fault)
            {
                case SalesforceRefreshFault.LoseAnswer:
                    _dropRefreshAnswers++;
                    _injected[fault] = _injected.GetValueOrDefault(fault) + 1;
                    break;
                case SalesforceRefreshFault.FailUserInfo:
                    _failUserInfo++;
                    break;
                case SalesforceRefreshFault.KillClientAfterAnswer:
                    _killClientOnUserInfo++;
                    break;
            }
            drop = _dropRefreshAnswers > 0;
            if (drop)
            {
                _dropRefreshAnswers--;
            }
        }
        if (drop)
        {
            // Processed (the token rotated), then the answer is lost on the way back.
            context.Abort();
            return Task.CompletedTask;
        }
        return IssueAsync(context, clientId, grant.Username, withRefreshToken: false, existing: grant, rotated: rotated);
    }

    private Task JwtBearerAsync(HttpContext context, IFormCollection form)
    {
        var assertion = form["assertion"].ToString();
        List<X509Certificate2> certificates;
        lock (StateGate)
        {
            certificates = _apps.Values.Where(a => a.Certificate is not null).Select(a => a.Certificate!).ToList();
        }
        var payloadOrNull = Jws.ValidateRs256(assertion, certificates, out _);
        if (payloadOrNull is not { } payload)
        {
            return InvalidGrant(context, "invalid assertion");
        }
        var iss = Jws.GetString(payload, "iss");
        var sub = Jws.GetString(payload, "sub");
        var exp = Jws.GetNumber(payload, "exp");
        ConnectedApp? app;
        string? userId;
        lock (StateGate)
        {
            app = iss is null ? null : _apps.GetValueOrDefault(iss);
            userId = sub is null ? null : _users.GetValueOrDefault(sub);
        }
        if (app?.Certificate is null)
        {
            return InvalidGrant(context, "client identifier invalid");
        }
        // The signature must come from this app's certificate, not another app's.
        if (Jws.ValidateRs256(assertion, [app.Certificate], out _) is null)
        {
            return InvalidGrant(context, "invalid assertion");
        }
        if (!Jws.HasAudience(payload, LoginAudience))
        {
            return InvalidGrant(context, "audience is invalid");
        }
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (exp is null || exp.Value < now || exp.Value > now + (long)MaxAssertionLifetime.TotalSeconds + 5)
        {
            return InvalidGrant(context, "expired authorization code");
        }
        if (userId is null)
        {
            return InvalidGrant(context, "user hasn't approved this consumer");
        }
        return IssueAsync(context, app.ConsumerKey, sub!, withRefreshToken: false);
    }

    private Task IssueAsync(HttpContext context, string clientId, string username, bool withRefreshToken, Grant? existing = null, string? rotated = null)
    {
        var access = "00D!" + Jws.NewToken(40);
        var refresh = rotated;
        string org;
        string userId;
        lock (StateGate)
        {
            var grant = existing ?? new Grant(clientId, username);
            if (withRefreshToken)
            {
                refresh = "5Aep" + Jws.NewToken(40);
                grant.RefreshToken = refresh;
                _grants.RefreshTokens[refresh] = grant;
            }
            _grants.AccessTokens[access] = new AccessToken(grant);
            org = _userOrganizations.GetValueOrDefault(username) ?? _organizationId;
            userId = _users.TryGetValue(username, out var u) ? u : RegisterUserUnlocked(username);
        }
        var instance = InstanceUrlOf(org).AbsoluteUri.TrimEnd('/');
        var issuedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var id = $"{instance}/id/{org}/{userId}";
        var signature = Jws.Base64UrlEncode(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id + issuedAt)));
        var body = new Dictionary<string, object?>
        {
            ["access_token"] = access,
            ["signature"] = signature,
            ["scope"] = withRefreshToken || existing is not null ? "refresh_token api id" : "api id",
            ["instance_url"] = instance,
            ["id"] = id,
            ["token_type"] = "Bearer",
            ["issued_at"] = issuedAt,
        };
        if (OmitIdentityUrl)
        {
            body.Remove("id");
        }
        if (refresh is not null)
        {
            body["refresh_token"] = refresh;
        }
        return WriteJsonAsync(context, 200, body);
    }

    private string RegisterUserUnlocked(string username)
    {
        var id = "005" + Jws.NewToken(12).Replace('-', 'A').Replace('_', 'B')[..15];
        _users[username] = id;
        return id;
    }

    private Task UserInfoAsync(HttpContext context)
    {
        var token = BearerToken(context.Request);
        string? username = null;
        string? userId = null;
        string org;
        lock (StateGate)
        {
            if (_killClientOnUserInfo > 0)
            {
                _killClientOnUserInfo--;
                _injected[SalesforceRefreshFault.KillClientAfterAnswer] = _injected.GetValueOrDefault(SalesforceRefreshFault.KillClientAfterAnswer) + 1;
                context.Response.Headers["X-Emulator-Kill-Client"] = "1";
                return WriteJsonAsync(context, 500, new[] { new { message = "An unexpected error occurred.", errorCode = "UNKNOWN_EXCEPTION" } });
            }
            if (_failUserInfo > 0)
            {
                _failUserInfo--;
                _injected[SalesforceRefreshFault.FailUserInfo] = _injected.GetValueOrDefault(SalesforceRefreshFault.FailUserInfo) + 1;
                return WriteJsonAsync(context, 500, new[] { new { message = "An unexpected error occurred.", errorCode = "UNKNOWN_EXCEPTION" } });
            }
            org = _organizationId;
            if (token is not null && _grants.AccessTokens.TryGetValue(token, out var a) && !a.Revoked && !a.Grant.Revoked && !a.Grant.Expired)
            {
                username = a.Grant.Username;
                userId = _users[username];
                org = _userOrganizations.GetValueOrDefault(username) ?? org;
            }
        }
        if (username is null)
        {
            context.Response.Headers.WWWAuthenticate = "Token";
            return WriteJsonAsync(context, 401, new[] { new { message = "Session expired or invalid", errorCode = "INVALID_SESSION_ID" } });
        }
        var instance = InstanceUrlOf(org).AbsoluteUri.TrimEnd('/');
        return WriteJsonAsync(context, 200, new Dictionary<string, object?>
        {
            ["sub"] = $"{instance}/id/{org}/{userId}",
            ["user_id"] = userId,
            ["organization_id"] = org,
            ["preferred_username"] = username,
            ["nickname"] = username!.Split('@')[0],
            ["name"] = username,
            ["email"] = username,
            ["email_verified"] = true,
            ["zoneinfo"] = "Europe/London",
            ["user_type"] = "STANDARD",
            ["active"] = true,
            ["utcOffset"] = 0,
            ["updated_at"] = "2026-01-01T00:00:00Z",
        });
    }

    private Task RevokeAsync(HttpContext context, IFormCollection form)
    {
        var post = HttpMethods.IsPost(context.Request.Method);
        var token = post ? form["token"].ToString() : context.Request.Query["token"].ToString();
        var clientId = post ? form["client_id"].ToString() : context.Request.Query["client_id"].ToString();
        lock (StateGate)
        {
            if (_revokeRequiresClientId && string.IsNullOrEmpty(clientId))
            {
                return WriteJsonAsync(context, 400, new { error = "invalid_request", error_description = "no client authentication mechanism provided" });
            }
            if (_revokeRequiresClientId && !_apps.ContainsKey(clientId))
            {
                return WriteJsonAsync(context, 401, new { error = "invalid_client", error_description = "client identifier invalid" });
            }
            if (_grants.RefreshTokens.TryGetValue(token, out var grant))
            {
                grant.Revoked = true;
            }
            else if (_grants.AccessTokens.TryGetValue(token, out var access))
            {
                access.Revoked = true;
            }
            else
            {
                return WriteJsonAsync(context, 400, new { error = "invalid_token", error_description = "Token was invalid" });
            }
        }
        context.Response.StatusCode = 200;
        return Task.CompletedTask;
    }
}

/// <summary>What <see cref="SalesforceEmulator.RefreshFaults"/> does to one accepted refresh.</summary>
public enum SalesforceRefreshFault
{
    None,
    LoseAnswer,
    FailUserInfo,
    KillClientAfterAnswer,
}
