using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using static ConnectionTools.Emulators.Tests.TestJwt;

namespace ConnectionTools.Emulators.Tests;

/// <summary>One emulator for the class (RSA key generation is slow); xunit runs a class's tests one at a time,
/// and each test issues its own grants, so switches set by one test do not reach another's tokens.</summary>
public sealed class EntraFixture : IAsyncLifetime
{
    public const string Org = "https://contoso.crm.dynamics.com";
    public const string ConfidentialClient = "11111111-1111-1111-1111-111111111111";
    public const string CertificateClient = "22222222-2222-2222-2222-222222222222";
    public const string PublicClient = "51f81489-12ee-4a9e-aaae-a2591f45987d";
    public const string Secret = "s3cr3t~value";

    public EntraEmulator Entra { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Entra = await EntraEmulator.StartNewAsync(Guid.Parse("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
        Entra.RegisterResource(Org);
        Entra.RegisterClient(ConfidentialClient, Secret);
        Entra.RegisterClient(CertificateClient, null, SharedCertificates.Client);
        Entra.RegisterClient(PublicClient);
        Entra.RegisterUser("admin@contoso.onmicrosoft.com");
        Http = new HttpClient(Entra.CreateTrustingHandler()) { Timeout = TimeSpan.FromSeconds(10) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Entra.DisposeAsync();
    }
}

public sealed class EntraEmulatorTests(EntraFixture fixture) : IClassFixture<EntraFixture>
{
    private const string DefaultScope = EntraFixture.Org + "/.default";
    private readonly EntraEmulator _entra = fixture.Entra;
    private readonly HttpClient _http = fixture.Http;

    private Task<(HttpStatusCode Status, JsonElement Body)> Token(params (string, string)[] pairs) => PostAsync(_http, _entra.TokenEndpoint, pairs);

    private Task<(HttpStatusCode Status, JsonElement Body)> ClientSecret(string scope = DefaultScope, string secret = EntraFixture.Secret) =>
        Token(("grant_type", "client_credentials"), ("client_id", EntraFixture.ConfidentialClient), ("client_secret", secret), ("scope", scope));

    private string ClientAssertion(string? aud = null, string? iss = null, string? sub = null, long? exp = null, X509Certificate2? cert = null) =>
        Sign(cert ?? SharedCertificates.Client, new
        {
            aud = aud ?? _entra.TokenEndpoint.AbsoluteUri,
            iss = iss ?? EntraFixture.CertificateClient,
            sub = sub ?? EntraFixture.CertificateClient,
            jti = Guid.NewGuid().ToString(),
            nbf = Now - 5,
            exp = exp ?? Now + 600,
        });

    private Task<(HttpStatusCode Status, JsonElement Body)> WithAssertion(string assertion, string scope = DefaultScope) =>
        Token(("grant_type", "client_credentials"), ("client_id", EntraFixture.CertificateClient),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion), ("scope", scope));

    private async Task<(HttpStatusCode Status, JsonElement Body)> WhoAmI(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _entra.WhoAmIEndpoint);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<JsonElement> DeviceCodeSignInAsync()
    {
        var (status, dc) = await PostAsync(_http, _entra.DeviceCodeEndpoint, ("client_id", EntraFixture.PublicClient),
            ("scope", EntraFixture.Org + "/user_impersonation openid profile offline_access"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(_entra.ApproveDeviceCode(dc.Str("user_code"), "admin@contoso.onmicrosoft.com"));
        var (ok, tokens) = await Token(("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", EntraFixture.PublicClient), ("device_code", dc.Str("device_code")));
        Assert.Equal(HttpStatusCode.OK, ok);
        return tokens;
    }

    private Task<(HttpStatusCode Status, JsonElement Body)> Refresh(string refreshToken) =>
        Token(("grant_type", "refresh_token"), ("client_id", EntraFixture.PublicClient), ("refresh_token", refreshToken),
            ("scope", EntraFixture.Org + "/user_impersonation offline_access"));

    private static void AssertAadsts(JsonElement body, string error, int code)
    {
        Assert.Equal(error, body.Str("error"));
        Assert.StartsWith($"AADSTS{code}:", body.Str("error_description"), StringComparison.Ordinal);
        Assert.Equal(code, body.GetProperty("error_codes")[0].GetInt32());
        Assert.True(Guid.TryParse(body.Str("trace_id"), out _));
        Assert.True(Guid.TryParse(body.Str("correlation_id"), out _));
        Assert.False(string.IsNullOrEmpty(body.Str("timestamp")));
    }

    [Fact]
    public async Task Serves_https_with_a_runtime_certificate_for_127_0_0_1_and_localhost()
    {
        Assert.Equal("https", _entra.BaseUri.Scheme);
        Assert.Equal("127.0.0.1", _entra.BaseUri.Host);
        var cert = _entra.ServerCertificate;
        Assert.True(cert.HasPrivateKey);
        Assert.Equal(2048, cert.GetRSAPublicKey()!.KeySize);
        var san = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains(IPAddress.Loopback, san.EnumerateIPAddresses());
        Assert.Contains("localhost", san.EnumerateDnsNames());
        // A client that does not trust the certificate is refused.
        using var untrusting = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync(_entra.OpenIdConfigurationEndpoint));
    }

    [Fact]
    public async Task OpenID_configuration_names_the_tenant_endpoints()
    {
        var json = JsonDocument.Parse(await _http.GetStringAsync(_entra.OpenIdConfigurationEndpoint)).RootElement;
        Assert.Equal(_entra.TokenEndpoint.AbsoluteUri, json.Str("token_endpoint"));
        Assert.Equal(_entra.DeviceCodeEndpoint.AbsoluteUri, json.Str("device_authorization_endpoint"));
        Assert.Equal(_entra.AuthorizeEndpoint.AbsoluteUri, json.Str("authorization_endpoint"));
        Assert.Equal(new Uri(_entra.BaseUri, $"{_entra.TenantId:D}/v2.0").AbsoluteUri, json.Str("issuer"));
        Assert.Contains("private_key_jwt", json.GetProperty("token_endpoint_auth_methods_supported").EnumerateArray().Select(e => e.GetString()));
        using var unknown = await _http.GetAsync(new Uri(_entra.BaseUri, "not-a-tenant/v2.0/.well-known/openid-configuration"));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }

    [Fact]
    public async Task Client_credentials_with_a_secret_then_WhoAmI()
    {
        var (status, body) = await ClientSecret();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Bearer", body.Str("token_type"));
        Assert.True(body.GetProperty("expires_in").GetInt32() > 0);
        Assert.False(body.TryGetProperty("refresh_token", out _));
        var (who, me) = await WhoAmI(body.Str("access_token"));
        Assert.Equal(HttpStatusCode.OK, who);
        Assert.Equal(_entra.OrganizationId, me.GetProperty("OrganizationId").GetGuid());
        Assert.Equal(_entra.BusinessUnitId, me.GetProperty("BusinessUnitId").GetGuid());
        Assert.NotEqual(Guid.Empty, me.GetProperty("UserId").GetGuid());
    }

    [Fact]
    public async Task Client_credentials_errors_have_the_AADSTS_shape()
    {
        var badSecret = await ClientSecret(secret: "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, badSecret.Status);
        AssertAadsts(badSecret.Body, "invalid_client", 7000215);
        var notDefault = await ClientSecret(scope: EntraFixture.Org + "/user_impersonation");
        AssertAadsts(notDefault.Body, "invalid_scope", 1002012);
        var otherOrg = await ClientSecret(scope: "https://fabrikam.crm.dynamics.com/.default");
        AssertAadsts(otherOrg.Body, "invalid_resource", 500011);
        var wrongTenant = await PostAsync(_http, new Uri(_entra.BaseUri, "common/oauth2/v2.0/token"), ("grant_type", "client_credentials"),
            ("client_id", EntraFixture.ConfidentialClient), ("client_secret", EntraFixture.Secret), ("scope", DefaultScope));
        Assert.Equal(HttpStatusCode.BadRequest, wrongTenant.Status);
        AssertAadsts(wrongTenant.Body, "invalid_request", 90002);
    }

    [Fact]
    public async Task Client_credentials_with_a_certificate_assertion()
    {
        var (status, body) = await WithAssertion(ClientAssertion());
        Assert.Equal(HttpStatusCode.OK, status);
        var (who, _) = await WhoAmI(body.Str("access_token"));
        Assert.Equal(HttpStatusCode.OK, who);
    }

    [Theory]
    [InlineData("aud", 700212)]
    [InlineData("iss", 700023)]
    [InlineData("sub", 700023)]
    [InlineData("expired", 700024)]
    [InlineData("other-key", 700027)]
    public async Task Client_assertion_is_validated(string fault, int code)
    {
        var assertion = fault switch
        {
            "aud" => ClientAssertion(aud: "https://login.microsoftonline.com/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/oauth2/v2.0/token"),
            "iss" => ClientAssertion(iss: EntraFixture.ConfidentialClient),
            "sub" => ClientAssertion(sub: EntraFixture.ConfidentialClient),
            "expired" => ClientAssertion(exp: Now - 3600),
            _ => ClientAssertion(cert: SharedCertificates.Other),
        };
        var (status, body) = await WithAssertion(assertion);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        AssertAadsts(body, "invalid_client", code);
    }

    [Fact]
    public async Task Device_code_is_pending_until_approved_then_refreshes()
    {
        var (status, dc) = await PostAsync(_http, _entra.DeviceCodeEndpoint, ("client_id", EntraFixture.PublicClient),
            ("scope", EntraFixture.Org + "/user_impersonation openid profile offline_access"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, dc.GetProperty("interval").GetInt32());
        Assert.Contains(dc.Str("user_code"), dc.Str("message"), StringComparison.Ordinal);
        (string, string)[] poll = [("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("client_id", EntraFixture.PublicClient), ("device_code", dc.Str("device_code"))];
        var pending = await Token(poll);
        Assert.Equal(HttpStatusCode.BadRequest, pending.Status);
        AssertAadsts(pending.Body, "authorization_pending", 70016);

        Assert.True(_entra.ApproveDeviceCode(dc.Str("user_code"), "admin@contoso.onmicrosoft.com"));
        var (ok, tokens) = await Token(poll);
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.False(string.IsNullOrEmpty(tokens.Str("refresh_token")));
        Assert.Equal(3, tokens.Str("id_token").Split('.').Length);
        Assert.False(string.IsNullOrEmpty(tokens.Str("client_info")));
        // A device code is redeemed once.
        AssertAadsts((await Token(poll)).Body, "invalid_grant", 70000);

        var refreshed = await Refresh(tokens.Str("refresh_token"));
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
        Assert.NotEqual(tokens.Str("refresh_token"), refreshed.Body.Str("refresh_token"));
        Assert.Equal(HttpStatusCode.OK, (await WhoAmI(refreshed.Body.Str("access_token"))).Status);
    }

    [Fact]
    public async Task Declined_device_code_is_authorization_declined()
    {
        var (_, dc) = await PostAsync(_http, _entra.DeviceCodeEndpoint, ("client_id", EntraFixture.PublicClient), ("scope", DefaultScope));
        Assert.True(_entra.DeclineDeviceCode(dc.Str("user_code")));
        var (status, body) = await Token(("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("client_id", EntraFixture.PublicClient), ("device_code", dc.Str("device_code")));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertAadsts(body, "authorization_declined", 70019);
    }

    [Fact]
    public async Task Authorization_code_with_PKCE_checks_the_verifier()
    {
        var verifier = B64(RandomNumberGenerator.GetBytes(32));
        var challenge = B64(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier)));
        const string redirect = "http://localhost:5050/";
        using var noRedirect = new HttpClient(new HttpClientHandler
        {
            AllowAutoRedirect = false,
            ServerCertificateCustomValidationCallback = (_, c, _, _) => _entra.IsTrusted(c),
        });
        using var response = await noRedirect.GetAsync(new Uri(_entra.AuthorizeEndpoint +
            $"?client_id={EntraFixture.PublicClient}&response_type=code&redirect_uri={Uri.EscapeDataString(redirect)}&scope={Uri.EscapeDataString(EntraFixture.Org + "/user_impersonation openid offline_access")}&code_challenge={challenge}&code_challenge_method=S256&state=s1"));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var query = response.Headers.Location!.Query.TrimStart('?').Split('&').Select(p => p.Split('=')).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));
        Assert.Equal("s1", query["state"]);
        var bad = await Token(("grant_type", "authorization_code"), ("client_id", EntraFixture.PublicClient), ("code", query["code"]),
            ("redirect_uri", redirect), ("code_verifier", verifier + "x"));
        AssertAadsts(bad.Body, "invalid_grant", 501481);

        var code = _entra.CreateAuthorizationCode(EntraFixture.PublicClient, redirect, "admin@contoso.onmicrosoft.com", challenge, EntraFixture.Org + "/user_impersonation offline_access");
        var good = await Token(("grant_type", "authorization_code"), ("client_id", EntraFixture.PublicClient), ("code", code),
            ("redirect_uri", redirect), ("code_verifier", verifier));
        Assert.Equal(HttpStatusCode.OK, good.Status);
        Assert.False(string.IsNullOrEmpty(good.Body.Str("refresh_token")));
    }

    [Fact]
    public async Task RevokeGrant_makes_the_next_refresh_AADSTS50173_and_WhoAmI_401()
    {
        var tokens = await DeviceCodeSignInAsync();
        Assert.True(_entra.RevokeGrant(tokens.Str("refresh_token")));
        var (status, body) = await Refresh(tokens.Str("refresh_token"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertAadsts(body, "invalid_grant", 50173);
        var (who, _) = await WhoAmI(tokens.Str("access_token"));
        Assert.Equal(HttpStatusCode.Unauthorized, who);
    }

    [Theory]
    [InlineData(EntraExpiryReason.Inactivity, 700082)]
    [InlineData(EntraExpiryReason.SignInFrequency, 70043)]
    public async Task ExpireTokens_makes_the_next_refresh_fail_with_the_chosen_code(EntraExpiryReason reason, int code)
    {
        var tokens = await DeviceCodeSignInAsync();
        _entra.ExpireTokens(reason);
        var (status, body) = await Refresh(tokens.Str("refresh_token"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertAadsts(body, "invalid_grant", code);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WhoAmI(tokens.Str("access_token"))).Status);
        // Grants made after the switch work.
        Assert.Equal(HttpStatusCode.OK, (await Refresh((await DeviceCodeSignInAsync()).Str("refresh_token"))).Status);
    }

    [Fact]
    public async Task Expired_access_token_is_refused_by_WhoAmI_and_bad_tokens_get_401()
    {
        var lifetime = _entra.AccessTokenLifetime;
        _entra.AccessTokenLifetime = TimeSpan.Zero;
        try
        {
            var (status, body) = await ClientSecret();
            Assert.Equal(0, body.GetProperty("expires_in").GetInt32());
            await Task.Delay(20);
            Assert.Equal(HttpStatusCode.Unauthorized, (await WhoAmI(body.Str("access_token"))).Status);
        }
        finally
        {
            _entra.AccessTokenLifetime = lifetime;
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await WhoAmI("garbage")).Status);
        using var anonymous = await _http.GetAsync(_entra.WhoAmIEndpoint);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.StartsWith("Bearer authorization_uri=", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokeGrantsForUser_revokes_every_grant_of_that_user()
    {
        var a = await DeviceCodeSignInAsync();
        var b = await DeviceCodeSignInAsync();
        Assert.True(_entra.RevokeGrantsForUser("admin@contoso.onmicrosoft.com") >= 2);
        AssertAadsts((await Refresh(a.Str("refresh_token"))).Body, "invalid_grant", 50173);
        AssertAadsts((await Refresh(b.Str("refresh_token"))).Body, "invalid_grant", 50173);
    }

    [Fact]
    public async Task ChangeOrganizationId_shows_in_WhoAmI()
    {
        var original = _entra.OrganizationId;
        var token = (await ClientSecret()).Body.Str("access_token");
        var changed = Guid.NewGuid();
        _entra.ChangeOrganizationId(changed);
        try
        {
            Assert.Equal(changed, (await WhoAmI(token)).Body.GetProperty("OrganizationId").GetGuid());
        }
        finally
        {
            _entra.ChangeOrganizationId(original);
        }
    }

    [Fact]
    public async Task Latency_and_429_apply_to_token_calls()
    {
        _entra.ResetRequestLog();
        _entra.Latency = TimeSpan.FromMilliseconds(250);
        try
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Assert.Equal(HttpStatusCode.OK, (await ClientSecret()).Status);
            Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(240), watch.Elapsed.ToString());
        }
        finally
        {
            _entra.Latency = TimeSpan.Zero;
        }

        _entra.RememberThrottledCallers = false;
        _entra.TooManyRequestsRatio = 0.3;
        var throttled = 0;
        try
        {
            for (var i = 0; i < 150; i++)
            {
                using var response = await _http.PostAsync(_entra.TokenEndpoint, Form(("grant_type", "client_credentials"),
                    ("client_id", EntraFixture.ConfidentialClient), ("client_secret", EntraFixture.Secret), ("scope", DefaultScope)));
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    throttled++;
                    Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
                }
            }
        }
        finally
        {
            _entra.TooManyRequestsRatio = 0;
            _entra.RememberThrottledCallers = true;
        }
        Assert.InRange(throttled, 25, 65);
        Assert.Equal(151, _entra.RequestCount);
        Assert.Equal(throttled, _entra.ThrottledCount);
        Assert.DoesNotContain(_entra.Requests, r => r.ToString().Contains(EntraFixture.Secret, StringComparison.Ordinal));
        // Metadata is never throttled.
        _entra.TooManyRequestsRatio = 1;
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(_entra.OpenIdConfigurationEndpoint)).StatusCode);
            Assert.Equal(HttpStatusCode.TooManyRequests, (await ClientSecret()).Status);
        }
        finally
        {
            _entra.TooManyRequestsRatio = 0;
        }
    }
}
