using System.Text;
using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Errors;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Authorization.Tests;

/// <summary>The commands' own rules with a scripted provider: checks before the network, org pinning, Inactive reasons, removal.</summary>
public sealed class SystemConnectionCommandsTests : IDisposable
{
    private const string Secret = "client-secret-value-never-shown";
    private readonly TestStore _store;
    private readonly FakeAuthorizer _provider = new();
    private ISystemAuthorizer? _authorizer; // replaces _provider where a test needs another answer
    private readonly RecordingHost _host = new();

    public SystemConnectionCommandsTests()
    {
        _store = new TestStore(clients: new Nodes.NodeClients { Authorizers = _ => _authorizer ?? _provider });
    }

    public void Dispose() => _store.Dispose();

    private SystemConnectionCommands Commands => new(_store.Node, _host);

    private static NewConnectionRequest Dynamics(string name = "crm") => new()
    {
        Name = name,
        Type = "Dynamics365",
        InstanceUrl = "https://contoso.crm.dynamics.com",
        AcceptDataProcessingAgreement = true,
        ClientId = "11111111-1111-1111-1111-111111111111",
        TenantId = "contoso.onmicrosoft.com",
        ClientSecret = Secret,
    };

    private Connection New(NewConnectionRequest request)
    {
        Commands.New(request);
        return _host.OutputOf<Connection>().Last();
    }

    [Fact]
    public void New_connection_is_active_pinned_to_its_org_and_its_grant_is_encrypted()
    {
        var created = New(Dynamics());

        Assert.Equal(ConnectionStatus.Active, created.Status);
        Assert.Equal("00D000000000001AAA", created.OrganizationId);
        Assert.Equal(AuthorizationFlow.ClientSecret, created.AuthorizationFlow);
        Assert.Equal(EnvironmentType.Public, created.EnvironmentType);
        Assert.Equal("app:11111111-1111-1111-1111-111111111111", created.AuthorizedAs);
        Assert.Equal("https://contoso.crm.dynamics.com/", created.InstanceUrl);
        Assert.Equal(created, _store.Get("crm"));
        _store.Node.Dispose();
        foreach (var file in Directory.GetFiles(_store.Folder))
        {
            Assert.DoesNotContain(Secret, Encoding.UTF8.GetString(File.ReadAllBytes(file)), StringComparison.Ordinal);
        }
    }

