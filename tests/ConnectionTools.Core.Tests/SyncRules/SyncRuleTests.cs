using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Core.Tests;

/// <summary>Basic mode's generated rules, the one-way upgrade to Script, and Visual refused for private connections.</summary>
public sealed class SyncRuleTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly RecordingHost _host = new();

    public SyncRuleTests()
    {
        new NodeCommands(_store.Node, _host).SetPublicUrl("https://node.contoso.example/", passThru: false);
        new InvitationCommands(_store.Node, _host).New(new NewPrivateConnectionRequest { Name = "crm", LocalInstanceName = "contoso" });
        _host.Output.Clear();
    }

    public void Dispose() => _store.Dispose();

    private static IEnumerable<ConnectionTarget> Crm => new[] { ConnectionTarget.ByName("crm") };

    private SyncRuleCommands Rules => new(_store.Node, _host);

    private ConnectionCommands Commands => new(_store.Node, _host);

    [Fact]
    public void A_new_private_connection_has_generated_readable_rules_for_cases_in_both_directions()
    {
        Rules.Get(Crm);

        var rules = _host.OutputOf<SyncRule>().ToList();
        Assert.Equal(new HashSet<SyncDirection> { SyncDirection.Incoming, SyncDirection.Outgoing }, rules.Select(r => r.Direction).ToHashSet());
        Assert.Equal(2, rules.Count);
        Assert.All(rules, r => Assert.Equal(("Case", false), (r.Entity, r.Editable)));
        Assert.Contains("replica.summary     = entity.summary", rules.Single(r => r.Direction == SyncDirection.Outgoing).Script);
    }

    [Fact]
    public void Editing_a_Basic_rule_is_refused_with_an_error_that_names_the_upgrade()
    {
        var audit = _store.Store.AuditCount();

        Rules.Set(Crm, SyncDirection.Outgoing, "replica.summary = entity.summary", passThru: false);

        var error = Assert.Single(_host.Errors);
        Assert.Equal(ErrorIds.SyncRuleReadOnlyInBasicMode, error.ErrorId);
        Assert.Contains("Set-Connection -Name 'crm' -Mode Script", error.RecommendedAction);
        Assert.Equal(audit, _store.Store.AuditCount());
    }

    [Fact]
    public void After_the_upgrade_to_Script_the_rules_are_editable_and_the_edit_is_audited()
    {
        Commands.Set(Crm, new ConnectionEdit { Mode = "Script" }, passThru: true);
        Assert.Equal(PrivateConnectionMode.Script, Assert.Single(_host.OutputOf<Connection>()).Mode);
        Assert.Equal("Mode: Basic -> Script", _store.Store.History(_store.Get("crm").Id).Last().Summary);

        Rules.Set(Crm, SyncDirection.Outgoing, "replica.summary = entity.summary.toUpperCase()", passThru: true);

        Assert.Empty(_host.Errors);
        var outgoing = _host.OutputOf<SyncRule>().Single(r => r.Direction == SyncDirection.Outgoing);
        Assert.True(outgoing.Editable);
        Assert.Equal("replica.summary = entity.summary.toUpperCase()", outgoing.Script);
        var entry = _store.Store.History(_store.Get("crm").Id).Last();
        Assert.Equal((LifecycleAction.EditSyncRule, "Outgoing sync rule for cases replaced"), (entry.Action, entry.Summary));
    }

    [Fact]
    public void The_upgrade_is_one_way()
    {
        Commands.Set(Crm, new ConnectionEdit { Mode = "Script" }, passThru: false);

        Commands.Set(Crm, new ConnectionEdit { Mode = "Basic" }, passThru: false);

        Assert.Equal(ErrorIds.ConnectionModeDowngrade, Assert.Single(_host.Errors).ErrorId);
        Assert.Equal(PrivateConnectionMode.Script, _store.Get("crm").Mode);
    }

    [Fact]
    public void Visual_is_refused_for_private_connections_with_the_reason()
    {
        Commands.Set(Crm, new ConnectionEdit { Mode = "Visual" }, passThru: false);

        var error = Assert.Single(_host.Errors);
        Assert.Equal(ErrorIds.ConnectionModeNotOffered, error.ErrorId);
        Assert.Contains("not offered for private connections", error.Message);
        Assert.Contains("can never reach the private side", error.Message);
        Assert.Equal(PrivateConnectionMode.Basic, _store.Get("crm").Mode);
    }

    [Fact]
    public void System_connections_have_no_mode()
    {
        _store.Add("dyn", ConnectionStatus.Active, ConnectionType.Dynamics365);

        Commands.Set(new[] { ConnectionTarget.ByName("dyn") }, new ConnectionEdit { Mode = "Script" }, passThru: false);

        Assert.Equal(ErrorIds.ConnectionModeNotOffered, Assert.Single(_host.Errors).ErrorId);
    }
}
