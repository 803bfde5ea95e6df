using ConnectionTools.Emulators;
using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// The issue "Salesforce grants that survive real OAuth servers": refresh-token rotation, lost answers, concurrent refreshes,
/// the org from the token answer, RFC 7009 revocation, orphaned grants, node-wide defaults and RFC 9207's iss. Real store,
/// real HTTP on loopback, the Salesforce emulator reached by its My Domain host.
/// </summary>
public sealed class SalesforceRotationTests : IAsyncLifetime
{
    private TestStore _store = null!;
    private SalesforceOrg _org = null!;

    public async Task InitializeAsync()
    {
        _org = await SalesforceOrg.StartAsync();
        _store = new TestStore(clients: _org.NodeClients());
        // Any free port here: tests run in parallel, and the emulator accepts any loopback callback.
        _store.Store.SetNodeSetting(ConnectionNode.SalesforceRedirectSetting, "0/OauthRedirect", "tester");
    }

    public async Task DisposeAsync()
    {
        _store.Dispose();
        await _org.DisposeAsync();
    }

    private SalesforceEmulator Emulator => _org.Emulator;

    private Connection New(RecordingHost host, string name = "sf", string? clientId = SalesforceOrg.ConsumerKey)
    {
        new SystemConnectionCommands(_store.Node, host).New(new NewConnectionRequest
        {
            Name = name,
            Type = "SalesforceProduction",
            InstanceUrl = _org.InstanceUrl.AbsoluteUri,
            AcceptDataProcessingAgreement = true,
            ClientId = clientId,
            Interactive = true,
        });
        // A sign-in that failed here would make every later assertion of the test misleading.
        Assert.Empty(host.Errors);
        var connection = _store.Get(name);
        Assert.Equal(ConnectionStatus.Active, connection.Status);
        return connection;
    }

    private AuthorizationResult Test(ConnectionNode node, string name = "sf", RecordingHost? host = null)
    {
        host ??= new RecordingHost();
        new SystemConnectionCommands(node, host).Test([ConnectionTarget.ByName(name)], new TestAuthorizationRequest());
        return Assert.Single(host.OutputOf<AuthorizationResult>());
    }

    private string StoredRefreshToken(string name = "sf") =>
        GrantVault.ReadOrNull(_store.Node, _store.Get(name))!.RefreshToken!;

    private int RefreshRequests => Emulator.Requests.Count(r => r.GrantType == "refresh_token");