    public static TheoryData<string, Action<NewConnectionRequest>> BadInput => new()
    {
        { ErrorIds.AuthorizationAgreementRequired, r => r.AcceptDataProcessingAgreement = false },
        { ErrorIds.AuthorizationInvalidEnvironmentType, r => r.EnvironmentType = "Azure" },
        { ErrorIds.AuthorizationInvalidInstanceUrl, r => r.InstanceUrl = "http://contoso.crm.dynamics.com" },
        { ErrorIds.AuthorizationInvalidInstanceUrl, r => r.InstanceUrl = "https://contoso.crm.microsoftdynamics.us" },
        { ErrorIds.AuthorizationInvalidFlow, r => r.Type = "Private" },
        { ErrorIds.AuthorizationInvalidFlow, r => r.TenantId = null },
        { ErrorIds.AuthorizationCertificateNotFound, r => { r.ClientSecret = null; r.CertificatePath = "/nowhere/app.pfx"; } },
        { ErrorIds.AuthorizationInteractionRequired, r => { r.ClientSecret = null; r.Interactive = false; } },
        { ErrorIds.AuthorizationInteractionRequired, r => { r.ClientSecret = null; r.UseDeviceCode = true; r.Interactive = false; } },
        { ErrorIds.ConnectionInvalidName, r => r.Name = "" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public void Bad_input_is_refused_before_any_network_call_and_nothing_is_stored(string errorId, Action<NewConnectionRequest> spoil)
    {
        var request = Dynamics();
        spoil(request);

        var error = Assert.Throws<ConnectionToolsException>(() => Commands.New(request));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Empty(_provider.Calls);
        Assert.Empty(_store.Store.List(new ConnectionFilter { IncludeRemoved = true }));
        Assert.DoesNotContain(Secret, error.Message + error.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificates_without_a_key_or_with_a_wrong_password_are_refused_before_any_network_call()
    {
        var (pfx, cer, _) = TestCertificates.Write(_store.Folder);
        var noKey = Dynamics();
        noKey.ClientSecret = null;
        noKey.CertificatePath = cer;
        var wrongPassword = Dynamics();
        wrongPassword.ClientSecret = null;
        wrongPassword.CertificatePath = pfx;
        wrongPassword.CertificatePassword = "not-the-password";

        Assert.Equal(ErrorIds.AuthorizationCertificateNoPrivateKey, Assert.Throws<ConnectionToolsException>(() => Commands.New(noKey)).ErrorId);
        var error = Assert.Throws<ConnectionToolsException>(() => Commands.New(wrongPassword));
        Assert.Equal(ErrorIds.AuthorizationCertificatePassword, error.ErrorId);
        Assert.DoesNotContain("not-the-password", error.Message + error.RecommendedAction, StringComparison.Ordinal);
        Assert.Empty(_provider.Calls);

        wrongPassword.CertificatePassword = TestCertificates.Password;
        var created = New(wrongPassword);
        Assert.Equal(AuthorizationFlow.ClientCertificate, created.AuthorizationFlow);
    }

    [Fact]
    public void An_org_already_connected_is_refused_naming_the_existing_connection()
    {
        New(Dynamics("first"));

        var error = Assert.Throws<ConnectionToolsException>(() => Commands.New(Dynamics("second")));

        Assert.Equal(ErrorIds.ConnectionOrganizationInUse, error.ErrorId);
        Assert.Contains("'first'", error.Message, StringComparison.Ordinal);
        Assert.Null(_store.Store.FindByName("second"));
    }

    [Fact]
    public void A_new_connection_to_an_org_whose_connection_was_removed_reuses_its_settings()
    {
        var request = Dynamics("old");
        request.Description = "Support cases from the EU org";
        var old = New(request);
        _store.Commands(_host).Remove(new[] { ConnectionTarget.ByName("old") }, passThru: false);

        var renewed = New(Dynamics("new"));

        Assert.NotEqual(old.Id, renewed.Id);
        Assert.Equal("Support cases from the EU org", renewed.Description);
        Assert.Equal(ConnectionStatus.Removed, _store.Store.Find(old.Id)!.Status);
    }

    [Theory]
    [InlineData(InactiveReason.Revoked, AuthorizationState.Revoked, "ConnectionTools.Authorization.Revoked")]
    [InlineData(InactiveReason.Expired, AuthorizationState.Expired, "ConnectionTools.Authorization.Expired")]
    [InlineData(InactiveReason.PolicyBlocked, AuthorizationState.PolicyBlocked, "ConnectionTools.Authorization.PolicyBlocked")]
    [InlineData(InactiveReason.ConsentRequired, AuthorizationState.ConsentRequired, "ConnectionTools.Authorization.ConsentRequired")]
    public void A_refused_refresh_makes_the_connection_inactive_with_its_reason_and_names_the_fix(InactiveReason reason, AuthorizationState state, string errorId)
    {
        New(Dynamics());
        _provider.RefuseRefresh = new ProviderRefusedException(reason, "invalid_grant: AADSTS50173");

        Commands.Test(new[] { ConnectionTarget.ByName("crm") }, new TestAuthorizationRequest());

        var result = Assert.Single(_host.OutputOf<AuthorizationResult>());
        Assert.Equal(state, result.Result);
        Assert.Equal(ConnectionStatus.Inactive, result.Status);
        Assert.Equal(ConnectionStatus.Active, result.StatusBefore);
        Assert.Equal(reason, _store.Get("crm").InactiveReason);
        var error = Assert.Single(_host.Errors);
        Assert.Equal(errorId, error.ErrorId);
        Assert.Contains("Update-ConnectionAuthorization -Name 'crm'", error.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_grant_tests_valid_and_changes_nothing()
    {
        var created = New(Dynamics());
        var audit = _store.Store.AuditCount();

        Commands.Test(new[] { ConnectionTarget.ByName("crm") }, new TestAuthorizationRequest());

        Assert.Equal(AuthorizationState.Valid, Assert.Single(_host.OutputOf<AuthorizationResult>()).Result);
        Assert.Equal(created, _store.Get("crm"));
        Assert.Equal(audit, _store.Store.AuditCount());
        Assert.Empty(_host.Errors);
    }

    [Fact]
    public void An_unreachable_provider_is_an_error_but_never_makes_a_connection_inactive()
    {
        New(Dynamics());
        _provider.RefuseRefresh = null;
        _authorizer = new UnreachableAuthorizer();

        Commands.Test(new[] { ConnectionTarget.ByName("crm") }, new TestAuthorizationRequest());

        Assert.Equal(AuthorizationState.Failed, Assert.Single(_host.OutputOf<AuthorizationResult>()).Result);
        Assert.Equal(ErrorIds.AuthorizationProviderUnavailable, Assert.Single(_host.Errors).ErrorId);
        Assert.Equal(ConnectionStatus.Active, _store.Get("crm").Status);
    }

    [Fact]
    public void Update_with_stored_unattended_credentials_makes_every_inactive_connection_active_in_parallel_and_runs_the_hook()
    {
        _provider.OrganizationOf = url => "org-" + url.Host;
        for (var i = 0; i < 20; i++)
        {
            var request = Dynamics("crm" + i);
            request.InstanceUrl = $"https://contoso{i}.crm.dynamics.com";
            New(request);
        }

        _provider.RefuseRefresh = new ProviderRefusedException(InactiveReason.Revoked, "AADSTS50173");
        Commands.Test(_store.Store.List(new ConnectionFilter()).Select(ConnectionTarget.ByObject), new TestAuthorizationRequest());
        Assert.Equal(20, _store.Store.List(new ConnectionFilter()).Count);
        Assert.All(_store.Store.List(new ConnectionFilter()), c => Assert.Equal(ConnectionStatus.Inactive, c.Status));
        var hooked = new List<Guid>();
        _store.Node.OnReauthorized.Add((tx, c) => hooked.Add(c.Id));
        _host.Output.Clear();
        _host.Errors.Clear();
        _provider.Latency = TimeSpan.FromMilliseconds(50);
        _provider.MaxConcurrent = 0;
        var commands = Commands;
        commands.Update(commands.SelectByStatus(new[] { ConnectionStatus.Inactive }), new UpdateAuthorizationRequest { Interactive = false });

        Assert.Empty(_host.Errors);
        var results = _host.OutputOf<AuthorizationResult>().ToList();
        Assert.Equal(20, results.Count);
        Assert.All(results, r => Assert.Equal((AuthorizationState.Authorized, ConnectionStatus.Inactive, ConnectionStatus.Active), (r.Result, r.StatusBefore, r.Status)));
        Assert.All(_store.Store.List(new ConnectionFilter()), c => Assert.Equal((ConnectionStatus.Active, (InactiveReason?)null), (c.Status, c.InactiveReason)));
        Assert.Equal(20, hooked.Distinct().Count());
        Assert.InRange(_provider.MaxConcurrent, 2, SystemConnectionCommands.DefaultThrottleLimit);
        Assert.Contains(_host.Progress, p => p.Completed);
    }

    [Fact]
    public void A_different_org_is_refused_then_accepted_with_AcceptNewOrganizationId_keeping_the_id()
    {
        var created = New(Dynamics());
        _provider.OrganizationId = "00D0000000000ZZAAA";

        Commands.Update(new[] { ConnectionTarget.ByName("crm") }, new UpdateAuthorizationRequest());

        Assert.Equal(ErrorIds.AuthorizationOrgChanged, Assert.Single(_host.Errors).ErrorId);
        var refused = _store.Get("crm");
        Assert.Equal((ConnectionStatus.Inactive, (InactiveReason?)InactiveReason.OrgChanged, "00D000000000001AAA"), (refused.Status, refused.InactiveReason, refused.OrganizationId));

        _host.Errors.Clear();
        Commands.Update(new[] { ConnectionTarget.ByName("crm") }, new UpdateAuthorizationRequest { AcceptNewOrganizationId = true });

        Assert.Empty(_host.Errors);
        var rebound = _store.Get("crm");
        Assert.Equal((created.Id, ConnectionStatus.Active, "00D0000000000ZZAAA"), (rebound.Id, rebound.Status, rebound.OrganizationId));
        Assert.Equal(created.Description, rebound.Description);
    }

    [Fact]
    public void Update_of_an_interactive_connection_in_a_scheduled_task_fails_fast_and_changes_nothing()
    {
        var request = Dynamics();
        request.ClientSecret = null;
        request.ClientId = null;
        request.TenantId = null;
        request.Interactive = true;
        New(request);
        var before = _store.Get("crm");
        _provider.Calls.Clear();

        Commands.Update(new[] { ConnectionTarget.ByName("crm") }, new UpdateAuthorizationRequest { Interactive = false });

        Assert.Equal(ErrorIds.AuthorizationInteractionRequired, Assert.Single(_host.Errors).ErrorId);
        Assert.Equal(AuthorizationState.Failed, Assert.Single(_host.OutputOf<AuthorizationResult>()).Result);
        Assert.Empty(_provider.Calls);
        Assert.Equal(before, _store.Get("crm"));
    }

    [Fact]
    public void Removing_a_system_connection_revokes_its_grant_and_deletes_it_and_a_failed_revoke_is_a_warning()
    {
        var request = Dynamics("sf");
        request.Type = "SalesforceProduction";
        request.InstanceUrl = "https://contoso.my.salesforce.com";
        request.ClientSecret = null;
        request.ClientId = null;
        request.TenantId = null;
        request.Interactive = true;
        var created = New(request);
        _provider.FailRevoke = true;

        _store.Commands(_host).Remove(new[] { ConnectionTarget.ByName("sf") }, passThru: false);

        Assert.Equal(ConnectionStatus.Removed, _store.Store.Find(created.Id)!.Status);
        Assert.Contains(_provider.Calls, c => c.StartsWith("revoke:refresh-", StringComparison.Ordinal));
        Assert.Contains(_host.Warnings, w => w.Contains("could not be revoked", StringComparison.Ordinal));
        Assert.Null(_store.Store.Read(db => GrantRows.Find(db, created.Id)));
        Assert.Empty(_host.Errors);
    }

    [Fact]
    public void Private_connections_have_no_grant_to_test()
    {
        _store.Add("peer");

        Commands.Test(new[] { ConnectionTarget.ByName("peer") }, new TestAuthorizationRequest());

        Assert.Equal(ErrorIds.AuthorizationNotSystemConnection, Assert.Single(_host.Errors).ErrorId);
        Assert.Empty(_host.OutputOf<AuthorizationResult>());
    }

    [Fact]
    public void Update_writes_its_errors_after_every_result_so_ErrorAction_Stop_never_cuts_a_run_short()
    {
        _provider.OrganizationOf = url => "org-" + url.Host;
        foreach (var i in new[] { 1, 2, 3 })
        {
            var request = Dynamics("crm" + i);
            request.InstanceUrl = $"https://contoso{i}.crm.dynamics.com";
            New(request);
        }

        _provider.OrganizationOf = url => url.Host.StartsWith("contoso2", StringComparison.Ordinal) ? "another-org" : "org-" + url.Host;
        var log = new OrderHost();

        new SystemConnectionCommands(_store.Node, log).Update(new[] { "crm1", "crm2", "crm3" }.Select(ConnectionTarget.ByName), new UpdateAuthorizationRequest { ThrottleLimit = 1 });

        Assert.Equal(new[] { "result", "result", "result", "error" }, log.Entries);
    }

    private sealed class OrderHost : Hosting.IHostContext
    {
        public List<string> Entries { get; } = new();

        public CancellationToken CancellationToken => CancellationToken.None;

        public void WriteObject(object value) => Entries.Add("result");

        public void WriteError(ConnectionToolsException error) => Entries.Add("error");

        public void WriteWarning(string message)
        {
        }

        public void WriteVerbose(string message)
        {
        }

        public void WriteProgress(Hosting.ProgressInfo progress)
        {
        }

        public bool ShouldProcess(string target, string action) => true;
    }

    private sealed class UnreachableAuthorizer : ISystemAuthorizer
    {
        public Task<AuthorizationOutcome> AuthorizeAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken) =>
            throw ProviderRetry.Unavailable("https://login.microsoftonline.com", "connection refused, 3 attempts");

        public Task<AuthorizationOutcome> RefreshAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken) =>
            throw ProviderRetry.Unavailable("https://login.microsoftonline.com", "connection refused, 3 attempts");

        public Task<bool> RevokeAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken) => Task.FromResult(false);
    }
}
