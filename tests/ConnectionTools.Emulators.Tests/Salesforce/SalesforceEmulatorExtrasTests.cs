using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using static ConnectionTools.Emulators.Tests.TestJwt;

namespace ConnectionTools.Emulators.Tests;

/// <summary>The Salesforce emulator's device flow, host check, decline switch and the throttle memory shared by every emulator.</summary>
public sealed class SalesforceEmulatorExtrasTests : IAsyncLifetime, IDisposable
{
    private const string ConsumerKey = "3MVG9device.consumer.key";
    private const string Username = "device.user@example.com";
    private static readonly X509Certificate2 _cert = SharedCertificates.Client;
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false });
    private SalesforceEmulator _sf = null!;

    public async Task InitializeAsync()
    {
        _sf = await SalesforceEmulator.StartNewAsync();
        _sf.RegisterConnectedApp(ConsumerKey, null, _cert);
        _sf.RegisterUser(Username);
    }

    public async Task DisposeAsync() => await _sf.DisposeAsync();

    public void Dispose() => _http.Dispose();

    private string Assertion(string sub = Username) =>
        Sign(_cert, new { iss = ConsumerKey, sub, aud = "https://login.salesforce.com", exp = Now + 120 });

    private Task<(HttpStatusCode Status, JsonElement Body)> Token(params (string, string)[] pairs) => PostAsync(_http, _sf.TokenEndpoint, pairs);

    private Task<(HttpStatusCode Status, JsonElement Body)> StartDevice(string clientId = ConsumerKey) =>
        Token(("response_type", "device_code"), ("client_id", clientId), ("scope", "api id refresh_token"));

    private Task<(HttpStatusCode Status, JsonElement Body)> Poll(string deviceCode) =>
        Token(("grant_type", "device"), ("client_id", ConsumerKey), ("code", deviceCode));

    [Fact]
    public async Task Device_flow_is_pending_then_slow_down_when_polled_too_often_then_issues_a_refresh_token_once_approved()
    {
        // 3 s, not the default 1 s: on a loaded machine two polls a moment apart can be 800 ms apart, which a 1 s interval counts as polite.
        _sf.DeviceCodeInterval = 3;
        var (status, start) = await StartDevice();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(3, start.GetProperty("interval").GetInt32());
        Assert.Equal(new Uri(_sf.BaseUri, "setup/connect").AbsoluteUri, start.Str("verification_uri"));
        var userCode = start.Str("user_code");
        Assert.Equal(8, userCode.Length);
        Assert.Contains(userCode, _sf.PendingUserCodes);
        var deviceCode = start.Str("device_code");

        var pending = await Poll(deviceCode);
        Assert.Equal(HttpStatusCode.BadRequest, pending.Status);
        Assert.Equal("authorization_pending", pending.Body.Str("error"));
        var tooSoon = await Poll(deviceCode);
        Assert.Equal("slow_down", tooSoon.Body.Str("error"));

        Assert.True(_sf.ApproveDeviceCode(userCode, Username));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var (ok, tokens) = await Poll(deviceCode);
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.StartsWith("5Aep", tokens.Str("refresh_token"), StringComparison.Ordinal);
        Assert.Equal(_sf.BaseUri.AbsoluteUri.TrimEnd('/'), tokens.Str("instance_url"));
        Assert.DoesNotContain(userCode, _sf.PendingUserCodes);

        // A redeemed code cannot be used again; the refresh token works.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal("invalid_grant", (await Poll(deviceCode)).Body.Str("error"));
        var refreshed = await Token(("grant_type", "refresh_token"), ("client_id", ConsumerKey), ("refresh_token", tokens.Str("refresh_token")));
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
        Assert.All(_sf.Requests, r => Assert.DoesNotContain(deviceCode, r.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Device_flow_denied_expired_and_unknown_client()
    {
        var unknown = await StartDevice("nobody");
        Assert.Equal("invalid_client_id", unknown.Body.Str("error"));

        var denied = (await StartDevice()).Body;
        Assert.True(_sf.DenyDeviceCode(denied.Str("user_code")));
        Assert.False(_sf.ApproveDeviceCode(denied.Str("user_code"), Username));
        var answer = await Poll(denied.Str("device_code"));
        Assert.Equal("access_denied", answer.Body.Str("error"));
        Assert.Equal("end-user denied authorization", answer.Body.Str("error_description"));

        _sf.DeviceCodeLifetime = TimeSpan.Zero;
        var expired = (await StartDevice()).Body;
        await Task.Delay(50);
        Assert.False(_sf.ApproveDeviceCode(expired.Str("user_code"), Username));
        var late = await Poll(expired.Str("device_code"));
        Assert.Equal("invalid_grant", late.Body.Str("error"));
        Assert.Equal("expired authorization code", late.Body.Str("error_description"));
    }

    [Fact]
    public async Task ExpectedHost_answers_421_to_another_host_and_serves_the_routed_one()
    {
        _sf.ExpectedHost = "contoso.my.salesforce.com";
        _sf.InstanceUrl = new Uri("https://contoso.my.salesforce.com/");
        var direct = await PostAsync(_http, _sf.TokenEndpoint, ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", Assertion()));
        Assert.Equal(HttpStatusCode.MisdirectedRequest, direct.Status);
        Assert.Equal("misdirected_request", direct.Body.Str("error"));

        using var routed = new HttpClient(new ProviderHostRouter().Route("contoso.my.salesforce.com", _sf));
        var (status, body) = await PostAsync(routed, new Uri("https://contoso.my.salesforce.com/services/oauth2/token"),
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", Assertion()));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("https://contoso.my.salesforce.com", body.Str("instance_url"));
        Assert.Equal("contoso.my.salesforce.com", _sf.Requests[^1].Host);
    }

    [Fact]
    public async Task DeclineAuthorization_redirects_with_access_denied()
    {
        _sf.DeclineAuthorization = true;
        var redirect = "http://127.0.0.1:7777/";
        using var response = await _http.GetAsync(new Uri(_sf.AuthorizeEndpoint +
            $"?response_type=code&client_id={ConsumerKey}&redirect_uri={Uri.EscapeDataString(redirect)}&code_challenge=abc&code_challenge_method=S256&state=s1"));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var location = response.Headers.Location!.AbsoluteUri;
        Assert.StartsWith(redirect + "?error=access_denied", location, StringComparison.Ordinal);
        Assert.EndsWith("&state=s1", location, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_throttled_caller_is_throttled_until_Retry_After_has_passed_then_let_through_once()
    {
        _sf.TooManyRequestsRatio = 1;
        var assertion = Assertion();
        async Task<HttpStatusCode> Jwt() => (await Token(("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion))).Status;

        Assert.Equal(HttpStatusCode.TooManyRequests, await Jwt());
        // Not waiting: 429 again, however often it asks.
        Assert.Equal(HttpStatusCode.TooManyRequests, await Jwt());
        Assert.Equal(HttpStatusCode.TooManyRequests, await Jwt());
        await Task.Delay(EmulatorHost.RetryAfter);
        // Waited as asked: let through, even at ratio 1.
        Assert.Equal(HttpStatusCode.OK, await Jwt());
        // The next one is a new draw.
        Assert.Equal(HttpStatusCode.TooManyRequests, await Jwt());
        Assert.Equal(4, _sf.ThrottledCount);

        // Switching 429s off forgets the remembered callers at once.
        _sf.TooManyRequestsRatio = 0;
        Assert.Equal(HttpStatusCode.OK, await Jwt());
    }

    [Fact]
    public async Task Callers_are_remembered_apart()
    {
        var other = "second.user@example.com";
        _sf.RegisterUser(other);
        _sf.TooManyRequestsRatio = 1;
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Token(("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", Assertion()))).Status);
        await Task.Delay(EmulatorHost.RetryAfter);
        _sf.TooManyRequestsRatio = 0.999;
        // The first caller waited and is let through; the second was never throttled, so it is drawn (and at 0.999, throttled).
        Assert.Equal(HttpStatusCode.OK, (await Token(("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", Assertion()))).Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Token(("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", Assertion(other)))).Status);
    }

    [Fact]
    public async Task A_client_that_honours_Retry_After_always_gets_through_within_three_attempts()
    {
        _sf.TooManyRequestsRatio = 0.3;
        var maxAttempts = 0;
        for (var i = 0; i < 12; i++)
        {
            var assertion = Assertion();
            for (var attempt = 1; ; attempt++)
            {
                using var response = await _http.PostAsync(_sf.TokenEndpoint, Form(("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)));
                if (response.StatusCode != HttpStatusCode.TooManyRequests)
                {
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    maxAttempts = Math.Max(maxAttempts, attempt);
                    break;
                }
                Assert.True(attempt < 3, "a client honouring Retry-After was throttled 3 times");
                await Task.Delay(response.Headers.RetryAfter!.Delta!.Value);
            }
        }
        Assert.InRange(maxAttempts, 1, 2);
    }
}
