using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Core.Tests;

/// <summary>Every lifecycle cmdlet's behaviour, driven through the host seam against a real store.</summary>
public sealed class ConnectionCommandsTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly RecordingHost _host = new();

    public void Dispose() => _store.Dispose();

    private ConnectionCommands Commands => _store.Commands(_host);

    private static IEnumerable<ConnectionTarget> Names(params string[] names) => names.Select(ConnectionTarget.ByName);

    [Fact]
    public void Get_lists_live_connections_by_name_without_removed_ones()
    {
        _store.Add("beta");
        _store.Add("Alpha");
        _store.Add("gone", ConnectionStatus.Removed);

        Commands.Get(new ConnectionQuery());

        Assert.Equal(new[] { "Alpha", "beta" }, _host.OutputOf<Connection>().Select(c => c.Name));
        Assert.Empty(_host.Errors);
    }

    [Fact]
    public void Get_matches_wildcards_and_exact_names_without_case()
    {
        _store.Add("prod-eu");
        _store.Add("PROD-us");
        _store.Add("test-eu");

        Commands.Get(new ConnectionQuery { Names = new[] { "prod*", "TEST-EU" } });

        Assert.Equal(new[] { "prod-eu", "PROD-us", "test-eu" }, _host.OutputOf<Connection>().Select(c => c.Name));
    }

    [Fact]
    public void Get_reports_each_unknown_exact_name_but_not_an_empty_wildcard()
    {
        _store.Add("crm");

        Commands.Get(new ConnectionQuery { Names = new[] { "crm", "nope", "zz*" } });

        Assert.Single(_host.OutputOf<Connection>());
        var error = Assert.Single(_host.Errors);
        Assert.Equal(ErrorIds.ConnectionNotFound, error.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, error.Kind);
        Assert.Equal("nope", error.Target);
        Assert.Contains("'nope'", error.Message);
    }

    [Fact]
    public void Get_filters_by_status_and_type()
    {
        _store.Add("a", ConnectionStatus.Active, ConnectionType.Dynamics365);
        _store.Add("p", ConnectionStatus.Paused, ConnectionType.Dynamics365);
        _store.Add("s", ConnectionStatus.Paused, ConnectionType.SalesforceSandbox);

        Commands.Get(new ConnectionQuery { Statuses = new[] { ConnectionStatus.Paused }, Types = new[] { ConnectionType.Dynamics365 } });

        Assert.Equal("p", Assert.Single(_host.OutputOf<Connection>()).Name);
    }

    [Fact]
    public void Get_by_id_finds_removed_connections_and_reports_unknown_ids()
    {
        var removed = _store.Add("old", ConnectionStatus.Removed);
        var unknown = Guid.NewGuid();

        Commands.Get(new ConnectionQuery { Ids = new[] { removed.Id, unknown } });

        Assert.Equal(ConnectionStatus.Removed, Assert.Single(_host.OutputOf<Connection>()).Status);
        Assert.Equal(unknown.ToString(), Assert.Single(_host.Errors).Target);
    }

    [Fact]
    public void Get_with_IncludeRemoved_or_status_Removed_shows_tombstones()
    {
        _store.Add("live");
        _store.Add("old", ConnectionStatus.Removed);

        Commands.Get(new ConnectionQuery { IncludeRemoved = true });
        Assert.Equal(2, _host.Output.Count);

        _host.Output.Clear();
        Commands.Get(new ConnectionQuery { Statuses = new[] { ConnectionStatus.Removed } });
        Assert.Equal("old", Assert.Single(_host.OutputOf<Connection>()).Name);
    }

    [Fact]
    public void Suspend_changes_status_bumps_version_and_audits_who_what_and_before_after()
    {
        var before = _store.Add("crm");
        var auditBefore = _store.Store.AuditCount();

        Commands.Suspend(Names("crm"), passThru: true);

        var after = Assert.Single(_host.OutputOf<Connection>());
        Assert.Equal(ConnectionStatus.Paused, after.Status);
        Assert.Equal(before.Version + 1, after.Version);
        Assert.Equal(ConnectionStatus.Paused, _store.Get("crm").Status);
        Assert.Equal(auditBefore + 1, _store.Store.AuditCount());
        var entry = _store.Store.History(before.Id).Last();
        Assert.Equal(LifecycleAction.Suspend, entry.Action);
        Assert.Equal("tester", entry.Actor);
        Assert.Equal("Status: Active -> Paused", entry.Summary);
        Assert.Equal("Active", entry.Before!["Status"]);
        Assert.Equal("Paused", entry.After!["status"]);
        Assert.Contains("\"status\":\"Paused\"", entry.AfterJson);
        Assert.Single(_host.ShouldProcessCalls);
        Assert.Contains("Suspend (Active -> Paused)", _host.ShouldProcessCalls[0].Action);
    }

    [Fact]
    public void Without_PassThru_a_change_writes_no_output()
    {
        _store.Add("crm");

        Commands.Suspend(Names("crm"), passThru: false);

        Assert.Empty(_host.Output);
        Assert.Equal(ConnectionStatus.Paused, _store.Get("crm").Status);
    }

    [Fact]
    public void Resume_brings_a_paused_connection_back()
    {
        _store.Add("crm", ConnectionStatus.Paused);

        Commands.Resume(Names("crm"), passThru: false);

        Assert.Equal(ConnectionStatus.Active, _store.Get("crm").Status);
    }

    [Fact]
    public void Repeating_a_transition_is_a_verbose_no_op_without_an_audit_entry_or_a_question()
    {
        var paused = _store.Add("crm", ConnectionStatus.Paused);
        var audit = _store.Store.AuditCount();

        Commands.Suspend(Names("crm"), passThru: true);

        Assert.Empty(_host.Errors);
        Assert.Empty(_host.ShouldProcessCalls);
        Assert.Contains(_host.Verbose, v => v.Contains("already Paused", StringComparison.Ordinal));
        Assert.Equal(audit, _store.Store.AuditCount());
        Assert.Equal(paused.Version, Assert.Single(_host.OutputOf<Connection>()).Version);
    }

    [Fact]
    public void WhatIf_writes_nothing_to_the_store()
    {
        _store.Add("a");
        _store.Add("b");
        var audit = _store.Store.AuditCount();
        _host.Proceed = false;

        Commands.Suspend(Names("a", "b"), passThru: true);
        Commands.Remove(Names("a"), passThru: true);
        Commands.Set(Names("b"), new ConnectionEdit { Description = "changed" }, passThru: true);

        Assert.Equal(4, _host.ShouldProcessCalls.Count);
        Assert.Empty(_host.Output);
        Assert.Equal(audit, _store.Store.AuditCount());
        Assert.All(new[] { "a", "b" }, n => Assert.Equal(ConnectionStatus.Active, _store.Get(n).Status));
        Assert.Equal("", _store.Get("b").Description);
    }

    [Fact]
    public void One_bad_name_in_a_pipeline_of_several_is_a_per_item_error_and_the_rest_go_on()
    {
        _store.Add("a");
        _store.Add("c");

        Commands.Suspend(Names("a", "missing", "c"), passThru: true);

        Assert.Equal(new[] { "a", "c" }, _host.OutputOf<Connection>().Select(c => c.Name));
        var error = Assert.Single(_host.Errors);
        Assert.Equal(ErrorIds.ConnectionNotFound, error.ErrorId);
        Assert.Equal("missing", error.Target);
    }

    [Fact]
    public void An_illegal_transition_in_a_pipeline_is_reported_and_the_rest_go_on()
    {
        _store.Add("pending", ConnectionStatus.Pending);
        _store.Add("paused", ConnectionStatus.Paused);

        Commands.Resume(Names("pending", "paused"), passThru: false);

        var error = Assert.Single(_host.Errors);
        Assert.Equal(ErrorIds.ConnectionIllegalTransition, error.ErrorId);
        Assert.Contains("its status is Pending", error.Message);
        Assert.Equal(ConnectionStatus.Pending, _store.Get("pending").Status);
        Assert.Equal(ConnectionStatus.Active, _store.Get("paused").Status);
    }

    [Fact]
    public void Targets_by_id_and_by_object_work_like_names()
    {
        var a = _store.Add("a");
        var b = _store.Add("b");

        Commands.Suspend(new[] { ConnectionTarget.ById(a.Id), ConnectionTarget.ByObject(b) }, passThru: false);

        Assert.Equal(ConnectionStatus.Paused, _store.Get("a").Status);
        Assert.Equal(ConnectionStatus.Paused, _store.Get("b").Status);
    }

    [Fact]
    public void Remove_keeps_a_tombstone_whose_history_stays_queryable_and_frees_the_name()
    {
        var crm = _store.Add("crm");

        Commands.Remove(Names("crm"), passThru: true);

        var tombstone = Assert.Single(_host.OutputOf<Connection>());
        Assert.Equal(ConnectionStatus.Removed, tombstone.Status);
        Assert.NotNull(tombstone.RemovedAt);
        Assert.Null(_store.Store.FindByName("crm"));

        _host.Output.Clear();
        Commands.History(Names("crm"));
        var history = _host.OutputOf<AuditEntry>().ToList();
        Assert.Equal(new[] { LifecycleAction.Create, LifecycleAction.Accept, LifecycleAction.Remove }, history.Select(h => h.Action));
        Assert.All(history, h => Assert.Equal(crm.Id, h.ConnectionId));

        var again = _store.Add("CRM");
        Assert.NotEqual(crm.Id, again.Id);
    }

    [Fact]
    public void Removing_by_id_twice_is_a_no_op()
    {
        var crm = _store.Add("crm");
        Commands.Remove(new[] { ConnectionTarget.ById(crm.Id) }, passThru: false);
        var audit = _store.Store.AuditCount();

        Commands.Remove(new[] { ConnectionTarget.ById(crm.Id) }, passThru: false);

        Assert.Empty(_host.Errors);
        Assert.Equal(audit, _store.Store.AuditCount());
        Assert.Contains(_host.Verbose, v => v.Contains("already Removed", StringComparison.Ordinal));
    }

    [Fact]
    public void Set_renames_and_describes_in_one_audited_change()
    {
        var crm = _store.Add("crm");

        Commands.Set(Names("crm"), new ConnectionEdit { NewName = "crm-eu", Description = "EU org" }, passThru: true);

        var changed = Assert.Single(_host.OutputOf<Connection>());
        Assert.Equal(("crm-eu", "EU org", crm.Version + 1), (changed.Name, changed.Description, changed.Version));
        Assert.Equal(crm.Id, changed.Id);
        Assert.Null(_store.Store.FindByName("crm"));
        var entry = _store.Store.History(crm.Id).Last();
        Assert.Equal(LifecycleAction.Edit, entry.Action);
        Assert.Equal("Name: 'crm' -> 'crm-eu'; Description changed", entry.Summary);
    }

    [Fact]
    public void Set_with_nothing_new_is_a_no_op()
    {
        _store.Add("crm");
        var audit = _store.Store.AuditCount();

        Commands.Set(Names("crm"), new ConnectionEdit { Description = "" }, passThru: false);

        Assert.Equal(audit, _store.Store.AuditCount());
        Assert.Empty(_host.ShouldProcessCalls);
    }

    [Fact]
    public void Renaming_onto_an_existing_name_in_any_case_is_refused_naming_it()
    {
        _store.Add("crm");
        _store.Add("erp");

        Commands.Set(Names("erp"), new ConnectionEdit { NewName = "CRM" }, passThru: false);

        var error = Assert.Single(_host.Errors);
        Assert.Equal(ErrorIds.ConnectionNameInUse, error.ErrorId);
        Assert.Equal(ErrorKind.ResourceExists, error.Kind);
        Assert.Contains("'crm' already exists", error.Message);
        Assert.Equal("erp", _store.Get("erp").Name);
        Assert.Empty(_host.ShouldProcessCalls);
    }

    [Fact]
    public void Changing_only_the_case_of_a_name_is_allowed()
    {
        _store.Add("crm");

        Commands.Set(Names("crm"), new ConnectionEdit { NewName = "CRM" }, passThru: false);

        Assert.Empty(_host.Errors);
        Assert.Equal("CRM", _store.Get("crm").Name);
    }

    [Fact]
    public void Creating_a_duplicate_name_is_refused()
    {
        _store.Add("crm");

        var error = Assert.Throws<ConnectionToolsException>(() => _store.Add("Crm"));

        Assert.Equal(ErrorIds.ConnectionNameInUse, error.ErrorId);
    }

    [Fact]
    public void A_stale_object_is_refused_instead_of_overwriting_a_newer_change()
    {
        var stale = _store.Add("crm");
        Commands.Set(Names("crm"), new ConnectionEdit { Description = "newer" }, passThru: false);

        Commands.Set(new[] { ConnectionTarget.ByObject(stale) }, new ConnectionEdit { Description = "older" }, passThru: false);

        var error = Assert.Single(_host.Errors);
        Assert.Equal(ErrorIds.ConnectionConflict, error.ErrorId);
        Assert.Contains($"your copy is version {stale.Version}, the store has version {stale.Version + 1}", error.Message);
        Assert.Equal("newer", _store.Get("crm").Description);
    }

    [Fact]
    public void Editing_a_removed_connection_is_refused()
    {
        var crm = _store.Add("crm", ConnectionStatus.Removed);

        Commands.Set(new[] { ConnectionTarget.ById(crm.Id) }, new ConnectionEdit { Description = "x" }, passThru: false);

        Assert.Equal(ErrorIds.ConnectionRemoved, Assert.Single(_host.Errors).ErrorId);
    }

    [Fact]
    public void An_invalid_new_name_is_refused_before_anything_is_written()
    {
        _store.Add("crm");
        var audit = _store.Store.AuditCount();

        Commands.Set(Names("crm"), new ConnectionEdit { NewName = "bad*name" }, passThru: false);

        Assert.Equal(ErrorIds.ConnectionInvalidName, Assert.Single(_host.Errors).ErrorId);
        Assert.Equal(audit, _store.Store.AuditCount());
    }

    [Fact]
    public void A_cancelled_call_stops_before_the_next_item()
    {
        _store.Add("a");
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();
        _host.CancellationToken = cancellation.Token;

        Assert.Throws<OperationCanceledException>(() => Commands.Suspend(Names("a"), passThru: false));
        Assert.Equal(ConnectionStatus.Active, _store.Get("a").Status);
    }

    [Fact]
    public void The_node_describes_its_store_and_counts()
    {
        _store.Add("a");
        _store.Add("p", ConnectionStatus.Paused);
        _store.Add("r", ConnectionStatus.Removed);

        var info = _store.Node.Describe();

        Assert.Equal(_store.Node.Location.Path, info.StorePath);
        Assert.Equal(_store.Database is null ? "SQLite" : "PostgreSQL", info.Engine);
        Assert.Equal((2, 1, 1, 1), (info.ConnectionCount, info.ActiveCount, info.PausedCount, info.RemovedCount));
        Assert.NotEqual(Guid.Empty, info.NodeId);
    }
}
