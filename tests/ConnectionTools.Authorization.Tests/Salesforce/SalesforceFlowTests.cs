using System.Security.Cryptography.X509Certificates;
using ConnectionTools.Authorization.Salesforce;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;

namespace ConnectionTools.Authorization.Tests;

/// <summary>Each Salesforce flow end to end against a loopback emulator reached by the org's real host, production and sandbox.</summary>
public sealed class SalesforceFlowTests
{
    private readonly SalesforceAuthorizer _authorizer = new();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Interactive_sign_in_uses_PKCE_and_a_loopback_redirect_on_the_My_Domain(bool sandbox)
    {
        await using var org = await SalesforceOrg.StartAsync(sandbox);
        var outcome = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.Interactive), org.Context(), CancellationToken.None);

        Assert.Equal(org.OrgId, outcome.OrganizationId);
        Assert.Equal(18, outcome.OrganizationId.Length);
        Assert.Equal(SalesforceOrg.Username, outcome.AuthorizedAs);
        Assert.Equal(AuthorizationFlow.Interactive, outcome.Grant.Flow);
        Assert.Equal(SalesforceOrg.ConsumerKey, outcome.Grant.ClientId);
        Assert.StartsWith("5Aep", outcome.Grant.RefreshToken, StringComparison.Ordinal);
        Assert.Equal(org.InstanceUrl, outcome.Grant.ApiUrl);
        Assert.StartsWith("00D!", outcome.AccessToken, StringComparison.Ordinal);

        var opened = Assert.Single(org.Opened);
        Assert.Equal($"https://{org.Host}/services/oauth2/authorize", opened.GetLeftPart(UriPartial.Path));
        var query = opened.Query;
        Assert.Contains("code_challenge_method=S256", query, StringComparison.Ordinal);
        Assert.Contains("response_type=code", query, StringComparison.Ordinal);
        Assert.Contains("state=", query, StringComparison.Ordinal);
        Assert.Contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A", query, StringComparison.Ordinal);
        Assert.StartsWith("200 ", Assert.Single(org.BrowserPages), StringComparison.Ordinal);
        Assert.Contains("close this window", org.BrowserPages.Single(), StringComparison.Ordinal);

        // Every provider call went to the My Domain, and the emulator saw that host (it answers 421 to any other).
        Assert.All(org.Router.Sent, u => Assert.Equal(org.Host, u.Host));
        Assert.All(org.Emulator.Requests, r => Assert.Equal(r.Path == "/services/oauth2/authorize" ? 302 : 200, r.StatusCode));
        Assert.All(org.Emulator.Requests, r => Assert.Equal(org.Host, r.Host));
        Assert.Contains(org.Verbose, v => v.StartsWith($"POST https://{org.Host}/services/oauth2/token (authorization_code) → 200 in ", StringComparison.Ordinal));
        Assert.Contains(org.Verbose, v => v.StartsWith($"GET https://{org.Host}/services/oauth2/userinfo (userinfo) → 200 in ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Device_code_sign_in_shows_the_code_and_polls_until_the_user_approves(bool sandbox)
    {
        await using var org = await SalesforceOrg.StartAsync(sandbox);
        var outcome = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.DeviceCode), org.DeviceContext(), CancellationToken.None);

        Assert.Equal(org.OrgId, outcome.OrganizationId);
        Assert.Equal(SalesforceOrg.Username, outcome.AuthorizedAs);
        Assert.Equal(AuthorizationFlow.DeviceCode, outcome.Grant.Flow);
        Assert.False(string.IsNullOrEmpty(outcome.Grant.RefreshToken));
        var message = Assert.Single(org.DeviceMessages);
        Assert.Contains($"https://{org.Host}/setup/connect", message, StringComparison.Ordinal);
        Assert.Contains(org.Emulator.Requests, r => r.GrantType == "device" && r.StatusCode == 200);
        Assert.All(org.Router.Sent, u => Assert.Equal(org.Host, u.Host));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Jwt_bearer_signs_for_the_login_host_of_the_orgs_kind_and_posts_to_the_My_Domain(bool sandbox)
    {
        await using var org = await SalesforceOrg.StartAsync(sandbox);
        var spec = org.Spec(AuthorizationFlow.JwtBearer);
        var outcome = await _authorizer.AuthorizeAsync(spec, org.Context(), CancellationToken.None);

        Assert.Equal(org.OrgId, outcome.OrganizationId);
        Assert.Equal(SalesforceOrg.Username, outcome.AuthorizedAs);
        Assert.Null(outcome.Grant.RefreshToken);
        Assert.Equal(AuthorizationFlow.JwtBearer, outcome.Grant.Flow);
        Assert.Equal(SalesforceOrg.ConsumerKey, outcome.Grant.ClientId);
        Assert.Equal(SalesforceOrg.Username, outcome.Grant.Username);
        Assert.Equal(SalesforceCertificates.PfxPath, outcome.Grant.CertificatePath);
        Assert.Equal(SalesforceCertificates.PfxPassword, outcome.Grant.CertificatePassword);
        Assert.Equal(org.InstanceUrl, outcome.Grant.ApiUrl);
        // The org comes from the token answer's identity URL: no userinfo call (a standard server refuses it without openid).
        Assert.Equal([$"https://{org.Host}/services/oauth2/token"], org.Router.Sent.Select(u => u.AbsoluteUri));
        Assert.Contains(org.Verbose, v => v.StartsWith($"POST https://{org.Host}/services/oauth2/token (jwt-bearer) → 200 in ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Jwt_bearer_with_an_already_loaded_certificate()
    {
        await using var org = await SalesforceOrg.StartAsync();
        var spec = org.Spec(AuthorizationFlow.JwtBearer);
        spec.CertificatePath = null;
        spec.CertificatePassword = null;
        spec.Certificate = SalesforceCertificates.Certificate;
        var outcome = await _authorizer.AuthorizeAsync(spec, org.Context(), CancellationToken.None);
        Assert.Equal(org.OrgId, outcome.OrganizationId);
        // Kept so Refresh can find it again in the store.
        Assert.Equal(SalesforceCertificates.Certificate.Thumbprint, outcome.Grant.CertificateThumbprint);
        Assert.NotNull(SalesforceCertificates.Certificate.GetRSAPrivateKey()); // not disposed by the authorizer
    }

    [Fact]
    public async Task Refresh_of_a_JWT_grant_reloads_the_certificate_by_thumbprint_from_CurrentUser_My()
    {
        await using var org = await SalesforceOrg.StartAsync();
        using var exportable = X509CertificateLoader.LoadPkcs12FromFile(SalesforceCertificates.PfxPath, SalesforceCertificates.PfxPassword,
            X509KeyStorageFlags.Exportable | X509KeyStorageFlags.PersistKeySet);
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        store.Add(exportable);
        try
        {
            var spec = org.Spec(AuthorizationFlow.JwtBearer);
            spec.CertificatePath = null;
            spec.CertificatePassword = null;
            spec.CertificateThumbprint = exportable.Thumbprint.ToLowerInvariant();
            var outcome = await _authorizer.AuthorizeAsync(spec, org.Context(), CancellationToken.None);
            Assert.Equal(spec.CertificateThumbprint, outcome.Grant.CertificateThumbprint);
            var refreshed = await _authorizer.RefreshAsync(org.Target, outcome.Grant, org.Context(), CancellationToken.None);
            Assert.Equal(org.OrgId, refreshed.OrganizationId);
        }
        finally
        {
            store.Remove(exportable);
        }
    }

    [Fact]
    public async Task The_audience_follows_the_connection_type_not_the_host()
    {
        // A sandbox emulator wants aud https://test.salesforce.com; a production connection signs for login.salesforce.com.
        await using var org = await SalesforceOrg.StartAsync(sandbox: true);
        var spec = org.Spec(AuthorizationFlow.JwtBearer);
        spec.Type = ConnectionType.SalesforceProduction;
        var refused = await Assert.ThrowsAsync<ProviderRefusedException>(() => _authorizer.AuthorizeAsync(spec, org.Context(), CancellationToken.None));
        Assert.Equal("invalid_grant: audience is invalid", refused.ProviderSaid);
    }

    [Fact]
    public async Task A_loopback_instance_URL_works_directly()
    {
        await using var emulator = await SalesforceEmulator.StartNewAsync();
        emulator.RegisterConnectedApp(SalesforceOrg.ConsumerKey, null, SalesforceCertificates.Certificate);
        emulator.RegisterUser(SalesforceOrg.Username);
        using var http = new HttpClient();
        var spec = new AuthorizationSpec
        {
            Type = ConnectionType.SalesforceProduction,
            InstanceUrl = emulator.BaseUri,
            Flow = AuthorizationFlow.JwtBearer,
            ClientId = SalesforceOrg.ConsumerKey,
            Username = SalesforceOrg.Username,
            CertificatePath = SalesforceCertificates.PfxPath,
            CertificatePassword = SalesforceCertificates.PfxPassword,
        };
        var context = new AuthorizationContext(http);
        var outcome = await _authorizer.AuthorizeAsync(spec, context, CancellationToken.None);
        Assert.Equal(emulator.OrganizationId, outcome.OrganizationId);
        Assert.Equal(emulator.BaseUri, outcome.Grant.ApiUrl);
        var refreshed = await _authorizer.RefreshAsync(new SystemTarget(ConnectionType.SalesforceProduction, EnvironmentType.Public, emulator.BaseUri), outcome.Grant, context, CancellationToken.None);
        Assert.Equal(emulator.OrganizationId, refreshed.OrganizationId);
    }

    [Fact]
    public async Task Refresh_uses_the_refresh_token_and_keeps_it_when_Salesforce_does_not_rotate_it()
    {
        await using var org = await SalesforceOrg.StartAsync();
        var first = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.Interactive), org.Context(), CancellationToken.None);
        var refreshToken = first.Grant.RefreshToken;
        org.Emulator.ResetRequestLog();

        var refreshed = await _authorizer.RefreshAsync(org.Target, first.Grant, org.Context(), CancellationToken.None);
        Assert.Equal(refreshToken, refreshed.Grant.RefreshToken);
        Assert.NotSame(first.Grant, refreshed.Grant);
        Assert.NotEqual(first.AccessToken, refreshed.AccessToken);
        Assert.Equal(org.OrgId, refreshed.OrganizationId);
        Assert.Equal("refresh_token", org.Emulator.Requests[0].GrantType);
        Assert.Equal(0, org.Emulator.Opened());
    }

    [Fact]
    public async Task A_changed_org_id_is_visible_on_refresh_for_both_kinds_of_grant()
    {
        await using var org = await SalesforceOrg.StartAsync(sandbox: true);
        var interactive = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.Interactive), org.Context(), CancellationToken.None);
        var jwt = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.JwtBearer), org.Context(), CancellationToken.None);
        org.Emulator.ChangeOrganizationId("00D7x000000NeWiDAA");

        Assert.Equal("00D7x000000NeWiDAA", (await _authorizer.RefreshAsync(org.Target, interactive.Grant, org.Context(), CancellationToken.None)).OrganizationId);
        var renewed = await _authorizer.RefreshAsync(org.Target, jwt.Grant, org.Context(), CancellationToken.None);
        Assert.Equal("00D7x000000NeWiDAA", renewed.OrganizationId);
        Assert.Null(renewed.Grant.RefreshToken);
    }

    [Fact]
    public async Task Refresh_after_a_revoked_or_expired_grant_is_refused_as_Expired()
    {
        await using var org = await SalesforceOrg.StartAsync();
        var a = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.Interactive), org.Context(), CancellationToken.None);
        var b = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.DeviceCode), org.DeviceContext(), CancellationToken.None);

        Assert.True(org.Emulator.RevokeGrant(a.Grant.RefreshToken!));
        var revoked = await Assert.ThrowsAsync<ProviderRefusedException>(() => _authorizer.RefreshAsync(org.Target, a.Grant, org.Context(), CancellationToken.None));
        Assert.Equal(InactiveReason.Expired, revoked.Reason);
        Assert.Equal("invalid_grant: expired access/refresh token", revoked.ProviderSaid);

        // The other grant still works until every token expires.
        await _authorizer.RefreshAsync(org.Target, b.Grant, org.Context(), CancellationToken.None);
        org.Emulator.ExpireTokens();
        var expired = await Assert.ThrowsAsync<ProviderRefusedException>(() => _authorizer.RefreshAsync(org.Target, b.Grant, org.Context(), CancellationToken.None));
        Assert.Equal(InactiveReason.Expired, expired.Reason);
    }

    [Fact]
    public async Task Revoke_revokes_the_refresh_token_at_Salesforce_and_a_JWT_grant_has_nothing_to_revoke()
    {
        await using var org = await SalesforceOrg.StartAsync();
        var interactive = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.Interactive), org.Context(), CancellationToken.None);
        Assert.False(org.Emulator.IsRevoked(interactive.Grant.RefreshToken!));

        Assert.True(await _authorizer.RevokeAsync(org.Target, interactive.Grant, org.Context(), CancellationToken.None));
        Assert.True(org.Emulator.IsRevoked(interactive.Grant.RefreshToken!));
        Assert.Contains(org.Emulator.Requests, r => r.Path == "/services/oauth2/revoke" && r.StatusCode == 200 && r.Host == org.Host);
        var refused = await Assert.ThrowsAsync<ProviderRefusedException>(() => _authorizer.RefreshAsync(org.Target, interactive.Grant, org.Context(), CancellationToken.None));
        Assert.Equal(InactiveReason.Expired, refused.Reason);

        var jwt = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.JwtBearer), org.Context(), CancellationToken.None);
        var before = org.Emulator.RequestCount;
        Assert.False(await _authorizer.RevokeAsync(org.Target, jwt.Grant, org.Context(), CancellationToken.None));
        Assert.Equal(before, org.Emulator.RequestCount);
    }

    [Fact]
    public async Task A_429_storm_is_ridden_out_by_honouring_Retry_After_within_three_attempts()
    {
        await using var org = await SalesforceOrg.StartAsync();
        var users = Enumerable.Range(1, 6).Select(i => $"storm{i}@contoso.example").ToList();
        users.ForEach(u => org.Emulator.RegisterUser(u));
        var grants = new List<GrantMaterial>();
        foreach (var _ in Enumerable.Range(0, 4))
        {
            grants.Add((await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.Interactive), org.Context(), CancellationToken.None)).Grant);
        }
        org.Emulator.ResetRequestLog();
        org.Emulator.TooManyRequestsRatio = 0.3;

        var calls = users.Select(u =>
            {
                var spec = org.Spec(AuthorizationFlow.JwtBearer);
                spec.Username = u;
                return _authorizer.AuthorizeAsync(spec, org.Context(), CancellationToken.None);
            })
            .Concat(grants.Select(g => _authorizer.RefreshAsync(org.Target, g, org.Context(), CancellationToken.None)))
            .ToList();
        var outcomes = await Task.WhenAll(calls);
        var revokes = await Task.WhenAll(grants.Select(g => _authorizer.RevokeAsync(org.Target, g, org.Context(), CancellationToken.None)));

        Assert.All(outcomes, o => Assert.Equal(org.OrgId, o.OrganizationId));
        Assert.All(revokes, Assert.True);
        Assert.True(org.Emulator.ThrottledCount > 0, "the storm threw no 429");
        Assert.Contains(org.Verbose, v => v.Contains(" attempts", StringComparison.Ordinal));
        Assert.DoesNotContain(org.Verbose, v => v.Contains(", 4 attempts", StringComparison.Ordinal));
        // Every answered call took at most 3 attempts: 429s never outnumber twice the successful calls.
        Assert.True(org.Emulator.ThrottledCount <= 2 * org.Emulator.Requests.Count(r => r.StatusCode != 429));
    }
}

internal static class EmulatorTestExtensions
{
    /// <summary>How many times the authorize page was requested (no browser in a refresh).</summary>
    public static int Opened(this SalesforceEmulator emulator) => emulator.Requests.Count(r => r.Path == "/services/oauth2/authorize");
}
