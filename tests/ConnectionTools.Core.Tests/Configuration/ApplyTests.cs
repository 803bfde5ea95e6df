using System.Runtime.InteropServices;
using ConnectionTools.Configuration;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.Core.Tests.Configuration;

/// <summary>Plan and apply against a real store: idempotence, -WhatIf, failures per connection, prune, export round trips.</summary>
public sealed class ApplyTests : IDisposable
{
    private const string ClientSecret = "do-not-print-this-client-secret-4711";

    private readonly TestStore _store = new();
    private readonly FakeSystemConnections _systems;
    private readonly string _secretVariable = "CT_TEST_SECRET_" + Guid.NewGuid().ToString("N");

    public ApplyTests()
    {
        new NodeCommands(_store.Node, new RecordingHost()).SetPublicUrl("https://node.contoso.example/", passThru: false);
        _systems = new FakeSystemConnections(_store.Store);
        Environment.SetEnvironmentVariable(_secretVariable, ClientSecret);
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_secretVariable, null);
        _store.Dispose();
    }

    private string Configuration => $"""
        apiVersion: connectiontools/v1
        name: contoso
        connections:
          - name: sf-prod
            type: SalesforceProduction
            instanceUrl: https://contoso.my.salesforce.com
            retrievalInterval: 5m
            authorization:
              flow: JwtBearer
              clientId: 3MVG9-consumer-key
              username: integration@contoso.com
              certificatePath: certs/sf.pfx
          - name: crm-main
            type: Dynamics365
            instanceUrl: https://contoso.crm.dynamics.com
            state: Paused
            description: Main CRM
            authorization:
              flow: ClientSecret
              clientId: 11111111-2222-3333-4444-555555555555
              tenantId: contoso.onmicrosoft.com
              clientSecret: env:{_secretVariable}
          - name: partner-eu
            type: Private
            side: Public
            mode: Basic
            localInstanceName: contoso-public
            invitationCodePath: codes/partner-eu.txt
        """;

    private string Write(string yaml, string name = "contoso.yaml")
    {
        var path = Path.Combine(_store.Folder, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    private ConfigurationCommands Commands(RecordingHost host, ConnectionNode? node = null, FakeSystemConnections? systems = null) =>
        new(node ?? _store.Node, host, new ConfigurationServices { SystemConnections = systems ?? _systems });

    private List<ConnectionApplyResult> Invoke(string path, bool prune = false, bool proceed = true, RecordingHost? host = null)
    {
        host ??= new RecordingHost();
        host.Proceed = proceed;
        Commands(host).Invoke(path, prune);
        return host.OutputOf<ConnectionApplyResult>().ToList();
    }

    private List<ConnectionTestResult> Test(string path, RecordingHost? host = null)
    {
        host ??= new RecordingHost();
        Commands(host).Test(path);
        Assert.True(host.Errors.Count == 0, string.Join("\n", host.Errors.Select(e => e.Message)));
        return host.OutputOf<ConnectionTestResult>().ToList();
    }

    [Fact]
    public void Applying_creates_what_is_declared_and_reports_each_action_with_the_state_before_and_after()
    {
        var path = Write(Configuration);
        var host = new RecordingHost();
        var results = Invoke(path, host: host);

        Assert.Empty(host.Errors);
        Assert.Equal(new[] { "sf-prod", "crm-main", "partner-eu" }, results.Select(r => r.Name));
        Assert.All(results, r => Assert.Equal(ApplyOutcome.Applied, r.Outcome));
        Assert.All(results, r => Assert.Equal(PlanAction.Create, r.Action));
        Assert.All(results, r => Assert.Null(r.StatusBefore));
        Assert.Equal(new ConnectionStatus?[] { ConnectionStatus.Active, ConnectionStatus.Paused, ConnectionStatus.Pending }, results.Select(r => r.StatusAfter));
        Assert.Equal(new[] { PlanAction.Create, PlanAction.Suspend }, results[1].Steps);
        Assert.Equal("Paused", results[1].AfterState["state"]);
        Assert.Equal("Main CRM", _store.Get("crm-main").Description);

        // The secret reached the system engine, resolved, and nothing else.
        Assert.Equal(ClientSecret, _systems.Calls.Single(c => c.Name == "crm-main").Secrets.ClientSecret);
        Assert.Equal(3, host.ShouldProcessCalls.Count);
    }

    [Fact]
    public void The_invitation_code_is_written_where_declared_readable_only_by_its_owner()
    {
        var path = Write(Configuration);
        Invoke(path);

        var codeFile = Path.Combine(_store.Folder, "codes", "partner-eu.txt");
        var code = File.ReadAllText(codeFile).Trim();
        Assert.Equal(_store.Get("partner-eu").Id, InvitationCodec.Decode(code).ConnectionId);
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(codeFile));
        }

        // Deleting the file asks for a fresh code on the next run; the old one stops working.
        File.Delete(codeFile);
        var again = Invoke(path);
        Assert.Equal(PlanAction.Update, again.Single(r => r.Name == "partner-eu").Action);
        var renewed = File.ReadAllText(codeFile).Trim();
        Assert.NotEqual(code, renewed);
    }

    [Fact]
    [Trait("Store", "SqliteFile")] // It also checks that the SQLite file's WAL did not grow.
    public void A_second_run_plans_only_None_and_writes_nothing_to_the_store()
    {
        var path = Write(Configuration);
        Invoke(path);
        var audit = _store.Store.AuditCount();
        var versions = _store.Store.List(new ConnectionFilter()).ToDictionary(c => c.Id, c => c.Version);
        var walBefore = new FileInfo(_store.Path_ + "-wal").Length;
        var managed = ManagedConnections.ReadAll(_store.Store);

        var host = new RecordingHost();
        var second = Invoke(path, host: host);

        Assert.Equal(3, second.Count);
        Assert.All(second, r => Assert.Equal(PlanAction.None, r.Action));
        Assert.All(second, r => Assert.Equal(ApplyOutcome.Unchanged, r.Outcome));
        Assert.All(second, r => Assert.Equal(r.StatusBefore, r.StatusAfter));
        Assert.Empty(host.ShouldProcessCalls);
        Assert.Equal(audit, _store.Store.AuditCount());
        Assert.Equal(versions, _store.Store.List(new ConnectionFilter()).ToDictionary(c => c.Id, c => c.Version));
        Assert.Equal(managed, ManagedConnections.ReadAll(_store.Store));
        Assert.Equal(walBefore, new FileInfo(_store.Path_ + "-wal").Length);
        Assert.Equal(2, _systems.Calls.Count);
    }

    [Fact]
    public void WhatIf_shows_the_plan_and_writes_nothing()
    {
        var path = Write(Configuration);
        var host = new RecordingHost();
        var audit = _store.Store.AuditCount();
        var results = Invoke(path, proceed: false, host: host);

        Assert.Equal(3, results.Count);
        Assert.All(results, r => Assert.Equal(ApplyOutcome.Skipped, r.Outcome));
        Assert.Equal(new[] { "Create", "Create, then Suspend", "Create" }, host.ShouldProcessCalls.Select(c => c.Action.Split(" [", StringSplitOptions.None)[0]));
        Assert.Contains(host.Verbose, v => v.Contains("3 Create", StringComparison.Ordinal));
        Assert.Empty(_store.Store.List(new ConnectionFilter { IncludeRemoved = true }));
        Assert.Equal(audit, _store.Store.AuditCount());
        Assert.Empty(ManagedConnections.ReadAll(_store.Store));
        Assert.False(Directory.Exists(Path.Combine(_store.Folder, "codes")));
        Assert.Empty(_systems.Calls);
    }

    [Fact]
    public void One_connection_failing_does_not_stop_the_others_and_is_reported_with_its_error()
    {
        _systems.Refuse.Add("sf-prod");
        var path = Write(Configuration);
        var host = new RecordingHost();
        var results = Invoke(path, host: host);

        var error = Assert.Single(host.Errors);
        Assert.Equal(ErrorIds.AuthorizationConsentRequired, error.ErrorId);
        var failed = results.Single(r => r.Name == "sf-prod");
        Assert.Equal(ApplyOutcome.Failed, failed.Outcome);
        Assert.Equal(ErrorIds.AuthorizationConsentRequired, failed.ErrorId);
        Assert.Null(failed.StatusAfter);
        Assert.All(results.Where(r => r.Name != "sf-prod"), r => Assert.Equal(ApplyOutcome.Applied, r.Outcome));

        // Once consent is given, the next run creates only what is missing.
        _systems.Refuse.Clear();
        var next = Invoke(path);
        Assert.Equal(new[] { PlanAction.Create, PlanAction.None, PlanAction.None }, next.Select(r => r.Action));
    }

    [Fact]
    public void Secrets_never_reach_output_verbose_errors_or_exports()
    {
        _systems.Refuse.Add("crm-main");
        var path = Write(Configuration);
        var host = new RecordingHost();
        Invoke(path, host: host);
        Commands(host).Test(path);
        Commands(host).Export(Path.Combine(_store.Folder, "export.yaml"));

        var everything = string.Join("\n", host.Verbose.Concat(host.Warnings).Concat(host.Errors.Select(e => e.Message + e.RecommendedAction))
            .Concat(host.ShouldProcessCalls.Select(c => c.Target + c.Action))
            .Concat(host.Output.Select(o => o.ToString() ?? ""))
            .Concat(host.OutputOf<ConnectionApplyResult>().SelectMany(r => r.BeforeState.Values.Concat(r.AfterState.Values)).Select(v => v ?? ""))
            .Concat(host.OutputOf<ConnectionTestResult>().SelectMany(r => r.DesiredState.Values.Concat(r.ActualState.Values)).Select(v => v ?? "")));
        Assert.DoesNotContain(ClientSecret, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(ClientSecret, File.ReadAllText(Path.Combine(_store.Folder, "export.yaml")), StringComparison.Ordinal);
        Assert.DoesNotContain("CT1-", File.ReadAllText(Path.Combine(_store.Folder, "export.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public void Test_reports_desired_and_actual_state_and_which_properties_differ()
    {
        var path = Write(Configuration);
        var before = Test(path);
        Assert.Equal(3, before.Count);
        Assert.All(before, r => Assert.False(r.InDesiredState));
        Invoke(path);
        var after = Test(path);
        Assert.Equal(3, after.Count);
        Assert.All(after, r => Assert.True(r.InDesiredState, r.Name + ": " + string.Join(", ", r.DifferingProperties)));

        // Drift made by hand: paused, described differently, and a new retrieval interval declared.
        new ConnectionCommands(_store.Node, new RecordingHost()).Suspend(new[] { ConnectionTarget.ByName("sf-prod") }, passThru: false);
        Write(Configuration.Replace("retrievalInterval: 5m", "retrievalInterval: 10m", StringComparison.Ordinal));
        var audit = _store.Store.AuditCount();
        var sf = Test(path).Single(r => r.Name == "sf-prod");

        Assert.False(sf.InDesiredState);
        Assert.Equal(new[] { "state", "retrievalInterval" }, sf.DifferingProperties);
        Assert.Equal(("Active", "Paused"), (sf.DesiredState["state"], sf.ActualState["state"]));
        Assert.Equal(("10m", "5m"), (sf.DesiredState["retrievalInterval"], sf.ActualState["retrievalInterval"]));
        Assert.Equal(new[] { PlanAction.Update, PlanAction.Resume }, sf.PlannedSteps);
        Assert.Equal(audit, _store.Store.AuditCount());

        // A default customer declared for the Dynamics 365 connection is a difference to update, written as stored.
        Write(Configuration.Replace("description: Main CRM", "description: Main CRM\n    defaultCustomer: Accounts(00000000-0000-0000-0000-0000000000A1)", StringComparison.Ordinal));
        var crm = Test(path).Single(r => r.Name == "crm-main");
        Assert.Equal(new[] { "defaultCustomer" }, crm.DifferingProperties);
        Assert.Equal(("accounts(00000000-0000-0000-0000-0000000000a1)", null), (crm.DesiredState["defaultCustomer"], crm.ActualState["defaultCustomer"]));
        Assert.Equal(new[] { PlanAction.Update }, crm.PlannedSteps);
    }

    [Fact]
    public void An_inactive_system_connection_is_authorized_again()
    {
        var path = Write(Configuration);
        Invoke(path);
        var sf = _store.Get("sf-prod");
        _store.Store.Change(sf.Id, LifecycleAction.Deactivate, c => c.With(c => { c.Status = ConnectionStatus.Inactive; c.InactiveReason = InactiveReason.Revoked; }), "system");

        var result = Invoke(path).Single(r => r.Name == "sf-prod");
        Assert.Equal(PlanAction.Authorize, result.Action);
        Assert.Equal((ConnectionStatus.Inactive, ConnectionStatus.Active), (result.StatusBefore!.Value, result.StatusAfter!.Value));
    }

    [Fact]
    public void Changes_no_command_can_make_are_refused_for_that_connection_only()
    {
        var path = Write(Configuration);
        Invoke(path);
        Write(Configuration
            .Replace("https://contoso.my.salesforce.com", "https://fabrikam.my.salesforce.com", StringComparison.Ordinal)
            .Replace("localInstanceName: contoso-public", "localInstanceName: renamed", StringComparison.Ordinal)
            .Replace("description: Main CRM", "description: Renamed CRM", StringComparison.Ordinal));
        var host = new RecordingHost();
        var results = Invoke(path, host: host);

        Assert.Equal(new[] { ErrorIds.ConfigurationNotApplicable, ErrorIds.ConfigurationNotApplicable }, host.Errors.Select(e => e.ErrorId));
        Assert.Equal(new[] { ApplyOutcome.Failed, ApplyOutcome.Applied, ApplyOutcome.Failed }, results.Select(r => r.Outcome));
        Assert.Equal("Renamed CRM", _store.Get("crm-main").Description);
        Assert.StartsWith(path + ":4:5: ", host.Errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prune_removes_only_connections_this_configuration_once_managed()
    {
        var path = Write(Configuration);
        Invoke(path);
        _store.Add("hand-made");
        Write(Configuration.Split("  - name: partner-eu", StringSplitOptions.None)[0]);

        var withoutPrune = Invoke(path);
        Assert.Equal(2, withoutPrune.Count);
        Assert.NotNull(_store.Store.FindByName("partner-eu"));

        var host = new RecordingHost();
        var pruned = Invoke(path, prune: true, host: host);
        var removal = Assert.Single(pruned, r => r.Action == PlanAction.Remove);
        Assert.Equal("partner-eu", removal.Name);
        Assert.Equal((ConnectionStatus.Pending, ConnectionStatus.Removed), (removal.StatusBefore!.Value, removal.StatusAfter!.Value));
        Assert.Null(_store.Store.FindByName("partner-eu"));
        Assert.NotNull(_store.Store.FindByName("hand-made"));
        Assert.Single(host.ShouldProcessCalls);
    }

    [Fact]
    public void Export_then_Test_reports_no_drift()
    {
        Invoke(Write(Configuration));
        _store.Add("side-less");
        _store.Store.Create(new Connection { Id = Guid.NewGuid(), Name = "from-fabrikam", Type = ConnectionType.Private, Side = PrivateConnectionSide.Private, Status = ConnectionStatus.Paused, Mode = PrivateConnectionMode.Basic, LocalInstanceName = "contoso-private", PeerUri = new Uri("https://fabrikam.example/") }, "tester");
        new ConnectionCommands(_store.Node, new RecordingHost()).Set(new[] { ConnectionTarget.ByName("partner-eu") }, new ConnectionEdit { Description = "Partner: \"EU\" #1\nsecond line" }, passThru: false);

        var host = new RecordingHost();
        var exportPath = Path.Combine(_store.Folder, "export", "node.yaml");
        var exported = Commands(host).Export(exportPath)!;
        Assert.Equal((4, 1), (exported.ConnectionCount, exported.SkippedCount));
        Assert.Contains(host.Warnings, w => w.Contains("side-less", StringComparison.Ordinal));
        Assert.Equal(exported.Text, File.ReadAllText(exportPath));

        var results = Test(exportPath);
        Assert.Equal(4, results.Count);
        Assert.All(results, r => Assert.True(r.InDesiredState, r.Name + ": " + string.Join(", ", r.DifferingProperties)));
    }

    [Fact]
    public void Export_into_a_fresh_store_and_export_again_gives_the_same_file()
    {
        Invoke(Write(Configuration));
        var first = new RecordingHost();
        var exportPath = Path.Combine(_store.Folder, "node.yaml");
        Commands(first).Export(exportPath);

        using var fresh = new TestStore();
        new NodeCommands(fresh.Node, new RecordingHost()).SetPublicUrl("https://other.contoso.example/", passThru: false);
        var freshSystems = new FakeSystemConnections(fresh.Store);

        // Exports hold no secrets: the one the ClientSecret flow needs is added by reference, as an admin would.
        var text = File.ReadAllText(exportPath).Replace("      tenantId: contoso.onmicrosoft.com\n", $"      tenantId: contoso.onmicrosoft.com\n      clientSecret: env:{_secretVariable}\n", StringComparison.Ordinal);
        var withSecret = Path.Combine(fresh.Folder, "node.yaml");
        File.WriteAllText(withSecret, text);
        var host = new RecordingHost();
        Commands(host, fresh.Node, freshSystems).Invoke(withSecret, prune: false);
        Assert.Empty(host.Errors);

        var second = Commands(new RecordingHost(), fresh.Node, freshSystems).Export(null)!;
        Assert.Equal(File.ReadAllText(exportPath), second.Text);
    }

    [Fact]
    public void Accepting_needs_the_code_and_a_failed_acceptance_is_reported_for_that_connection()
    {
        // A real code from another node whose URL does not answer: the private side fails with Peer.Unreachable.
        using var publicNode = new TestStore();
        new NodeCommands(publicNode.Node, new RecordingHost()).SetPublicUrl("http://127.0.0.1:9/", passThru: false);
        var issued = new RecordingHost();
        new InvitationCommands(publicNode.Node, issued).New(new NewPrivateConnectionRequest { Name = "from-contoso", LocalInstanceName = "contoso" });
        File.WriteAllText(Path.Combine(_store.Folder, "code.txt"), issued.OutputOf<PrivateConnectionInvitation>().Single().InvitationCode + "\n");

        var path = Write("""
            apiVersion: connectiontools/v1
            connections:
              - name: from-contoso
                type: Private
                side: Private
                localInstanceName: fabrikam
                invitationCode: file:code.txt
              - name: no-code
                type: Private
                side: Private
              - name: partner-eu
                type: Private
                side: Public
                localInstanceName: contoso-public
            """);
        var host = new RecordingHost();
        var results = Invoke(path, host: host);

        Assert.Equal(new[] { ErrorIds.PeerUnreachable, ErrorIds.ConfigurationMissingKey }, host.Errors.Select(e => e.ErrorId));
        Assert.Equal(new[] { PlanAction.Accept, PlanAction.Accept, PlanAction.Create }, results.Select(r => r.Action));
        Assert.Equal(new[] { ApplyOutcome.Failed, ApplyOutcome.Failed, ApplyOutcome.Applied }, results.Select(r => r.Outcome));
        Assert.Null(_store.Store.FindByName("from-contoso"));
        Assert.DoesNotContain(host.Errors, e => e.Message.Contains("CT1-", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_the_system_engine_system_connections_are_refused_and_private_ones_still_apply()
    {
        var path = Write(Configuration);
        var host = new RecordingHost();
        new ConfigurationCommands(_store.Node, host).Invoke(path, prune: false);

        Assert.Equal(new[] { ErrorIds.ConfigurationSystemConnectionsUnavailable, ErrorIds.ConfigurationSystemConnectionsUnavailable }, host.Errors.Select(e => e.ErrorId));
        Assert.Equal(ApplyOutcome.Applied, host.OutputOf<ConnectionApplyResult>().Single(r => r.Name == "partner-eu").Outcome);
    }
}
