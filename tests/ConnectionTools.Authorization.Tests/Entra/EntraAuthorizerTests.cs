using ConnectionTools.Authorization.Entra;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Tests;

public sealed class EntraAuthorizerTests
{
    public static TheoryData<EnvironmentType> AllClouds => new(Enum.GetValues<EnvironmentType>());

    public static TheoryData<EnvironmentType> PublicAndGccHigh => new(EnvironmentType.Public, EnvironmentType.GCCHigh);

    [Theory]
    [MemberData(nameof(AllClouds))]
    public async Task Client_secret_signs_in_at_the_clouds_authority_for_the_environments_scope(EnvironmentType cloud)
    {
        await using var rig = await EntraRig.StartAsync(cloud);

        var outcome = await rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.ClientSecret));

        Assert.Equal(rig.Emulator.OrganizationId.ToString("D"), outcome.OrganizationId);
        Assert.Equal("app:" + EntraRig.ConfidentialClient, outcome.AuthorizedAs);
        Assert.Equal(AuthorizationFlow.ClientSecret, outcome.Grant.Flow);
        Assert.Equal(EntraRig.Secret, outcome.Grant.ClientSecret);
        Assert.Equal(rig.Tenant, outcome.Grant.TenantId);
        Assert.Equal(EntraRig.ConfidentialClient, outcome.Grant.ClientId);
        Assert.Null(outcome.Grant.TokenCache);
        AssertReachedOnlyTheCloud(rig, "client_credentials");
        rig.AssertVerboseClean(outcome.AccessToken);
    }

    [Theory]
    [MemberData(nameof(AllClouds))]
    public async Task Client_certificate_signs_in_at_the_clouds_authority_and_refreshes_from_the_pfx_file(EnvironmentType cloud)
    {
        await using var rig = await EntraRig.StartAsync(cloud);

        var outcome = await rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.ClientCertificate));

        Assert.Equal(rig.Emulator.OrganizationId.ToString("D"), outcome.OrganizationId);
        Assert.Equal("app:" + EntraRig.ConfidentialClient, outcome.AuthorizedAs);
        Assert.Equal(rig.Certificate.PfxPath, outcome.Grant.CertificatePath);
        Assert.Equal(EntraRig.CertificatePassword, outcome.Grant.CertificatePassword);
        Assert.Null(outcome.Grant.ClientSecret);
        AssertReachedOnlyTheCloud(rig, "client_credentials");

        // The refresh has no certificate object: it loads the PFX again from the stored path and password.
        rig.Emulator.ResetRequestLog();
        var refreshed = await rig.RefreshAsync(outcome.Grant);
        Assert.Equal(outcome.OrganizationId, refreshed.OrganizationId);
        Assert.NotEqual(outcome.AccessToken, refreshed.AccessToken);
        AssertReachedOnlyTheCloud(rig, "client_credentials");
        rig.AssertVerboseClean(outcome.AccessToken, refreshed.AccessToken);
    }

    [Theory]
    [MemberData(nameof(AllClouds))]
    public async Task Device_code_shows_the_message_signs_the_user_in_and_keeps_the_msal_cache(EnvironmentType cloud)
    {
        await using var rig = await EntraRig.StartAsync(cloud);

        var outcome = await rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.DeviceCode));

        Assert.Single(rig.DeviceMessages);
        Assert.Contains("enter the code", rig.DeviceMessages[0], StringComparison.Ordinal);
        Assert.Equal(rig.Emulator.OrganizationId.ToString("D"), outcome.OrganizationId);
        Assert.Equal(EntraRig.User, outcome.AuthorizedAs);
        Assert.Equal(AuthorizationFlow.DeviceCode, outcome.Grant.Flow);
        Assert.Equal(EntraAuthorizer.WellKnownPublicClientId, outcome.Grant.ClientId);
        Assert.False(string.IsNullOrEmpty(outcome.Grant.TokenCache));
        Assert.StartsWith(rig.Emulator.RegisterUser(EntraRig.User).ToString("D"), outcome.Grant.AccountId, StringComparison.Ordinal);
        Assert.Null(outcome.Grant.ClientSecret);
        AssertReachedOnlyTheCloud(rig, "device_code");
        Assert.Contains(rig.Emulator.Requests, r => r.Path == "/organizations/oauth2/v2.0/devicecode" && r.Host == rig.AuthorityHost);
        rig.AssertVerboseClean(outcome.AccessToken, outcome.Grant.TokenCache);
    }

    [Theory]
    [MemberData(nameof(PublicAndGccHigh))]
    public async Task Interactive_opens_the_browser_once_with_the_login_hint_and_redeems_the_code(EnvironmentType cloud)
    {
        await using var rig = await EntraRig.StartAsync(cloud);
        var spec = rig.Spec(AuthorizationFlow.Interactive);
        spec.Username = "second@contoso.onmicrosoft.com";
        rig.Emulator.RegisterUser(spec.Username);

        var outcome = await rig.AuthorizeAsync(spec);

        Assert.Equal(1, rig.BrowserOpened);
        Assert.Equal(spec.Username, outcome.AuthorizedAs);
        Assert.Equal(rig.Emulator.OrganizationId.ToString("D"), outcome.OrganizationId);
        Assert.False(string.IsNullOrEmpty(outcome.Grant.TokenCache));
        Assert.NotNull(outcome.Grant.AccountId);
        var authorize = Assert.Single(rig.Router.Sent, u => u.AbsolutePath.EndsWith("/oauth2/v2.0/authorize", StringComparison.Ordinal));
        Assert.Equal(rig.AuthorityHost, authorize.Host);
        Assert.Contains("login_hint=second%40contoso.onmicrosoft.com", authorize.Query, StringComparison.Ordinal);
        Assert.Contains("scope=" + Uri.EscapeDataString("https://" + rig.EnvironmentHost + "/.default"), authorize.Query, StringComparison.OrdinalIgnoreCase);
        AssertReachedOnlyTheCloud(rig, "authorization_code");
        rig.AssertVerboseClean(outcome.AccessToken, outcome.Grant.TokenCache);
    }

    private static void AssertReachedOnlyTheCloud(EntraRig rig, string grantType)
    {
        var token = Assert.Single(rig.Emulator.Requests, r => r.GrantType == grantType && r.StatusCode == 200);
        Assert.Equal(rig.AuthorityHost, token.Host);
        var whoAmI = Assert.Single(rig.Emulator.Requests, r => r.Path == "/api/data/v9.2/WhoAmI" && r.StatusCode == 200);
        Assert.Equal(rig.EnvironmentHost, whoAmI.Host);
        Assert.All(rig.Router.Sent, u => Assert.True(u.IsLoopback || u.Host == rig.AuthorityHost || u.Host == rig.EnvironmentHost, $"unexpected host {u.Host}"));
        Assert.All(rig.Emulator.Requests, r => Assert.NotEqual(421, r.StatusCode));
    }
}
