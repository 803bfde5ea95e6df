using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// New-Connection for Salesforce without -InstanceUrl, end to end against the emulator under the real host names: the
/// sign-in starts at the login host of the org's kind, and the org's own URL comes from the token answer's instance_url.
/// </summary>
public sealed class SalesforceWithoutInstanceUrlTests
{
    private static NewConnectionRequest Request(ConnectionType type, AuthorizationFlow flow) => new()
    {
        Name = "sf",
        Type = type.ToString(),
        AcceptDataProcessingAgreement = true,
        ClientId = SalesforceOrg.ConsumerKey,
        Username = flow == AuthorizationFlow.JwtBearer ? SalesforceOrg.Username : null,
        CertificatePath = flow == AuthorizationFlow.JwtBearer ? SalesforceCertificates.PfxPath : null,
        CertificatePassword = flow == AuthorizationFlow.JwtBearer ? SalesforceCertificates.PfxPassword : null,
        Interactive = true,
    };

    private static TestStore Store(SalesforceOrg org)
    {
        var store = new TestStore(clients: org.NodeClients());
        // A free loopback port for the interactive redirect, never the default 1717.
        store.Store.SetNodeSetting(ConnectionNode.SalesforceRedirectSetting, "0/OauthRedirect", "tester");
        return store;
    }

    [Theory]
    [InlineData(false, AuthorizationFlow.Interactive)]
    [InlineData(false, AuthorizationFlow.JwtBearer)]
    [InlineData(true, AuthorizationFlow.Interactive)]
    [InlineData(true, AuthorizationFlow.JwtBearer)]
    public async Task The_sign_in_starts_at_the_login_host_and_the_connection_keeps_the_orgs_own_URL(bool sandbox, AuthorizationFlow flow)
    {
        await using var org = (await SalesforceOrg.StartAsync(sandbox)).AlsoServe(sandbox ? "test.salesforce.com" : "login.salesforce.com");
        using var store = Store(org);
        var host = new RecordingHost();

        new SystemConnectionCommands(store.Node, host).New(Request(org.Type, flow));

        var created = Assert.Single(host.OutputOf<Connection>());
        Assert.Equal((org.InstanceUrl.AbsoluteUri, org.OrgId, flow), (created.InstanceUrl, created.OrganizationId, created.AuthorizationFlow));
        var token = Assert.Single(org.Emulator.Requests, r => r.Path == "/services/oauth2/token");
        Assert.Equal(org.LoginHost, token.Host);
        if (flow == AuthorizationFlow.Interactive)
        {
            Assert.Equal(org.LoginHost, Assert.Single(org.Opened).Host);
        }

        // The stored grant refreshes at the org's own host, and reaches the pinned org.
        var test = new RecordingHost();
        new SystemConnectionCommands(store.Node, test).Test(null, new TestAuthorizationRequest());
        Assert.Equal(AuthorizationState.Valid, Assert.Single(test.OutputOf<AuthorizationResult>()).Result);
    }

