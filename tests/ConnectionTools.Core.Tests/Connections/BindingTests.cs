using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;

namespace ConnectionTools.Core.Tests;

/// <summary>Binding a private connection to the system connection whose cases it syncs (-System), against a real store.</summary>
public sealed class BindingTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly RecordingHost _host = new();

    public BindingTests()
    {
        new NodeCommands(_store.Node, new RecordingHost()).SetPublicUrl("https://node.contoso.example/", passThru: false);
    }

    public void Dispose() => _store.Dispose();

    private ConnectionCommands Commands => _store.Commands(_host);

    private void Set(string name, string system) =>
        Commands.Set(new[] { ConnectionTarget.ByName(name) }, new ConnectionEdit { System = system }, passThru: false);

    private void Remove(string name, bool force) => Commands.Remove(new[] { ConnectionTarget.ByName(name) }, passThru: false, force);

    /// <summary>Queues sync events as the outgoing-events engine will: one row per event, in the table it owns.</summary>
    private void QueueEvents(Connection connection, string direction, int count) => _store.Store.Write(tx =>
    {
        for (var i = 0; i < count; i++)
        {
            tx.Execute(
                "INSERT INTO sync_events (event_id, connection_id, direction, case_id, case_seq, trace_id, status, created_at, updated_at) VALUES ($e, $c, $d, $case, $seq, $t, 'Queued', 0, 0);",
                ("$e", Guid.NewGuid().ToString("D")), ("$c", connection.Id.ToString("D")), ("$d", direction), ("$case", "500" + i), ("$seq", i + 1), ("$t", Guid.NewGuid().ToString("N")));
        }

        return 0;
    });

    private long EventCount(Connection connection, string direction) => _store.Store.Read(db =>
        (long)db.Scalar("SELECT COUNT(*) FROM sync_events WHERE connection_id = $c AND direction = $d;", ("$c", connection.Id.ToString("D")), ("$d", direction))!);

    [Fact]
    public void New_private_connection_binds_the_named_system_and_says_so()
    {
        var sf = _store.Add("sf-prod", ConnectionStatus.Active, ConnectionType.SalesforceProduction);

        new InvitationCommands(_store.Node, _host).New(new NewPrivateConnectionRequest { Name = "partner-eu", LocalInstanceName = "contoso", System = "SF-PROD" });

        var created = _store.Get("partner-eu");
        Assert.Equal((sf.Id, "sf-prod"), (created.SystemConnectionId, created.System));
        Assert.Contains("syncing the cases of system 'sf-prod'", _host.ShouldProcessCalls.Single().Action, StringComparison.Ordinal);
        Assert.Contains("bound to system 'sf-prod'", _store.Store.History(created.Id).Single().Summary, StringComparison.Ordinal);
        Assert.Equal("sf-prod", _store.Store.History(created.Id).Single().After!["System"]);
    }

    [Fact]
    public void Without_a_system_a_private_connection_exchanges_status_only()
    {
        new InvitationCommands(_store.Node, _host).New(new NewPrivateConnectionRequest { Name = "partner-eu", LocalInstanceName = "contoso" });

        var created = _store.Get("partner-eu");
        Assert.Null(created.System);
        Assert.Null(created.SystemConnectionId);
        Assert.Contains(_host.Verbose, v => v.Contains("status only", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("nope", ErrorIds.BindingSystemNotFound)]
    [InlineData("gone", ErrorIds.BindingSystemNotFound)]
    [InlineData("other-private", ErrorIds.BindingNotASystem)]
    public void A_system_that_is_not_a_live_system_connection_is_refused_and_nothing_is_created(string system, string errorId)
    {
        _store.Add("gone", ConnectionStatus.Removed, ConnectionType.Dynamics365);
        _store.Add("other-private");

        new InvitationCommands(_store.Node, _host).NewEach(new[] { new NewPrivateConnectionRequest { Name = "partner-eu", LocalInstanceName = "contoso", System = system } });

        var error = Assert.Single(_host.Errors);
        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal("partner-eu", error.Target);
        Assert.Contains("'partner-eu'", error.Message, StringComparison.Ordinal);
        Assert.Contains(system, error.Message, StringComparison.Ordinal);
        Assert.Contains("Get-Connection -Type", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Null(_store.Store.FindByName("partner-eu"));
        Assert.Empty(_host.ShouldProcessCalls);
    }

    [Fact]
    public void One_system_feeds_several_private_connections_and_binding_one_that_had_none_works_in_any_live_status()
    {
        var crm = _store.Add("crm", ConnectionStatus.Inactive, ConnectionType.Dynamics365);
        _store.Add("a", ConnectionStatus.Active);
        _store.Add("b", ConnectionStatus.Paused);

        Commands.Set(new[] { ConnectionTarget.ByName("?") }, new ConnectionEdit { System = "crm" }, passThru: false);

        Assert.Empty(_host.Errors);
        Assert.Equal(new[] { "a", "b" }, _store.Store.ListBoundTo(crm.Id).Select(c => c.Name));
        Assert.All(new[] { "a", "b" }, n => Assert.Equal("crm", _store.Get(n).System));
        Assert.Contains("System: none -> 'crm'", _store.Store.History(_store.Get("a").Id).Last().Summary, StringComparison.Ordinal);
        Assert.Equal(ConnectionStatus.Active, _store.Get("a").Status);
    }

    [Fact]
    public void Rebinding_is_refused_unless_paused_and_then_says_twins_stay_with_the_old_system()
    {
        _store.Add("sf-prod", ConnectionStatus.Active, ConnectionType.SalesforceProduction);
        _store.Add("sf-sandbox", ConnectionStatus.Active, ConnectionType.SalesforceSandbox);
        _store.Add("partner");
        Set("partner", "sf-prod");

        Set("partner", "sf-sandbox");
        var error = Assert.Single(_host.Errors);
        Assert.Equal(ErrorIds.BindingRebindNotPaused, error.ErrorId);
        Assert.Contains("only while Paused", error.Message, StringComparison.Ordinal);
        Assert.Contains("Suspend-Connection -Name 'partner'", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Equal("sf-prod", _store.Get("partner").System);

        Commands.Suspend(new[] { ConnectionTarget.ByName("partner") }, passThru: false);
        _host.ShouldProcessCalls.Clear();
        Set("partner", "sf-sandbox");

        Assert.Single(_host.Errors);
        Assert.Equal("sf-sandbox", _store.Get("partner").System);
        Assert.Contains("cases already twinned stay with 'sf-prod'", _host.ShouldProcessCalls.Single().Action, StringComparison.Ordinal);
        Assert.Contains(_host.Verbose, v => v.Contains("stay with 'sf-prod'", StringComparison.Ordinal));
    }

    [Fact]
    public void Binding_a_system_or_binding_to_a_private_connection_is_refused_with_the_fix()
    {
        _store.Add("sf-prod", ConnectionStatus.Active, ConnectionType.SalesforceProduction);
        _store.Add("crm", ConnectionStatus.Active, ConnectionType.Dynamics365);
        _store.Add("partner");

        Set("crm", "sf-prod");
        Set("partner", "partner");

        Assert.Equal(new[] { ErrorIds.BindingNotPrivate, ErrorIds.BindingNotASystem }, _host.Errors.Select(e => e.ErrorId));
        Assert.Equal(new[] { "crm", "partner" }, _host.Errors.Select(e => e.Target));
        Assert.All(_host.Errors, e => Assert.False(string.IsNullOrEmpty(e.RecommendedAction)));
        Assert.Null(_store.Get("partner").System);
    }

    [Fact]
    public void Unbinding_keeps_the_status_and_drops_only_queued_outgoing_events_which_the_history_records()
    {
        _store.Add("sf-prod", ConnectionStatus.Active, ConnectionType.SalesforceProduction);
        var partner = _store.Add("partner");
        Set("partner", "sf-prod");
        QueueEvents(partner, "Outgoing", 3);
        QueueEvents(partner, "Incoming", 2);

        Set("partner", "");

        Assert.Empty(_host.Errors);
        var after = _store.Get("partner");
        Assert.Null(after.System);
        Assert.Equal(ConnectionStatus.Active, after.Status);
        Assert.Equal((0L, 2L), (EventCount(partner, "Outgoing"), EventCount(partner, "Incoming")));
        Assert.Contains("dropped 3 queued outgoing sync event(s)", _store.Store.History(partner.Id).Last().Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Removing_a_bound_system_is_refused_naming_the_private_connections_and_nothing_changes()
    {
        var sf = _store.Add("sf-prod", ConnectionStatus.Active, ConnectionType.SalesforceProduction);
        _store.Add("a");
        _store.Add("b");
        Set("a", "sf-prod");
        Set("b", "sf-prod");
        var audits = _store.Store.AuditCount();
        _host.ShouldProcessCalls.Clear();

        Remove("sf-prod", force: false);

        var error = Assert.Single(_host.Errors);
        Assert.Equal(ErrorIds.BindingSystemInUse, error.ErrorId);
        Assert.Equal(ErrorKind.InvalidOperation, error.Kind);
        Assert.Contains("private connections 'a', 'b'", error.Message, StringComparison.Ordinal);
        Assert.Contains("-Force", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Empty(_host.ShouldProcessCalls);
        Assert.Equal(ConnectionStatus.Active, _store.Store.Find(sf.Id)!.Status);
        Assert.Equal(audits, _store.Store.AuditCount());
    }

    [Fact]
    public void Force_removes_the_system_unbinds_its_private_connections_drops_their_outgoing_events_and_records_it()
    {
        var sf = _store.Add("sf-prod", ConnectionStatus.Active, ConnectionType.SalesforceProduction);
        var a = _store.Add("a");
        var b = _store.Add("b", ConnectionStatus.Paused);
        var other = _store.Add("other");
        Set("a", "sf-prod");
        Set("b", "sf-prod");
        QueueEvents(a, "Outgoing", 4);
        QueueEvents(a, "Incoming", 1);
        QueueEvents(other, "Outgoing", 2);
        _host.ShouldProcessCalls.Clear();

        Remove("sf-prod", force: true);

        Assert.Empty(_host.Errors);
        Assert.Contains("unbinding private connections 'a', 'b'", _host.ShouldProcessCalls.Single().Action, StringComparison.Ordinal);
        Assert.Equal(ConnectionStatus.Removed, _store.Store.Find(sf.Id)!.Status);
        Assert.Equal((ConnectionStatus.Active, ConnectionStatus.Paused), (_store.Get("a").Status, _store.Get("b").Status));
        Assert.Null(_store.Get("a").System);
        Assert.Null(_store.Get("b").SystemConnectionId);
        Assert.Equal((0L, 1L, 2L), (EventCount(a, "Outgoing"), EventCount(a, "Incoming"), EventCount(other, "Outgoing")));
        var record = _store.Store.History(a.Id).Last().Summary;
        Assert.Contains("System: 'sf-prod' -> none", record, StringComparison.Ordinal);
        Assert.Contains("removed with -Force", record, StringComparison.Ordinal);
        Assert.Contains("dropped 4 queued outgoing sync event(s)", record, StringComparison.Ordinal);
        Assert.Contains("dropped 0", _store.Store.History(b.Id).Last().Summary, StringComparison.Ordinal);
        Assert.Contains(_host.Verbose, v => v.Contains("'a' is no longer bound to 'sf-prod'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_system_without_bound_private_connections_is_removed_as_before()
    {
        _store.Add("sf-prod", ConnectionStatus.Active, ConnectionType.SalesforceProduction);

        Remove("sf-prod", force: false);

        Assert.Empty(_host.Errors);
        Assert.Null(_store.Store.FindByName("sf-prod"));
    }

    [Fact]
    public void A_system_renamed_after_binding_is_shown_under_its_new_name()
    {
        _store.Add("sf-prod", ConnectionStatus.Active, ConnectionType.SalesforceProduction);
        _store.Add("partner");
        Set("partner", "sf-prod");

        Commands.Set(new[] { ConnectionTarget.ByName("sf-prod") }, new ConnectionEdit { NewName = "sf-main" }, passThru: false);

        Assert.Equal("sf-main", _store.Get("partner").System);
    }

    [Fact]
    public void Accepting_with_a_system_that_is_not_there_is_refused_before_the_public_side_is_asked()
    {
        var invitation = (PrivateConnectionInvitation)new Func<object>(() =>
        {
            var host = new RecordingHost();
            new InvitationCommands(_store.Node, host).New(new NewPrivateConnectionRequest { Name = "crm-eu", LocalInstanceName = "contoso" });
            return host.Output.Single();
        })();
        using var other = new TestStore();
        var host = new RecordingHost();

        new Peering.PeerCommands(other.Node, host).AcceptEach(new[] { invitation.InvitationCode }, "crm-eu", "fabrikam", "nope");

        Assert.Equal(ErrorIds.BindingSystemNotFound, Assert.Single(host.Errors).ErrorId);
        Assert.Empty(host.ShouldProcessCalls);
        Assert.Null(other.Store.FindByName("crm-eu"));
        Assert.Equal(ConnectionStatus.Pending, _store.Get("crm-eu").Status);
    }
}
