using ConnectionTools.Authorization.Entra;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;

namespace ConnectionTools.Authorization.Tests;

public sealed class EntraRefreshTests
{
    public static TheoryData<EnvironmentType, AuthorizationFlow> UserFlows => new()
    {
        { EnvironmentType.Public, AuthorizationFlow.DeviceCode },
        { EnvironmentType.GCCHigh, AuthorizationFlow.Interactive },
    };

    [Theory]
    [MemberData(nameof(UserFlows))]
    public async Task Refresh_uses_the_stored_msal_cache_without_interaction_and_returns_the_rotated_cache(EnvironmentType cloud, AuthorizationFlow flow)
    {
        await using var rig = await EntraRig.StartAsync(cloud);
        var first = await rig.AuthorizeAsync(rig.Spec(flow));
        var opened = rig.BrowserOpened;
        var shown = rig.DeviceMessages.Count;
        rig.Emulator.ResetRequestLog();

        var second = await rig.RefreshAsync(first.Grant);

        Assert.Equal(opened, rig.BrowserOpened);
        Assert.Equal(shown, rig.DeviceMessages.Count);
        Assert.Equal(first.OrganizationId, second.OrganizationId);
        Assert.Equal(EntraRig.User, second.AuthorizedAs);
        Assert.NotEqual(first.AccessToken, second.AccessToken);
        Assert.NotEqual(first.Grant.TokenCache, second.Grant.TokenCache);
        Assert.Equal(first.Grant.AccountId, second.Grant.AccountId);
        Assert.Equal(flow, second.Grant.Flow);
        var refresh = Assert.Single(rig.Emulator.Requests, r => r.GrantType == "refresh_token");
        Assert.Equal(200, refresh.StatusCode);
        Assert.Equal(rig.AuthorityHost, refresh.Host);

        // The refresh token rotates: the new cache refreshes again; the old one (its refresh token used up) does not.
        var third = await rig.RefreshAsync(second.Grant);
        Assert.Equal(first.OrganizationId, third.OrganizationId);
        await Assert.ThrowsAsync<ProviderRefusedException>(() => rig.RefreshAsync(first.Grant));
        rig.AssertVerboseClean(first.AccessToken, second.AccessToken, third.AccessToken, first.Grant.TokenCache, second.Grant.TokenCache);
    }

