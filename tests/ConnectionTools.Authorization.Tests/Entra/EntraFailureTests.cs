using ConnectionTools.Authorization.Entra;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Tests;

public sealed class EntraFailureTests
{
    [Theory]
    [InlineData(AuthorizationFlow.Interactive)]
    [InlineData(AuthorizationFlow.DeviceCode)]
    public async Task A_session_that_cannot_prompt_fails_before_any_network_call(AuthorizationFlow flow)
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.GCCHigh);

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.AuthorizeAsync(rig.Spec(flow, canInteract: false)));

        Assert.Equal(ErrorIds.AuthorizationInteractionRequired, error.ErrorId);
        Assert.Contains("-TenantId", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Contains("-ClientId", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Contains("-ClientSecret", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Contains("-CertificatePath", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Equal(0, rig.Emulator.RequestCount);
        Assert.Empty(rig.Router.Sent);
        Assert.Equal(0, rig.BrowserOpened);
        Assert.Empty(rig.DeviceMessages);
    }

    [Fact]
    public async Task A_wrong_client_secret_is_InvalidClient_and_never_shows_the_secret()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.Public);
        var spec = rig.Spec(AuthorizationFlow.ClientSecret);
        spec.ClientSecret = "Wr0ng~secret.value-that-must-not-leak";

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.AuthorizeAsync(spec));

        Assert.Equal(ErrorIds.AuthorizationInvalidClient, error.ErrorId);
        Assert.Contains("AADSTS7000215", error.Message, StringComparison.Ordinal);
        Assert.Contains("-ClientSecret", error.RecommendedAction, StringComparison.Ordinal);
        EntraRig.AssertNoSecrets(error.ToString(), spec.ClientSecret);
        rig.AssertVerboseClean(spec.ClientSecret);
        // A configuration error is not retried.
        Assert.Single(rig.Emulator.Requests, r => r.GrantType == "client_credentials");
    }

    [Fact]
    public async Task An_unknown_app_is_InvalidClient()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.DoD);
        var spec = rig.Spec(AuthorizationFlow.ClientSecret);
        spec.ClientId = "99999999-9999-9999-9999-999999999999";

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.AuthorizeAsync(spec));

        Assert.Equal(ErrorIds.AuthorizationInvalidClient, error.ErrorId);
        Assert.Contains("AADSTS700016", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_the_app_does_not_know_is_InvalidClient()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.China);
        using var other = ClientCertificate.Create("CN=Some other app");
        var spec = rig.Spec(AuthorizationFlow.ClientCertificate);
        spec.Certificate = other.WithKey;

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.AuthorizeAsync(spec));

        Assert.Equal(ErrorIds.AuthorizationInvalidClient, error.ErrorId);
        Assert.Contains("AADSTS700027", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_environment_the_tenant_does_not_have_is_refused_for_its_scope()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.GCCHigh);
        // Routed to the emulator, but not registered there as a resource: the scope names an unknown resource.
        rig.Router.Route("fabrikam.crm.microsoftdynamics.us", rig.Emulator);
        var spec = rig.Spec(AuthorizationFlow.ClientSecret);
        spec.InstanceUrl = new Uri("https://fabrikam.crm.microsoftdynamics.us/");

        var refused = await Assert.ThrowsAsync<ProviderRefusedException>(() => rig.AuthorizeAsync(spec));

        Assert.Equal(InactiveReason.ConsentRequired, refused.Reason);
        Assert.Contains("AADSTS500011", refused.ProviderSaid, StringComparison.Ordinal);
        Assert.Contains("https://fabrikam.crm.microsoftdynamics.us", refused.ProviderSaid, StringComparison.Ordinal);
        Assert.DoesNotContain(rig.Emulator.Requests, r => r.Path.StartsWith("/api/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_wrong_clouds_authority_host_is_not_served()
    {
        // The emulator serves only login.microsoftonline.us; a client that signed in at .com for a GCC High environment fails.
        await using var rig = await EntraRig.StartAsync(EnvironmentType.GCCHigh);
        rig.Router.Route("login.microsoftonline.com", rig.Emulator);
        var spec = rig.Spec(AuthorizationFlow.ClientSecret);
        spec.EnvironmentType = EnvironmentType.Public;

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.AuthorizeAsync(spec));

        Assert.Equal(ErrorIds.AuthorizationProtocol, error.ErrorId);
        Assert.Contains("HTTP 421", error.Message, StringComparison.Ordinal);
        Assert.Contains(rig.Emulator.Requests, r => r.StatusCode == 421 && r.Host == "login.microsoftonline.com");
        Assert.DoesNotContain(rig.Emulator.Requests, r => r.GrantType == "client_credentials" && r.StatusCode == 200);
    }

    [Theory]
    [InlineData(AuthorizationFlow.ClientSecret)]
    [InlineData(AuthorizationFlow.ClientCertificate)]
    public async Task Client_credentials_without_a_tenant_are_InvalidFlow_naming_TenantId(AuthorizationFlow flow)
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.Public);
        var spec = rig.Spec(flow);
        spec.TenantId = null;

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.AuthorizeAsync(spec));

        Assert.Equal(ErrorIds.AuthorizationInvalidFlow, error.ErrorId);
        Assert.Contains("-TenantId", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Equal(0, rig.Emulator.RequestCount);
    }

    [Fact]
    public async Task JwtBearer_is_InvalidFlow_for_Dynamics()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.Public);
        var spec = rig.Spec(AuthorizationFlow.JwtBearer);

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.AuthorizeAsync(spec));
        var refreshError = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.RefreshAsync(new GrantMaterial { Flow = AuthorizationFlow.JwtBearer }));

        Assert.Equal(ErrorIds.AuthorizationInvalidFlow, error.ErrorId);
        Assert.Equal(ErrorIds.AuthorizationInvalidFlow, refreshError.ErrorId);
        Assert.Equal(0, rig.Emulator.RequestCount);
    }

    [Fact]
    public async Task An_unreachable_authority_is_ProviderUnavailable_after_retries()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.Public);
        var spec = rig.Spec(AuthorizationFlow.ClientSecret);
        // Sovereign cloud chosen, but no route for login.microsoftonline.us: every connection attempt fails.
        spec.EnvironmentType = EnvironmentType.GCCHigh;
        spec.InstanceUrl = new Uri("https://contoso.crm.microsoftdynamics.us/");

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.AuthorizeAsync(spec));

        Assert.Equal(ErrorIds.AuthorizationProviderUnavailable, error.ErrorId);
        Assert.Contains("login.microsoftonline.us", error.Message, StringComparison.Ordinal);
        Assert.True(rig.Router.Sent.Count(u => u.Host == "login.microsoftonline.us") >= ProviderRetry.MaxAttempts);
        EntraRig.AssertNoSecrets(error.ToString());
    }

    [Fact]
    public async Task A_declined_device_code_is_Declined()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.Public);
        rig.DeviceCodeApprover = null;
        rig.Context.ShowDeviceCode = message =>
        {
            var code = System.Text.RegularExpressions.Regex.Match(message, @"enter the code (\S+)").Groups[1].Value;
            rig.Emulator.DeclineDeviceCode(code);
        };

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.DeviceCode)));

        Assert.Equal(ErrorIds.AuthorizationDeclined, error.ErrorId);
    }

    [Fact]
    public async Task A_device_code_nobody_enters_times_out()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.Public);
        rig.DeviceCodeApprover = null;
        rig.Context.InteractionTimeout = TimeSpan.FromSeconds(3);

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.DeviceCode)));

        Assert.Equal(ErrorIds.AuthorizationTimedOut, error.ErrorId);
        Assert.Single(rig.DeviceMessages);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_stays_cancellation()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.Public);
        rig.DeviceCodeApprover = null;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rig.Authorizer.AuthorizeAsync(rig.Spec(AuthorizationFlow.DeviceCode), rig.Context, cts.Token));
    }

    [Fact]
    public async Task A_grant_whose_cache_lost_the_account_is_NoGrant_without_a_network_call()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.Public);
        var grant = new GrantMaterial { Flow = AuthorizationFlow.DeviceCode, ClientId = EntraAuthorizer.WellKnownPublicClientId, AccountId = "x.y", TokenCache = "not base64!" };

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.RefreshAsync(grant));

        Assert.Equal(ErrorIds.AuthorizationNoGrant, error.ErrorId);
        Assert.Equal(0, rig.Emulator.RequestCount);
    }
}
