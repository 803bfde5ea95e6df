using ConnectionTools.Configuration;
using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Authorization.Tests;

/// <summary>Connections as code with a real system connection: the Salesforce provider against the emulator, unattended.</summary>
public sealed class SystemConfigurationTests : IAsyncLifetime
{
    private TestStore _store = null!;
    private bool _refusing;
    private SalesforceOrg _org = null!;
    private string _file = "";

    public async Task InitializeAsync()
    {
        _org = await SalesforceOrg.StartAsync();
        var clients = _org.NodeClients();
        clients.OpenBrowser = null;
        clients.Authorizers = type => _refusing ? new RefusingAuthorizer() : SystemAuthorizers.For(type);
        _store = new TestStore(clients: clients);
        Environment.SetEnvironmentVariable("CT_TEST_SF_PFX_PASSWORD", SalesforceCertificates.PfxPassword);
        _file = Path.Combine(_store.Folder, "connections.yaml");
        File.WriteAllText(_file, $"""
            apiVersion: connectiontools/v1
            name: tests
            connections:
              - name: sf-prod
                type: SalesforceProduction
                description: Production org
                instanceUrl: {_org.InstanceUrl.AbsoluteUri}
                retrievalInterval: 15m
                authorization:
                  flow: JwtBearer
                  clientId: {SalesforceOrg.ConsumerKey}
                  username: {SalesforceOrg.Username}
                  certificatePath: {SalesforceCertificates.PfxPath}
                  certificatePassword: env:CT_TEST_SF_PFX_PASSWORD
            """);
    }

    public async Task DisposeAsync()
    {
        _store.Dispose();
        await _org.DisposeAsync();
    }

    private ConfigurationCommands Commands(RecordingHost host) =>
        new(_store.Node, host, new ConfigurationServices { SystemConnections = new SystemConnectionActions(_store.Node) });

    [Fact]
    public void Apply_creates_and_authorizes_then_a_second_run_is_all_None_with_no_writes_and_export_matches()
    {
        var first = new RecordingHost();
        Commands(first).Invoke(_file, prune: false);

        Assert.Empty(first.Errors);
        var created = Assert.Single(first.OutputOf<ConnectionApplyResult>());
        Assert.Equal((PlanAction.Create, ConnectionStatus.Active), (created.Action, created.StatusAfter));
        var connection = _store.Get("sf-prod");
        Assert.Equal((SalesforceOrg.ProductionOrgId, TimeSpan.FromMinutes(15), AuthorizationFlow.JwtBearer), (connection.OrganizationId, connection.RetrievalInterval, connection.AuthorizationFlow));

        var audit = _store.Store.AuditCount();
        var requests = _org.Emulator.RequestCount;
        var second = new RecordingHost();
        Commands(second).Invoke(_file, prune: false);
        Assert.Equal(PlanAction.None, Assert.Single(second.OutputOf<ConnectionApplyResult>()).Action);
        Assert.Equal(audit, _store.Store.AuditCount());
        Assert.Equal(requests, _org.Emulator.RequestCount);

        var exported = Path.Combine(_store.Folder, "exported.yaml");
        Commands(new RecordingHost()).Export(exported);
        var text = File.ReadAllText(exported);
        Assert.DoesNotContain(SalesforceCertificates.PfxPassword, text, StringComparison.Ordinal);
        var test = new RecordingHost();
        Commands(test).Test(exported);
        // Single, not All: All passes on an empty list, and the export must describe the one connection.
        var result = Assert.Single(test.OutputOf<ConnectionTestResult>());
        Assert.True(result.InDesiredState, string.Join(", ", result.DifferingProperties));
    }

    [Fact]
    public void An_inactive_connection_is_authorized_again_by_the_next_apply()
    {
        Commands(new RecordingHost()).Invoke(_file, prune: false);
        var host = new RecordingHost();
        _refusing = true;
        new SystemConnectionCommands(_store.Node, host).Test(new[] { ConnectionTarget.ByName("sf-prod") }, new TestAuthorizationRequest());
        Assert.Equal(ConnectionStatus.Inactive, _store.Get("sf-prod").Status);
        _refusing = false;

        var apply = new RecordingHost();
        Commands(apply).Invoke(_file, prune: false);

        Assert.Empty(apply.Errors);
        var result = Assert.Single(apply.OutputOf<ConnectionApplyResult>());
        Assert.Equal((PlanAction.Authorize, ConnectionStatus.Inactive, ConnectionStatus.Active), (result.Action, result.StatusBefore, result.StatusAfter));
    }

    private sealed class RefusingAuthorizer : ISystemAuthorizer
    {
        public Task<AuthorizationOutcome> AuthorizeAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<AuthorizationOutcome> RefreshAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken) =>
            throw new ProviderRefusedException(InactiveReason.Revoked, "invalid_grant: revoked for the test");

        public Task<bool> RevokeAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken) => Task.FromResult(false);
    }
}