    [Fact]
    public async Task Refresh_after_the_grant_was_revoked_is_Revoked()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.GCCHigh);
        var outcome = await rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.DeviceCode));
        Assert.True(rig.Emulator.RevokeGrant(outcome.AccessToken));

        var refused = await Assert.ThrowsAsync<ProviderRefusedException>(() => rig.RefreshAsync(outcome.Grant));

        Assert.Equal(InactiveReason.Revoked, refused.Reason);
        Assert.StartsWith("invalid_grant: AADSTS50173:", refused.ProviderSaid, StringComparison.Ordinal);
        Assert.DoesNotContain("Trace ID", refused.ProviderSaid, StringComparison.Ordinal);
        EntraRig.AssertNoSecrets(refused.Message, outcome.AccessToken, outcome.Grant.TokenCache);
        rig.AssertVerboseClean(outcome.AccessToken, outcome.Grant.TokenCache);
    }

    [Theory]
    [InlineData(EntraExpiryReason.Inactivity, InactiveReason.Expired, "AADSTS700082")]
    [InlineData(EntraExpiryReason.SignInFrequency, InactiveReason.PolicyBlocked, "AADSTS70043")]
    public async Task Refresh_after_the_tokens_expired_is_classified_by_the_AADSTS_code(EntraExpiryReason expiry, InactiveReason reason, string code)
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.Public);
        var outcome = await rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.Interactive));
        rig.Emulator.ExpireTokens(expiry);

        var refused = await Assert.ThrowsAsync<ProviderRefusedException>(() => rig.RefreshAsync(outcome.Grant));

        Assert.Equal(reason, refused.Reason);
        Assert.Contains(code, refused.ProviderSaid, StringComparison.Ordinal);
        EntraRig.AssertNoSecrets(refused.ToString(), outcome.AccessToken, outcome.Grant.TokenCache);
        // The refusal is the provider's answer: tried once, not retried.
        Assert.Single(rig.Emulator.Requests, r => r.GrantType == "refresh_token");
    }

    [Theory]
    [InlineData(AuthorizationFlow.DeviceCode)]
    [InlineData(AuthorizationFlow.ClientSecret)]
    [InlineData(AuthorizationFlow.ClientCertificate)]
    public async Task A_changed_OrganizationId_shows_on_refresh(AuthorizationFlow flow)
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.DoD);
        var first = await rig.AuthorizeAsync(rig.Spec(flow));
        var sandboxRefresh = Guid.NewGuid();
        rig.Emulator.ChangeOrganizationId(sandboxRefresh);

        var second = await rig.RefreshAsync(first.Grant);

        Assert.NotEqual(first.OrganizationId, second.OrganizationId);
        Assert.Equal(sandboxRefresh.ToString("D"), second.OrganizationId);
    }

    [Fact]
    public async Task Client_credentials_refresh_needs_no_stored_token_and_ignores_user_grant_expiry()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.China);
        var first = await rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.ClientSecret));
        rig.Emulator.ExpireTokens(EntraExpiryReason.SignInFrequency);

        var second = await rig.RefreshAsync(first.Grant);

        Assert.Equal("app:" + EntraRig.ConfidentialClient, second.AuthorizedAs);
        Assert.Equal(EntraRig.Secret, second.Grant.ClientSecret);
        Assert.Null(second.Grant.TokenCache);
    }

    [Fact]
    public async Task A_429_storm_still_succeeds_by_honouring_Retry_After()
    {
        // Seeded: with TooManyRequestsRatio 0.3, each call has 3 tries (ProviderRetry.MaxAttempts). Until EmulatorHost
        // lets a client that waited Retry-After through on its next try, a different seed or call order can exhaust them.
        await using var rig = await EntraRig.StartAsync(EnvironmentType.GCCHigh, seed: 7);
        var user = await rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.DeviceCode));
        rig.Emulator.TooManyRequestsRatio = 0.3;

        var grant = user.Grant;
        for (var i = 0; i < 4; i++)
        {
            var app = await rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.ClientSecret));
            Assert.Equal(rig.Emulator.OrganizationId.ToString("D"), app.OrganizationId);
            var refreshed = await rig.RefreshAsync(grant);
            Assert.Equal(rig.Emulator.OrganizationId.ToString("D"), refreshed.OrganizationId);
            grant = refreshed.Grant;
        }

        Assert.True(rig.Emulator.ThrottledCount > 0, "the storm throttled some requests");
        Assert.All(rig.Emulator.Requests.Where(r => r.StatusCode == 429), r => Assert.NotEqual("/common/discovery/instance", r.Path));
    }

    [Fact]
    public async Task Parallel_refreshes_of_different_grants_never_share_cache_state()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.Public);
        var users = Enumerable.Range(1, 8).Select(i => $"user{i}@contoso.onmicrosoft.com").ToList();
        var grants = new List<(string User, GrantMaterial Grant)>();
        foreach (var user in users)
        {
            var spec = rig.Spec(AuthorizationFlow.Interactive);
            spec.Username = user;
            rig.Emulator.RegisterUser(user);
            grants.Add((user, (await rig.AuthorizeAsync(spec)).Grant));
        }

        var outcomes = await Task.WhenAll(grants.Select(async g => (g.User, Outcome: await rig.RefreshAsync(g.Grant))));

        Assert.All(outcomes, o => Assert.Equal(o.User, o.Outcome.AuthorizedAs));
        Assert.Equal(users.Count, outcomes.Select(o => o.Outcome.Grant.TokenCache).Distinct().Count());
    }

    [Fact]
    public async Task Revoke_sends_nothing_and_returns_false()
    {
        await using var rig = await EntraRig.StartAsync(EnvironmentType.Public);
        var outcome = await rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.DeviceCode));
        rig.Emulator.ResetRequestLog();
        var sent = rig.Router.Sent.Count;

        Assert.False(await rig.Authorizer.RevokeAsync(rig.Target, outcome.Grant, rig.Context, CancellationToken.None));

        Assert.Equal(0, rig.Emulator.RequestCount);
        Assert.Equal(sent, rig.Router.Sent.Count);
        // The grant still works: nothing was removed.
        await rig.RefreshAsync(outcome.Grant);
    }
}
