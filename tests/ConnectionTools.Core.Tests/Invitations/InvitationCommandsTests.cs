using System.Text;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Core.Tests;

/// <summary>The public side of a private connection: node URL, New-PrivateConnection and Get-InvitationCode, through the host seam.</summary>
[Collection(ProcessWidePools.Name)]
public sealed class InvitationCommandsTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly RecordingHost _host = new();

    public void Dispose() => _store.Dispose();

    private InvitationCommands Invitations => new(_store.Node, _host);

    private NodeCommands Node => new(_store.Node, _host);

    private PrivateConnectionInvitation CreateInvitation(string name = "crm-eu", PrivateConnectionMode mode = PrivateConnectionMode.Basic)
    {
        if (_store.Node.PublicUrl is null)
        {
            Node.SetPublicUrl("https://node.contoso.example:8443/", passThru: false);
        }

        Invitations.New(new NewPrivateConnectionRequest { Name = name, LocalInstanceName = "contoso-public", Mode = mode });
        Assert.Empty(_host.Errors);
        return _host.OutputOf<PrivateConnectionInvitation>().Last();
    }

    [Fact]
    public void A_request_that_fails_is_its_own_error_and_the_next_one_is_still_created()
    {
        Node.SetPublicUrl("https://node.contoso.example:8443/", passThru: false);

        Invitations.NewEach(new[]
        {
            new NewPrivateConnectionRequest { Name = "bad\u001bname", LocalInstanceName = "contoso" },
            new NewPrivateConnectionRequest { Name = "crm", LocalInstanceName = "contoso" },
        });

        Assert.Single(_host.Errors);
        Assert.Equal("crm", Assert.Single(_host.OutputOf<PrivateConnectionInvitation>()).Name);
    }

    [Fact]
    public void Without_a_public_URL_nothing_is_created_and_the_error_names_the_fix()
    {
        var audit = _store.Store.AuditCount();

        var error = Assert.Throws<ConnectionToolsException>(() => Invitations.New(new NewPrivateConnectionRequest { Name = "crm", LocalInstanceName = "contoso" }));

        Assert.Equal(ErrorIds.NodeNoPublicUrl, error.ErrorId);
        Assert.Contains("Set-ConnectionNode -PublicUrl", error.RecommendedAction);
        Assert.Equal(audit, _store.Store.AuditCount());
        Assert.Null(_store.Store.FindByName("crm"));
    }

    [Theory]
    [InlineData("http://node.contoso.example/")]
    [InlineData("ftp://node.contoso.example/")]
    [InlineData("node.contoso.example")]
    [InlineData("https://node.contoso.example/?x=1")]
    public void An_unusable_public_URL_is_refused_and_not_stored(string url)
    {
        var error = Assert.Throws<ConnectionToolsException>(() => Node.SetPublicUrl(url, passThru: false));

        Assert.Equal(ErrorIds.NodeInsecureUrl, error.ErrorId);
        Assert.Null(_store.Node.PublicUrl);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080/")]
    [InlineData("http://localhost:5080/")]
    [InlineData("http://[::1]:5080/")]
    [InlineData("https://node.contoso.example/")]
    public void HTTPS_or_loopback_URLs_are_accepted_and_audited_under_the_node(string url)
    {
        Node.SetPublicUrl(url, passThru: true);

        Assert.Equal(new Uri(url), _store.Node.PublicUrl);
        Assert.Equal(new Uri(url).AbsoluteUri, Assert.Single(_host.OutputOf<NodeInfo>()).PublicUrl);
        Assert.Contains("Node setting public_url", _store.Store.History(_store.Store.NodeId).Single().Summary);
    }

    [Fact]
    public void New_creates_a_pending_public_side_connection_whose_code_carries_what_the_private_side_needs()
    {
        var before = DateTimeOffset.UtcNow;
        var created = CreateInvitation("crm-eu", PrivateConnectionMode.Script);

        var connection = _store.Get("crm-eu");
        Assert.Equal((ConnectionType.Private, ConnectionStatus.Pending, PrivateConnectionSide.Public, PrivateConnectionMode.Script), (connection.Type, connection.Status, connection.Side!.Value, connection.Mode!.Value));
        Assert.Equal("contoso-public", connection.LocalInstanceName);
        Assert.Null(connection.RemoteInstanceName);
        Assert.Equal(created.ExpiresAt, connection.InvitationExpiresAt);
        Assert.InRange(created.ExpiresAt, before.AddHours(72).AddSeconds(-1), DateTimeOffset.UtcNow.AddHours(72));

        var decoded = InvitationCodec.Decode(created.InvitationCode);
        Assert.Equal(connection.Id, decoded.ConnectionId);
        Assert.Equal("crm-eu", decoded.ConnectionName);
        Assert.Equal(PrivateConnectionMode.Script, decoded.Mode);
        Assert.Equal(new Uri("https://node.contoso.example:8443/"), decoded.PublicNodeUrl);
        Assert.Equal(_store.Store.NodeId, decoded.PublicNodeId);
        Assert.Equal(ConnectionNode.Version, decoded.PublicNodeVersion);
        Assert.Equal("contoso-public", decoded.InitiatorInstanceName);
        Assert.Equal(created.ExpiresAt, decoded.ExpiresAt);
        Assert.True(created.InvitationCode.Length < 600, $"the code is {created.InvitationCode.Length} characters");
    }

    [Fact]
    public void Neither_the_code_nor_its_secret_reaches_the_store_file_the_audit_or_the_verbose_stream()
    {
        var created = CreateInvitation();
        var secret = InvitationCodec.Decode(created.InvitationCode).Secret.ToArray();
        _store.Node.Dispose();
        SqliteConnection.ClearAllPools();

        var bytes = Directory.GetFiles(_store.Folder).Where(f => !f.EndsWith(".key", StringComparison.Ordinal)).SelectMany(File.ReadAllBytes).ToArray();
        var haystack = Encoding.Latin1.GetString(bytes);
        foreach (var needle in new[] { created.InvitationCode, created.InvitationCode.Replace("-", "", StringComparison.Ordinal)[10..40], Convert.ToBase64String(secret), Convert.ToHexString(secret), Encoding.Latin1.GetString(secret) })
        {
            Assert.DoesNotContain(needle, haystack, StringComparison.OrdinalIgnoreCase);
        }

        Assert.All(_host.Verbose, v => Assert.DoesNotContain(created.InvitationCode[..20], v, StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Store", "SqliteFile")] // The key file beside a SQLite store; a PostgreSQL store's key file is named by the admin.
    public void The_key_protecting_stored_secrets_is_readable_only_by_its_owner()
    {
        CreateInvitation();
        if (OperatingSystem.IsWindows())
        {
            return; // DPAPI: no key file.
        }

        var keyFile = _store.Path_ + ".key";
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
    }

    [Fact]
    public void Get_shows_the_current_code_again()
    {
        var created = CreateInvitation();
        _host.Output.Clear();

        Invitations.Get(new[] { ConnectionTarget.ByName("crm-eu") }, renew: false, NewPrivateConnectionRequest.DefaultLifetime);

        Assert.Equal(created.InvitationCode, Assert.Single(_host.OutputOf<PrivateConnectionInvitation>()).InvitationCode);
        Assert.DoesNotContain(_host.ShouldProcessCalls, c => c.Action.Contains("Renew", StringComparison.Ordinal));
    }

    [Fact]
    public void Renew_issues_a_new_code_retires_the_old_one_and_is_audited()
    {
        var created = CreateInvitation();
        var version = _store.Get("crm-eu").Version;
        _host.Output.Clear();

        Invitations.Get(new[] { ConnectionTarget.ByName("crm-eu") }, renew: true, TimeSpan.FromHours(1));

        var renewed = Assert.Single(_host.OutputOf<PrivateConnectionInvitation>());
        Assert.NotEqual(created.InvitationCode, renewed.InvitationCode);
        Assert.True(renewed.ExpiresAt < created.ExpiresAt);
        var oldSecret = InvitationCodec.Decode(created.InvitationCode).Secret;
        var newSecret = InvitationCodec.Decode(renewed.InvitationCode).Secret;
        var (current, past) = _store.Store.Read(db => (Storage.InvitationRows.Find(db, renewed.Id)!, Storage.InvitationRows.PastOutcome(db, oldSecret.ComputeVerifier())));
        Assert.True(newSecret.Matches(current.Verifier));
        Assert.False(oldSecret.Matches(current.Verifier));
        Assert.Equal(Storage.InvitationOutcome.Superseded, past);
        Assert.Equal(version + 1, _store.Get("crm-eu").Version);
        Assert.Equal(LifecycleAction.RenewInvitation, _store.Store.History(renewed.Id).Last().Action);
    }

    [Fact]
    public void Renewing_in_the_same_second_with_the_same_lifetime_still_replaces_the_code()
    {
        var created = CreateInvitation();
        _host.Output.Clear();

        Invitations.Get(new[] { ConnectionTarget.ByName("crm-eu") }, renew: true, NewPrivateConnectionRequest.DefaultLifetime);

        var renewed = Assert.Single(_host.OutputOf<PrivateConnectionInvitation>());
        var current = _store.Store.Read(db => Storage.InvitationRows.Find(db, renewed.Id)!);
        Assert.True(InvitationCodec.Decode(renewed.InvitationCode).Secret.Matches(current.Verifier));
        Assert.False(InvitationCodec.Decode(created.InvitationCode).Secret.Matches(current.Verifier));
        Assert.Equal(LifecycleAction.RenewInvitation, _store.Store.History(renewed.Id).Last().Action);
    }

    [Fact]
    public void Renew_under_WhatIf_changes_nothing()
    {
        var created = CreateInvitation();
        _host.Proceed = false;
        _host.Output.Clear();

        Invitations.Get(new[] { ConnectionTarget.ByName("crm-eu") }, renew: true, NewPrivateConnectionRequest.DefaultLifetime);
        _host.Proceed = true;
        Invitations.Get(new[] { ConnectionTarget.ByName("crm-eu") }, renew: false, NewPrivateConnectionRequest.DefaultLifetime);

        Assert.Equal(created.InvitationCode, Assert.Single(_host.OutputOf<PrivateConnectionInvitation>()).InvitationCode);
    }

    [Fact]
    public void New_under_WhatIf_creates_nothing()
    {
        Node.SetPublicUrl("https://node.contoso.example/", passThru: false);
        _host.Proceed = false;

        Invitations.New(new NewPrivateConnectionRequest { Name = "crm", LocalInstanceName = "contoso" });

        Assert.Null(_store.Store.FindByName("crm"));
        Assert.Empty(_host.Output);
    }

    [Fact]
    public void A_connection_that_is_not_pending_on_the_public_side_has_no_code()
    {
        _store.Add("active-private");
        _store.Add("dynamics", ConnectionStatus.Active, ConnectionType.Dynamics365);

        Invitations.Get(new[] { ConnectionTarget.ByName("active-private"), ConnectionTarget.ByName("dynamics"), ConnectionTarget.ByName("missing") }, renew: false, NewPrivateConnectionRequest.DefaultLifetime);

        Assert.Equal(new[] { ErrorIds.InvitationNotPending, ErrorIds.InvitationNotPending, ErrorIds.ConnectionNotFound }, _host.Errors.Select(e => e.ErrorId));
        Assert.Contains("Active", _host.Errors[0].Message);
    }

    [Fact]
    public void An_expired_code_is_shown_with_a_warning_that_names_the_renewal()
    {
        var clock = DateTimeOffset.UtcNow;
        using var store = new TestStore(() => clock);
        var host = new RecordingHost();
        new NodeCommands(store.Node, host).SetPublicUrl("https://node.contoso.example/", passThru: false);
        new InvitationCommands(store.Node, host).New(new NewPrivateConnectionRequest { Name = "crm", LocalInstanceName = "contoso", InvitationLifetime = TimeSpan.FromHours(1) });

        clock = clock.AddHours(2);
        new InvitationCommands(store.Node, host).Get(new[] { ConnectionTarget.ByName("crm") }, renew: false, NewPrivateConnectionRequest.DefaultLifetime);

        Assert.Contains(host.Warnings, w => w.Contains("expired", StringComparison.Ordinal) && w.Contains("-Renew", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(60 * 24 * 31)]
    public void A_lifetime_outside_five_minutes_to_thirty_days_is_refused(int minutes)
    {
        Node.SetPublicUrl("https://node.contoso.example/", passThru: false);

        var error = Assert.Throws<ConnectionToolsException>(() => Invitations.New(new NewPrivateConnectionRequest { Name = "crm", LocalInstanceName = "contoso", InvitationLifetime = TimeSpan.FromMinutes(minutes) }));

        Assert.Equal(ErrorIds.InvitationInvalidLifetime, error.ErrorId);
        Assert.Null(_store.Store.FindByName("crm"));
    }

    [Fact]
    public void A_duplicate_name_is_refused_before_a_code_is_issued()
    {
        CreateInvitation("crm");

        var error = Assert.Throws<ConnectionToolsException>(() => Invitations.New(new NewPrivateConnectionRequest { Name = "CRM", LocalInstanceName = "contoso" }));

        Assert.Equal(ErrorIds.ConnectionNameInUse, error.ErrorId);
    }

    [Fact]
    public void Removing_a_pending_connection_withdraws_its_code_from_the_store()
    {
        var created = CreateInvitation();

        new ConnectionCommands(_store.Node, _host).Remove(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);

        var verifier = InvitationCodec.Decode(created.InvitationCode).Secret.ComputeVerifier();
        var (row, past) = _store.Store.Read(db => (Storage.InvitationRows.Find(db, created.Id), Storage.InvitationRows.PastOutcome(db, verifier)));
        Assert.Null(row);
        Assert.Equal(Storage.InvitationOutcome.Withdrawn, past);
        Assert.Null(_store.Store.Find(created.Id)!.InvitationExpiresAt);
    }

    [Fact]
    public void Get_shows_the_URL_the_code_carries_even_after_the_node_URL_changed()
    {
        CreateInvitation();
        Node.SetPublicUrl("https://moved.contoso.example/", passThru: false);
        _host.Output.Clear();

        Invitations.Get(new[] { ConnectionTarget.ByName("crm-eu") }, renew: false, NewPrivateConnectionRequest.DefaultLifetime);

        Assert.Equal("https://node.contoso.example:8443/", Assert.Single(_host.OutputOf<PrivateConnectionInvitation>()).PublicUrl);
    }

    [Fact]
    public void An_invitation_too_long_to_encode_is_a_clear_error_and_nothing_is_created()
    {
        Node.SetPublicUrl("https://node.contoso.example/" + new string('p', 3000) + "/", passThru: false);

        var error = Assert.Throws<ConnectionToolsException>(() => Invitations.New(new NewPrivateConnectionRequest { Name = "crm", LocalInstanceName = "contoso" }));

        Assert.Equal(ErrorIds.InvitationTooLong, error.ErrorId);
        Assert.Null(_store.Store.FindByName("crm"));
    }

    [Theory]
    [InlineData("https://user:pass@node.contoso.example/")]
    public void A_public_URL_with_credentials_is_refused(string url)
    {
        Assert.Equal(ErrorIds.NodeInsecureUrl, Assert.Throws<ConnectionToolsException>(() => Node.SetPublicUrl(url, passThru: false)).ErrorId);
    }

    [Fact]
    public void A_public_URL_gets_a_trailing_slash_so_peer_paths_stay_under_it()
    {
        Node.SetPublicUrl("https://proxy.contoso.example/ct", passThru: false);

        Assert.Equal(new Uri("https://proxy.contoso.example/ct/"), _store.Node.PublicUrl);
    }
}