    [Fact]
    public async Task Re_authorization_follows_the_org_to_the_URL_its_token_answer_names_and_keeps_it_pinned()
    {
        await using var org = (await SalesforceOrg.StartAsync()).AlsoServe("login.salesforce.com").AlsoServe("contoso-renamed.my.salesforce.com");
        using var store = Store(org);
        new SystemConnectionCommands(store.Node, new RecordingHost()).New(Request(ConnectionType.SalesforceProduction, AuthorizationFlow.JwtBearer));
        Assert.Equal(org.InstanceUrl.AbsoluteUri, store.Get("sf").InstanceUrl);

        // The org's My Domain was renamed: its token answers name the new URL.
        org.Emulator.SetInstanceUrlForOrganization(org.OrgId, new Uri("https://contoso-renamed.my.salesforce.com/"));
        var host = new RecordingHost();
        new SystemConnectionCommands(store.Node, host).Update([ConnectionTarget.ByName("sf")], new UpdateAuthorizationRequest());

        Assert.Empty(host.Errors);
        var after = store.Get("sf");
        Assert.Equal(("https://contoso-renamed.my.salesforce.com/", org.OrgId), (after.InstanceUrl, after.OrganizationId));
        var change = store.Store.Read(db => AuditRows.History(db, after.Id, null, null, 1)).Single();
        Assert.Equal(LifecycleAction.Reauthorize, change.Action);
        Assert.Contains("contoso-renamed.my.salesforce.com", change.AfterJson, StringComparison.Ordinal);
        Assert.DoesNotContain("contoso-renamed", change.BeforeJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_org_behind_the_login_host_gets_its_own_instance_url()
    {
        const string otherUser = "admin@fabrikam.example";
        const string otherOrg = "00D5g000009FaBrKAB";
        await using var org = (await SalesforceOrg.StartAsync()).AlsoServe("login.salesforce.com").AlsoServe("fabrikam.my.salesforce.com");
        org.Emulator.RegisterUser(otherUser);
        org.Emulator.PlaceUserInOrganization(otherUser, otherOrg);
        org.Emulator.SetInstanceUrlForOrganization(otherOrg, new Uri("https://fabrikam.my.salesforce.com/"));
        using var store = Store(org);
        var host = new RecordingHost();

        var request = Request(ConnectionType.SalesforceProduction, AuthorizationFlow.Interactive);
        request.Username = otherUser; // the login hint: this user signs in
        new SystemConnectionCommands(store.Node, host).New(request);

        var created = Assert.Single(host.OutputOf<Connection>());
        Assert.Equal(("https://fabrikam.my.salesforce.com/", otherOrg), (created.InstanceUrl, created.OrganizationId));
    }

    [Theory]
    [InlineData(false, "contoso--uat.sandbox.my.salesforce.com")]
    [InlineData(true, "contoso.my.salesforce.com")]
    public async Task A_token_answer_for_an_org_of_the_other_kind_is_refused_its_grant_revoked_and_nothing_stored(bool sandbox, string otherKindHost)
    {
        await using var org = (await SalesforceOrg.StartAsync(sandbox)).AlsoServe(sandbox ? "test.salesforce.com" : "login.salesforce.com").AlsoServe(otherKindHost);
        org.Emulator.SetInstanceUrlForOrganization(org.OrgId, new Uri($"https://{otherKindHost}/"));
        using var store = Store(org);
        var host = new RecordingHost();
        var audited = store.Store.AuditCount(); // the node's redirect setting

        var error = Assert.Throws<ConnectionToolsException>(() => new SystemConnectionCommands(store.Node, host).New(Request(org.Type, AuthorizationFlow.Interactive)));

        Assert.Equal(ErrorIds.AuthorizationInstanceKindMismatch, error.ErrorId);
        Assert.Contains(otherKindHost, error.Message, StringComparison.Ordinal);
        Assert.Contains(sandbox ? "SalesforceProduction" : "SalesforceSandbox", error.RecommendedAction, StringComparison.Ordinal);
        var revoke = Assert.Single(org.Emulator.Requests, r => r.Path == "/services/oauth2/revoke");
        Assert.Equal((200, otherKindHost), (revoke.StatusCode, revoke.Host));
        Assert.Null(store.Store.FindByName("sf"));
        Assert.Equal(audited, store.Store.AuditCount());
        foreach (var secret in org.Recorder.Secrets())
        {
            Assert.DoesNotContain(secret, error.Message, StringComparison.Ordinal);
            Assert.All(host.Verbose, v => Assert.DoesNotContain(secret, v, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("https://contoso.my.salesforce.com", null)]
    [InlineData("https://login.salesforce.com", null)]
    [InlineData("https://contoso--uat.sandbox.my.salesforce.com", ErrorIds.AuthorizationProtocol)]
    [InlineData("https://login.evil.example", ErrorIds.AuthorizationProtocol)]
    public async Task A_sign_in_at_the_login_host_accepts_the_orgs_own_My_Domain_as_issuer_and_nothing_else(string issuer, string? errorId)
    {
        await using var org = (await SalesforceOrg.StartAsync()).AlsoServe("login.salesforce.com");
        org.Emulator.AuthorizationIssuer = issuer;
        using var store = Store(org);
        var host = new RecordingHost();
        var audited = store.Store.AuditCount();

        var run = () => new SystemConnectionCommands(store.Node, host).New(Request(ConnectionType.SalesforceProduction, AuthorizationFlow.Interactive));

        if (errorId is null)
        {
            run();
            Assert.Equal(org.InstanceUrl.AbsoluteUri, store.Get("sf").InstanceUrl);
            return;
        }

        Assert.Equal(errorId, Assert.Throws<ConnectionToolsException>(run).ErrorId);
        Assert.DoesNotContain(org.Emulator.Requests, r => r.Path == "/services/oauth2/token"); // the code was never redeemed
        Assert.Null(store.Store.FindByName("sf"));
        Assert.Equal(audited, store.Store.AuditCount());
    }

    [Fact]
    public async Task EnvironmentName_is_refused_for_Salesforce_before_anything_is_sent()
    {
        await using var org = await SalesforceOrg.StartAsync();
        using var store = Store(org);
        var request = Request(ConnectionType.SalesforceProduction, AuthorizationFlow.Interactive);
        request.EnvironmentName = "Contoso";

        var error = Assert.Throws<ConnectionToolsException>(() => new SystemConnectionCommands(store.Node, new RecordingHost()).New(request));

        Assert.Equal(ErrorIds.EnvironmentNotApplicable, error.ErrorId);
        Assert.Empty(org.Emulator.Requests);
    }
}