    private void NoSecretIn(IEnumerable<string> lines)
    {
        var secrets = _org.Recorder.Secrets();
        Assert.NotEmpty(secrets);
        foreach (var line in lines)
        {
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, line, StringComparison.Ordinal);
            }
        }
    }

    private static IEnumerable<string> Lines(RecordingHost host) =>
        host.Verbose.Concat(host.Warnings).Concat(host.Errors.Select(e => e.Message + " " + e.RecommendedAction))
            .Concat(host.OutputOf<AuthorizationResult>().Select(r => r.Message ?? ""));

    [Fact]
    public void Item1_a_rotated_refresh_token_is_saved_even_when_userinfo_fails_after_it()
    {
        New(new RecordingHost());
        Emulator.RotateRefreshTokens = true;
        Emulator.OmitIdentityUrl = true; // so the refresh needs userinfo after the token answer
        Emulator.FailUserInfoTimes = 1;
        var before = StoredRefreshToken();

        var host = new RecordingHost();
        var failed = Test(_store.Node, host: host);

        Assert.Equal(AuthorizationState.Failed, failed.Result);
        Assert.NotEqual(before, StoredRefreshToken());
        Assert.Equal(StoredRefreshToken(), Emulator.CurrentRefreshToken(before));
        var again = Test(_store.Node);
        Assert.Equal(AuthorizationState.Valid, again.Result);
        Assert.Equal(ConnectionStatus.Active, _store.Get("sf").Status);
        Assert.Equal(0, Emulator.RefreshTokenReuses);
        NoSecretIn(Lines(host));
    }

    [Fact]
    public void Item2_a_refresh_whose_answer_was_lost_is_not_repeated_and_a_later_refusal_names_rotation()
    {
        New(new RecordingHost());
        Emulator.RotateRefreshTokens = true;
        Emulator.DropRefreshAnswers = 1;
        var refreshes = RefreshRequests;

        var host = new RecordingHost();
        var lost = Test(_store.Node, host: host);

        Assert.Equal(AuthorizationState.Failed, lost.Result);
        Assert.Equal(ErrorIds.AuthorizationProviderUnavailable, lost.ErrorId);
        Assert.Equal(refreshes + 1, RefreshRequests);
        Assert.Equal(ConnectionStatus.Active, _store.Get("sf").Status);
        Assert.Equal(0, Emulator.RefreshTokenReuses);

        var second = new RecordingHost();
        var refused = Test(_store.Node, host: second);
        Assert.Equal(AuthorizationState.Revoked, refused.Result);
        Assert.Contains("refresh-token rotation", refused.Message, StringComparison.Ordinal);
        var connection = _store.Get("sf");
        Assert.Equal((ConnectionStatus.Inactive, InactiveReason.Revoked), (connection.Status, connection.InactiveReason));
        Assert.Contains(_store.Store.History(connection.Id), h => h.Summary.Contains("lost answer", StringComparison.Ordinal));
        NoSecretIn(Lines(host).Concat(Lines(second)));
    }

    [Fact]
    public async Task Item3_concurrent_refreshes_from_separate_nodes_never_present_a_used_up_token()
    {
        New(new RecordingHost());
        Emulator.RotateRefreshTokens = true;
        var nodes = Enumerable.Range(0, 4).Select(_ => ConnectionNode.Open(_store.Node.Location, null, "tester", _org.NodeClients())).ToList();
        try
        {
            var results = await Task.WhenAll(nodes.SelectMany(n => Enumerable.Range(0, 3).Select(_ => Task.Run(() => Test(n)))));

            Assert.All(results, r => Assert.Equal(AuthorizationState.Valid, r.Result));
            Assert.Equal(0, Emulator.RefreshTokenReuses);
            Assert.Equal(ConnectionStatus.Active, _store.Get("sf").Status);
            Assert.Equal(StoredRefreshToken(), Emulator.CurrentRefreshToken(StoredRefreshToken()));
        }
        finally
        {
            nodes.ForEach(n => n.Dispose());
        }
    }

    [Fact]
    public void Item3_a_refresh_that_ends_late_does_not_put_back_a_token_another_process_has_since_rotated()
    {
        // Found by the 4-process soak: Test and the retrieval runner store the refreshed grant again after the claim is let
        // go. Here that late save comes after another refresh has rotated the token once more: it must not win.
        New(new RecordingHost());
        Emulator.RotateRefreshTokens = true;
        var connection = _store.Get("sf");
        var first = GrantVault.ReadOrNull(_store.Node, connection)!;
        Assert.Equal(AuthorizationState.Valid, Test(_store.Node).Result); // this refresh's answer: a second token
        var second = GrantVault.ReadOrNull(_store.Node, connection)!;
        Assert.Equal(AuthorizationState.Valid, Test(_store.Node).Result); // another process's refresh: a third token
        var third = StoredRefreshToken();

        GrantVault.SaveRefreshed(_store.Node, connection, first, second); // the first refresh's late save

        Assert.Equal(third, StoredRefreshToken());
        Assert.Equal(AuthorizationState.Valid, Test(_store.Node).Result);
        Assert.Equal(0, Emulator.RefreshTokenReuses);
        Assert.Equal(ConnectionStatus.Active, _store.Get("sf").Status);
    }

    [Fact]
    public void Item4_the_org_is_pinned_from_the_token_answer_when_userinfo_is_refused()
    {
        Emulator.FailUserInfoTimes = 1000;

        var created = New(new RecordingHost());

        Assert.Equal((ConnectionStatus.Active, SalesforceOrg.ProductionOrgId), (created.Status, created.OrganizationId));
        Assert.Equal(AuthorizationState.Valid, Test(_store.Node).Result);
    }

    [Fact]
    public async Task Item5_revocation_identifies_the_client_as_RFC_7009_requires()
    {
        Emulator.RevokeRequiresClientId = true;
        var authorizer = new Salesforce.SalesforceAuthorizer();
        var outcome = await authorizer.AuthorizeAsync(_org.Spec(AuthorizationFlow.Interactive), _org.Context(), CancellationToken.None);

        Assert.True(await authorizer.RevokeAsync(_org.Target, outcome.Grant, _org.Context(), CancellationToken.None));
        Assert.True(Emulator.IsRevoked(outcome.Grant.RefreshToken!));
    }

    [Fact]
    public void Item6_a_new_connection_that_fails_after_the_code_exchange_revokes_its_grant()
    {
        Emulator.OmitIdentityUrl = true;
        Emulator.FailUserInfoTimes = 1;
        var host = new RecordingHost();

        Assert.Throws<ConnectionToolsException>(() => New(host));

        Assert.Null(_store.Store.FindByName("sf"));
        Assert.Contains(Emulator.Requests, r => r.Path == "/services/oauth2/revoke" && r.StatusCode == 200);
        Assert.Contains(host.Verbose, v => v.Contains("Revoked the grant of 'sf'", StringComparison.Ordinal));
        NoSecretIn(Lines(host));
    }

    [Fact]
    public void Item6_update_revokes_the_refresh_token_it_replaced_after_storing_the_new_one()
    {
        New(new RecordingHost());
        var replaced = StoredRefreshToken();
        var host = new RecordingHost();

        new SystemConnectionCommands(_store.Node, host).Update([ConnectionTarget.ByName("sf")], new UpdateAuthorizationRequest { Interactive = true });

        Assert.Empty(host.Errors);
        Assert.True(Emulator.IsRevoked(replaced));
        Assert.False(Emulator.IsRevoked(StoredRefreshToken()));
        Assert.Equal(AuthorizationState.Valid, Test(_store.Node).Result);
    }

    [Fact]
    public void Item7_a_node_wide_consumer_key_and_a_fixed_callback_are_used_when_the_command_gives_none()
    {
        var missing = Assert.Throws<ConnectionToolsException>(() => New(new RecordingHost(), clientId: null));
        Assert.Equal(ErrorIds.AuthorizationInvalidClient, missing.ErrorId);
        Assert.Contains("Set-ConnectionNode -SalesforceClientId", missing.RecommendedAction, StringComparison.Ordinal);

        var host = new RecordingHost();
        new NodeCommands(_store.Node, host).SetSalesforceDefaults(SalesforceOrg.ConsumerKey, null, "/callback", passThru: false);
        var created = New(new RecordingHost(), clientId: null);

        Assert.Equal(ConnectionStatus.Active, created.Status);
        Assert.Contains(Uri.EscapeDataString("/callback"), _org.Opened.Last().Query, StringComparison.Ordinal);
        Assert.Equal("http://127.0.0.1:1717/OauthRedirect", LoopbackRedirect.Default.CallbackUrl);
    }

    [Fact]
    public void Item8_an_authorization_response_from_another_issuer_is_refused_and_a_matching_one_accepted()
    {
        Emulator.AuthorizationIssuer = "https://login.evil.example";
        var refused = Assert.Throws<ConnectionToolsException>(() => New(new RecordingHost()));
        Assert.Equal(ErrorIds.AuthorizationProtocol, refused.ErrorId);
        Assert.Contains("issuer", refused.Message, StringComparison.Ordinal);
        Assert.Null(_store.Store.FindByName("sf"));
        Assert.DoesNotContain(Emulator.Requests, r => r.GrantType == "authorization_code");

        Emulator.AuthorizationIssuer = _org.InstanceUrl.GetLeftPart(UriPartial.Authority);
        Assert.Equal(ConnectionStatus.Active, New(new RecordingHost()).Status);
    }
}
