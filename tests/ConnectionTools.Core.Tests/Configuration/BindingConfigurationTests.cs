using ConnectionTools.Configuration;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;

namespace ConnectionTools.Core.Tests.Configuration;

/// <summary>system: in connections as code: plan, apply, export and drift of a private connection's bound system.</summary>
public sealed class BindingConfigurationTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly FakeSystemConnections _systems;

    public BindingConfigurationTests()
    {
        new NodeCommands(_store.Node, new RecordingHost()).SetPublicUrl("https://node.contoso.example/", passThru: false);
        _systems = new FakeSystemConnections(_store.Store);
    }

    public void Dispose() => _store.Dispose();

    private static string Yaml(string publicSystem, string privateSystem, string privateState = "Active") => $"""
        apiVersion: connectiontools/v1
        name: contoso
        connections:
          - name: sf-prod
            type: SalesforceProduction
            instanceUrl: https://contoso.my.salesforce.com
            authorization:
              flow: JwtBearer
              clientId: 3MVG9-consumer-key
              username: integration@contoso.com
              certificatePath: certs/sf.pfx
          - name: sf-sandbox
            type: SalesforceSandbox
            instanceUrl: https://contoso--uat.sandbox.my.salesforce.com
            authorization:
              flow: JwtBearer
              clientId: 3MVG9-consumer-key
              username: integration@contoso.com.uat
              certificatePath: certs/sf.pfx
          - name: partner-eu
            type: Private
            side: Public
            localInstanceName: contoso-public
        {publicSystem}
          - name: from-fabrikam
            type: Private
            side: Private
            state: {privateState}
        {privateSystem}
        """;

    private string Write(string yaml)
    {
        var path = Path.Combine(_store.Folder, "contoso.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private ConfigurationCommands Commands(RecordingHost host) => new(_store.Node, host, new ConfigurationServices { SystemConnections = _systems });

    private List<ConnectionApplyResult> Invoke(string path, RecordingHost? host = null)
    {
        host ??= new RecordingHost();
        Commands(host).Invoke(path, prune: false);
        return host.OutputOf<ConnectionApplyResult>().ToList();
    }

    private List<ConnectionTestResult> Test(string path, RecordingHost? host = null)
    {
        host ??= new RecordingHost();
        Commands(host).Test(path);
        return host.OutputOf<ConnectionTestResult>().ToList();
    }

    /// <summary>An accepted private side, as Approve-ConnectionInvitation leaves it (without a public node to ask).</summary>
    private void AddPrivateSide(ConnectionStatus status = ConnectionStatus.Active) =>
        _store.Store.Create(new Connection { Id = Guid.NewGuid(), Name = "from-fabrikam", Type = ConnectionType.Private, Side = PrivateConnectionSide.Private, Status = status, Mode = PrivateConnectionMode.Basic, LocalInstanceName = "contoso-private", PeerUri = new Uri("https://fabrikam.example/") }, "tester");

    [Fact]
    public void A_file_that_creates_the_system_and_binds_to_it_applies_then_shows_no_drift_and_exports_the_binding()
    {
        AddPrivateSide();
        var path = Write(Yaml("    system: sf-prod", "    system: SF-PROD"));
        var host = new RecordingHost();

        var results = Invoke(path, host);

        Assert.Empty(host.Errors);
        Assert.Equal(new[] { PlanAction.Create, PlanAction.Create, PlanAction.Create, PlanAction.Update }, results.Select(r => r.Action));
        Assert.Equal("sf-prod", _store.Get("partner-eu").System);
        Assert.Equal("sf-prod", _store.Get("from-fabrikam").System);
        Assert.Equal(new[] { "system" }, results[3].ChangedProperties);

        Assert.All(Test(path), r => Assert.True(r.InDesiredState, r.Name + ": " + string.Join(", ", r.DifferingProperties)));
        var exported = Commands(new RecordingHost()).Export(null)!.Text;
        Assert.Contains("    system: sf-prod\n", exported, StringComparison.Ordinal);
        Assert.True(exported.IndexOf("name: sf-prod", StringComparison.Ordinal) < exported.IndexOf("name: from-fabrikam", StringComparison.Ordinal), "system connections come first");
        var exportPath = Path.Combine(_store.Folder, "exported.yaml");
        File.WriteAllText(exportPath, exported);
        Assert.All(Test(exportPath), r => Assert.True(r.InDesiredState, r.Name + ": " + string.Join(", ", r.DifferingProperties)));
    }

    [Fact]
    public void A_binding_changed_by_hand_is_drift_and_an_absent_key_is_not_managed()
    {
        AddPrivateSide();
        var path = Write(Yaml("    system: sf-prod", "    system: sf-prod"));
        Invoke(path);
        new ConnectionCommands(_store.Node, new RecordingHost()).Set(new[] { ConnectionTarget.ByName("partner-eu") }, new ConnectionEdit { System = "" }, passThru: false);

        var drift = Test(path).Single(r => r.Name == "partner-eu");
        Assert.False(drift.InDesiredState);
        Assert.Equal(new[] { "system" }, drift.DifferingProperties);
        Assert.Equal(("sf-prod", ""), (drift.DesiredState["system"], drift.ActualState["system"]));
        Assert.Equal(new[] { PlanAction.Update }, drift.PlannedSteps);

        Write(Yaml("", ""));
        Assert.All(Test(path), r => Assert.True(r.InDesiredState, r.Name + ": " + string.Join(", ", r.DifferingProperties)));
    }

    [Fact]
    public void An_empty_system_unbinds()
    {
        AddPrivateSide();
        var path = Write(Yaml("    system: sf-prod", "    system: sf-prod"));
        Invoke(path);

        Write(Yaml("    system: \"\"", "    system: null"));
        var results = Invoke(path);

        Assert.Null(_store.Get("partner-eu").System);
        Assert.Null(_store.Get("from-fabrikam").System);
        Assert.All(results.Where(r => r.Type == ConnectionType.Private), r => Assert.Equal(ApplyOutcome.Applied, r.Outcome));
    }

    [Fact]
    public void Rebinding_an_active_connection_is_refused_and_a_file_that_also_asks_for_Paused_pauses_first()
    {
        AddPrivateSide();
        var path = Write(Yaml("", "    system: sf-prod"));
        Invoke(path);

        Write(Yaml("", "    system: sf-sandbox"));
        var host = new RecordingHost();
        var refused = Invoke(path, host).Single(r => r.Name == "from-fabrikam");
        Assert.Equal(ApplyOutcome.Failed, refused.Outcome);
        Assert.Equal(ErrorIds.BindingRebindNotPaused, Assert.Single(host.Errors).ErrorId);
        Assert.Contains("state: Paused", host.Errors[0].RecommendedAction, StringComparison.Ordinal);
        Assert.Equal("sf-prod", _store.Get("from-fabrikam").System);

        Write(Yaml("", "    system: sf-sandbox", privateState: "Paused"));
        host = new RecordingHost();
        var moved = Invoke(path, host).Single(r => r.Name == "from-fabrikam");
        Assert.Empty(host.Errors);
        Assert.Equal(new[] { PlanAction.Suspend, PlanAction.Update }, moved.Steps);
        Assert.Equal(("sf-sandbox", ConnectionStatus.Paused), (_store.Get("from-fabrikam").System, _store.Get("from-fabrikam").Status));
    }

    [Fact]
    public void A_system_that_is_neither_on_the_node_nor_in_the_file_is_refused_in_the_plan()
    {
        AddPrivateSide();
        var path = Write(Yaml("    system: nope", "    system: from-fabrikam"));
        var host = new RecordingHost();

        var results = Test(path, host);

        Assert.Empty(host.Errors);
        var created = results.Single(r => r.Name == "partner-eu");
        var updated = results.Single(r => r.Name == "from-fabrikam");
        Assert.Equal(ErrorIds.BindingSystemNotFound, created.ErrorId);
        Assert.Equal(ErrorIds.BindingNotASystem, updated.ErrorId);
        Assert.Null(_store.Store.FindByName("partner-eu"));
    }

    [Fact]
    public void A_system_name_that_is_not_a_name_is_a_validation_error_with_its_position()
    {
        var path = Write(Yaml("    system: \"bad*name\"", ""));
        var host = new RecordingHost();

        Commands(host).Test(path);

        var error = Assert.Single(host.Errors);
        Assert.Equal(ErrorIds.ConfigurationInvalidValue, error.ErrorId);
        Assert.Contains("system", error.Message, StringComparison.Ordinal);
    }
}
