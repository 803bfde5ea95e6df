using System.Net;
using System.Text.Json;
using static ConnectionTools.Emulators.Tests.TestJwt;

namespace ConnectionTools.Emulators.Tests;

/// <summary>The Entra emulator behind a ProviderHostRouter under a cloud's real host names, as MSAL.NET reaches it.</summary>
public sealed class EntraEmulatorHostTests : IAsyncLifetime
{
    private const string Org = "https://contoso.crm.microsoftdynamics.us";
    private const string Client = "33333333-3333-3333-3333-333333333333";
    private const string Secret = "host~s3cret";
    private EntraEmulator _entra = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _entra = await EntraEmulator.StartNewAsync();
        _entra.RegisterResource(Org);
        _entra.RegisterClient(Client, Secret);
        _entra.RegisterUser("admin@contoso.onmicrosoft.com");
        _entra.AcceptAuthorityHosts("login.microsoftonline.us");
        _http = new HttpClient(new ProviderHostRouter(_entra)
            .Route("login.microsoftonline.us", _entra)
            .Route("login.microsoftonline.com", _entra)
            .Route("contoso.crm.microsoftdynamics.us", _entra)
            .Route("fabrikam.crm.microsoftdynamics.us", _entra));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _entra.DisposeAsync();
    }

    [Fact]
    public async Task Instance_discovery_answers_for_the_host_the_client_addressed()
    {
        var json = await _http.GetStringAsync("https://login.microsoftonline.us/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.us/organizations/oauth2/v2.0/authorize");
        var body = JsonDocument.Parse(json).RootElement;

        Assert.StartsWith("https://login.microsoftonline.us/", body.Str("tenant_discovery_endpoint"), StringComparison.Ordinal);
        Assert.Equal("login.microsoftonline.us", body.GetProperty("metadata")[0].Str("preferred_network"));
    }

    [Fact]
    public async Task Another_authority_host_is_answered_421()
    {
        var (status, _) = await PostAsync(_http, new Uri($"https://login.microsoftonline.com/{_entra.TenantId:D}/oauth2/v2.0/token"),
            ("grant_type", "client_credentials"), ("client_id", Client), ("client_secret", Secret), ("scope", Org + "/.default"));

        Assert.Equal(HttpStatusCode.MisdirectedRequest, status);
        Assert.Equal("login.microsoftonline.com", Assert.Single(_entra.Requests).Host);
    }

    [Fact]
    public async Task Dataverse_accepts_a_token_only_at_its_own_host()
    {
        var (status, token) = await PostAsync(_http, new Uri($"https://login.microsoftonline.us/{_entra.TenantId:D}/oauth2/v2.0/token"),
            ("grant_type", "client_credentials"), ("client_id", Client), ("client_secret", Secret), ("scope", Org + "/.default"));
        Assert.Equal(HttpStatusCode.OK, status);

        async Task<HttpStatusCode> WhoAmI(string host)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"https://{host}/api/data/v9.2/WhoAmI");
            request.Headers.Authorization = new("Bearer", token.Str("access_token"));
            using var response = await _http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await WhoAmI("contoso.crm.microsoftdynamics.us"));
        Assert.Equal(HttpStatusCode.Unauthorized, await WhoAmI("fabrikam.crm.microsoftdynamics.us"));
    }

    [Fact]
    public async Task Authorize_with_form_post_answers_a_form_for_the_redirect_uri()
    {
        var verifier = "v" + new string('x', 50);
        var url = $"https://login.microsoftonline.us/organizations/oauth2/v2.0/authorize?client_id={Client}&response_type=code&response_mode=form_post" +
            $"&redirect_uri={Uri.EscapeDataString("http://localhost:5123")}&scope={Uri.EscapeDataString(Org + "/.default offline_access")}" +
            $"&code_challenge={Jws.S256Challenge(verifier)}&code_challenge_method=S256&state=st1";

        using var response = await _http.GetAsync(url);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("action=\"http://localhost:5123/\"", html, StringComparison.Ordinal);
        Assert.Contains("name=\"code\"", html, StringComparison.Ordinal);
        Assert.Contains("name=\"state\" value=\"st1\"", html, StringComparison.Ordinal);
        var code = System.Text.RegularExpressions.Regex.Match(html, "name=\"code\" value=\"([^\"]*)\"").Groups[1].Value;

        // Redeemed with the redirect URI as MSAL.NET sends it: without the trailing slash the authorize step added.
        var (status, _) = await PostAsync(_http, new Uri($"https://login.microsoftonline.us/{_entra.TenantId:D}/oauth2/v2.0/token"),
            ("grant_type", "authorization_code"), ("client_id", Client), ("client_secret", Secret), ("code", WebUtility.HtmlDecode(code)),
            ("redirect_uri", "http://localhost:5123"), ("code_verifier", verifier));
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task The_device_code_poll_accepts_the_short_grant_type_MSAL_sends()
    {
        var (_, dc) = await PostAsync(_http, new Uri("https://login.microsoftonline.us/organizations/oauth2/v2.0/devicecode"), ("client_id", Client), ("scope", Org + "/.default"));
        Assert.True(_entra.ApproveDeviceCode(dc.Str("user_code"), "admin@contoso.onmicrosoft.com"));
        Assert.StartsWith("https://login.microsoftonline.us/", dc.Str("verification_uri"), StringComparison.Ordinal);

        var (status, _) = await PostAsync(_http, new Uri("https://login.microsoftonline.us/organizations/oauth2/v2.0/token"),
            ("grant_type", "device_code"), ("client_id", Client), ("device_code", dc.Str("device_code")));

        Assert.Equal(HttpStatusCode.OK, status);
    }
}
