using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using static ConnectionTools.Emulators.Tests.TestJwt;

namespace ConnectionTools.Emulators.Tests;

public sealed class SalesforceEmulatorTests : IAsyncLifetime, IDisposable
{
    private const string ConsumerKey = "3MVG9test.consumer.key";
    private const string Username = "admin@example.com.sandbox";
    private const string Redirect = "http://127.0.0.1:7777/callback";
    private static readonly X509Certificate2 _cert = SharedCertificates.Client;
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false });
    private SalesforceEmulator _sf = null!;

    public async Task InitializeAsync()
    {
        _sf = await SalesforceEmulator.StartNewAsync("https://test.salesforce.com", "00D000000000001AAA");
        _sf.RegisterConnectedApp(ConsumerKey, "secret", _cert);
        _sf.RegisterUser(Username);
    }

    public async Task DisposeAsync() => await _sf.DisposeAsync();

    public void Dispose()
    {
        _http.Dispose();
    }

    private string Assertion(string? iss = null, string? sub = null, string? aud = null, long? exp = null, X509Certificate2? cert = null) =>
        Sign(cert ?? _cert, new { iss = iss ?? ConsumerKey, sub = sub ?? Username, aud = aud ?? "https://test.salesforce.com", exp = exp ?? Now + 120 });

    private Task<(HttpStatusCode Status, JsonElement Body)> JwtBearer(string assertion) =>
        PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion));

    private async Task<JsonElement> UserInfo(string accessToken, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _sf.UserInfoEndpoint);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await _http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static string Verifier() => B64(RandomNumberGenerator.GetBytes(32));

    private static string Challenge(string verifier) => B64(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier)));

    private async Task<JsonElement> WebServerFlowAsync()
    {
        var verifier = Verifier();
        var authorize = new Uri(_sf.AuthorizeEndpoint + $"?response_type=code&client_id={ConsumerKey}&redirect_uri={Uri.EscapeDataString(Redirect)}&code_challenge={Challenge(verifier)}&code_challenge_method=S256&state=xyz");
        using var redirect = await _http.GetAsync(authorize);
        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
        var location = redirect.Headers.Location!;
        Assert.StartsWith(Redirect, location.AbsoluteUri, StringComparison.Ordinal);
        Assert.Contains("state=xyz", location.Query, StringComparison.Ordinal);
        var code = Uri.UnescapeDataString(location.Query.Split('&')[0].Split('=')[1]);
        var (status, body) = await PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "authorization_code"), ("code", code),
            ("client_id", ConsumerKey), ("redirect_uri", Redirect), ("code_verifier", verifier));
        Assert.Equal(HttpStatusCode.OK, status);
        return body;
    }

    [Fact]
    public async Task Jwt_bearer_with_the_right_claims_gives_an_access_token_and_userinfo_gives_the_org()
    {
        var (status, body) = await JwtBearer(Assertion());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Bearer", body.Str("token_type"));
        Assert.False(body.TryGetProperty("refresh_token", out _));
        Assert.EndsWith("/00D000000000001AAA/" + _sf.RegisterUser(Username), body.Str("id"), StringComparison.Ordinal);
        var info = await UserInfo(body.Str("access_token"));
        Assert.Equal("00D000000000001AAA", info.Str("organization_id"));
        Assert.Equal(Username, info.Str("preferred_username"));
        Assert.Equal(_sf.RegisterUser(Username), info.Str("user_id"));
    }

    [Theory]
    [InlineData("aud", "audience is invalid")]
    [InlineData("iss", "client identifier invalid")]
    [InlineData("sub", "user hasn't approved this consumer")]
    [InlineData("expired", "expired authorization code")]
    [InlineData("too-long", "expired authorization code")]
    [InlineData("other-key", "invalid assertion")]
    [InlineData("tampered", "invalid assertion")]
    public async Task Jwt_bearer_rejects_a_bad_assertion_with_invalid_grant(string fault, string description)
    {
        var otherCert = SharedCertificates.Other;
        var assertion = fault switch
        {
            "aud" => Assertion(aud: "https://login.salesforce.com"),
            "iss" => Assertion(iss: "someone-else"),
            "sub" => Assertion(sub: "nobody@example.com"),
            "expired" => Assertion(exp: Now - 10),
            "too-long" => Assertion(exp: Now + 600),
            "other-key" => Assertion(cert: otherCert),
            _ => Assertion()[..^4] + "AAAA",
        };
        var (status, body) = await JwtBearer(assertion);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", body.Str("error"));
        Assert.Equal(description, body.Str("error_description"));
    }

    [Fact]
    public async Task Production_emulator_wants_the_production_login_host_as_audience()
    {
        await using var prod = await SalesforceEmulator.StartNewAsync();
        prod.RegisterConnectedApp(ConsumerKey, null, _cert);
        prod.RegisterUser(Username);
        var ok = await PostAsync(_http, prod.TokenEndpoint, ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", Assertion(aud: "https://login.salesforce.com")));
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        var sandboxAud = await PostAsync(_http, prod.TokenEndpoint, ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", Assertion(aud: "https://test.salesforce.com")));
        Assert.Equal("audience is invalid", sandboxAud.Body.Str("error_description"));
    }

    [Fact]
    public async Task Web_server_flow_with_PKCE_then_refresh()
    {
        var tokens = await WebServerFlowAsync();
        var refresh = tokens.Str("refresh_token");
        var (status, body) = await PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", ConsumerKey));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotEqual(tokens.Str("access_token"), body.Str("access_token"));
        Assert.Equal("00D000000000001AAA", (await UserInfo(body.Str("access_token"))).Str("organization_id"));
    }

    [Fact]
    public async Task Wrong_code_verifier_and_reused_code_are_invalid_grant()
    {
        var verifier = Verifier();
        var code = _sf.CreateAuthorizationCode(ConsumerKey, Redirect, Username, Challenge(verifier));
        var bad = await PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "authorization_code"), ("code", code),
            ("client_id", ConsumerKey), ("redirect_uri", Redirect), ("code_verifier", Verifier()));
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Equal("invalid_grant", bad.Body.Str("error"));
        Assert.Equal("invalid code verifier", bad.Body.Str("error_description"));
        // The code was consumed by the failed attempt.
        var again = await PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "authorization_code"), ("code", code),
            ("client_id", ConsumerKey), ("redirect_uri", Redirect), ("code_verifier", verifier));
        Assert.Equal("invalid authorization code", again.Body.Str("error_description"));
    }

    [Fact]
    public async Task Revoke_endpoint_revokes_the_refresh_token_and_its_access_tokens()
    {
        var tokens = await WebServerFlowAsync();
        using var revoke = await _http.PostAsync(_sf.RevokeEndpoint, Form(("token", tokens.Str("refresh_token"))));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        var (status, body) = await PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "refresh_token"),
            ("refresh_token", tokens.Str("refresh_token")), ("client_id", ConsumerKey));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_grant", body.Str("error"));
        Assert.Equal("expired access/refresh token", body.Str("error_description"));
        var error = await UserInfo(tokens.Str("access_token"), HttpStatusCode.Unauthorized);
        Assert.Equal("INVALID_SESSION_ID", error[0].Str("errorCode"));
        Assert.Equal("Session expired or invalid", error[0].Str("message"));
    }

    [Fact]
    public async Task RevokeGrant_switch_and_ExpireTokens_make_the_next_refresh_fail()
    {
        var a = await WebServerFlowAsync();
        var b = await WebServerFlowAsync();
        Assert.True(_sf.RevokeGrant(a.Str("refresh_token")));
        var revoked = await PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "refresh_token"), ("refresh_token", a.Str("refresh_token")), ("client_id", ConsumerKey));
        Assert.Equal("expired access/refresh token", revoked.Body.Str("error_description"));
        var stillOk = await PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "refresh_token"), ("refresh_token", b.Str("refresh_token")), ("client_id", ConsumerKey));
        Assert.Equal(HttpStatusCode.OK, stillOk.Status);

        _sf.ExpireTokens();
        var expired = await PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "refresh_token"), ("refresh_token", b.Str("refresh_token")), ("client_id", ConsumerKey));
        Assert.Equal(HttpStatusCode.BadRequest, expired.Status);
        Assert.Equal("invalid_grant", expired.Body.Str("error"));
        Assert.Equal("expired access/refresh token", expired.Body.Str("error_description"));
        await UserInfo(stillOk.Body.Str("access_token"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Revoking_an_unknown_token_is_400_invalid_token_and_revoking_an_access_token_keeps_the_refresh_token()
    {
        using var unknown = await _http.PostAsync(_sf.RevokeEndpoint, Form(("token", "nope")));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("invalid_token", JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement.Str("error"));
        var tokens = await WebServerFlowAsync();
        using var revoke = await _http.GetAsync(new Uri(_sf.RevokeEndpoint + "?token=" + Uri.EscapeDataString(tokens.Str("access_token"))));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        await UserInfo(tokens.Str("access_token"), HttpStatusCode.Unauthorized);
        var refreshed = await PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "refresh_token"), ("refresh_token", tokens.Str("refresh_token")), ("client_id", ConsumerKey));
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
    }

    [Fact]
    public async Task Switches_are_safe_under_concurrent_requests()
    {
        var grants = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => WebServerFlowAsync()));
        var refreshes = grants.SelectMany(g => Enumerable.Range(0, 5).Select(_ =>
            PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "refresh_token"), ("refresh_token", g.Str("refresh_token")), ("client_id", ConsumerKey)))).ToList();
        var flips = Task.Run(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                _sf.ChangeOrganizationId(i % 2 == 0 ? "00D000000000001AAA" : "00D000000000002BBB");
                _sf.TooManyRequestsRatio = 0;
                _ = _sf.Requests;
            }
        });
        var results = await Task.WhenAll(refreshes);
        await flips;
        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(8 * 2 + 40, _sf.RequestCount);
    }

    [Fact]
    public async Task Dispose_stops_Kestrel()
    {
        var e = await SalesforceEmulator.StartNewAsync();
        var uri = e.UserInfoEndpoint;
        using (var r = await _http.GetAsync(uri))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }
        await e.DisposeAsync();
        using var fresh = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => fresh.GetAsync(uri));
    }

    [Fact]
    public async Task Unknown_access_token_is_INVALID_SESSION_ID()
    {
        var error = await UserInfo("00D!not-a-token", HttpStatusCode.Unauthorized);
        Assert.Equal(JsonValueKind.Array, error.ValueKind);
        Assert.Equal("INVALID_SESSION_ID", error[0].Str("errorCode"));
    }

    [Fact]
    public async Task ChangeOrganizationId_shows_in_userinfo()
    {
        var token = (await JwtBearer(Assertion())).Body.Str("access_token");
        _sf.ChangeOrganizationId("00D000000000002BBB");
        Assert.Equal("00D000000000002BBB", (await UserInfo(token)).Str("organization_id"));
        Assert.Equal("00D000000000002BBB", _sf.OrganizationId);
    }

    [Fact]
    public async Task Latency_is_added_to_token_calls()
    {
        _sf.Latency = TimeSpan.FromMilliseconds(300);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (status, _) = await JwtBearer(Assertion());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(290), watch.Elapsed.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => _sf.Latency = TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task TooManyRequests_answers_429_with_Retry_After_at_about_the_ratio_and_logs_no_secrets()
    {
        // Independent draws: this test measures the ratio, not the memory of throttled callers.
        _sf.RememberThrottledCallers = false;
        _sf.TooManyRequestsRatio = 0.3;
        var assertion = Assertion();
        var throttled = 0;
        for (var i = 0; i < 200; i++)
        {
            using var response = await _http.PostAsync(_sf.TokenEndpoint, Form(("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                throttled++;
                Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter!.Delta);
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }
        Assert.InRange(throttled, 40, 80);
        Assert.Equal(200, _sf.RequestCount);
        Assert.Equal(throttled, _sf.ThrottledCount);
        Assert.Equal(throttled, _sf.Requests.Count(r => r.StatusCode == 429));
        Assert.All(_sf.Requests, r => Assert.Equal("urn:ietf:params:oauth:grant-type:jwt-bearer", r.GrantType));
        Assert.DoesNotContain(_sf.Requests, r => r.ToString().Contains(assertion[..20], StringComparison.Ordinal));
    }

    [Fact]
    public async Task Seeded_429s_repeat_and_the_log_can_be_reset()
    {
        async Task<string> PatternAsync()
        {
            await using var e = await SalesforceEmulator.StartNewAsync(seed: 7);
            e.RememberThrottledCallers = false;
            e.TooManyRequestsRatio = 0.5;
            var pattern = new System.Text.StringBuilder();
            for (var i = 0; i < 20; i++)
            {
                using var r = await _http.GetAsync(e.UserInfoEndpoint);
                pattern.Append(r.StatusCode == HttpStatusCode.TooManyRequests ? 'T' : '.');
            }
            return pattern.ToString();
        }
        Assert.Equal(await PatternAsync(), await PatternAsync());
        _sf.ResetRequestLog();
        Assert.Equal(0, _sf.RequestCount);
        Assert.Empty(_sf.Requests);
    }
}
