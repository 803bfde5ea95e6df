using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Peering;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Node.Tests;

/// <summary>The whole private-connection flow between a real public node host and a private store, over loopback HTTP.</summary>
public sealed class PrivateConnectionFlowTests
{
    private static ConnectionCommands Commands(Core.Tests.TestStore store, Core.Tests.RecordingHost host) => new(store.Node, host);

    [Fact]
    public async Task Create_accept_suspend_resume_and_remove_are_seen_on_the_other_side()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var invitation = nodes.Invite("crm-eu");

        nodes.PrivateSide().Accept(invitation.InvitationCode, name: null, localInstanceName: "fabrikam-private");

        var onPrivate = nodes.Private.Get("crm-eu");
        var onPublic = nodes.Public.Get("crm-eu");
        Assert.Equal(onPublic.Id, onPrivate.Id);
        Assert.Equal((ConnectionStatus.Active, ConnectionStatus.Active), (onPublic.Status, onPrivate.Status));
        Assert.Equal(("fabrikam-private", "contoso-public"), (onPublic.RemoteInstanceName, onPrivate.RemoteInstanceName));
        Assert.Equal((nodes.Private.Store.NodeId, nodes.Public.Store.NodeId), (onPublic.PeerNodeId, onPrivate.PeerNodeId));
        Assert.Equal(PrivateConnectionSide.Private, onPrivate.Side);
        Assert.Null(onPublic.InvitationExpiresAt);

        // Suspend on the public side: the private side sees it on its next exchange.
        Commands(nodes.Public, nodes.PublicAdmin).Suspend(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);
        nodes.PrivateSide().Sync(null, passThru: false);
        Assert.Equal(ConnectionStatus.Paused, nodes.Private.Get("crm-eu").PeerStatus);

        // Suspend on the private side: the public side learns it from the same kind of exchange.
        Commands(nodes.Private, nodes.PrivateAdmin).Suspend(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);
        nodes.PrivateSide().Sync(null, passThru: false);
        Assert.Equal(ConnectionStatus.Paused, nodes.Public.Get("crm-eu").PeerStatus);

        Commands(nodes.Public, nodes.PublicAdmin).Resume(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);
        Commands(nodes.Private, nodes.PrivateAdmin).Resume(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);
        nodes.PrivateSide().Sync(null, passThru: false);
        Assert.Equal(ConnectionStatus.Active, nodes.Private.Get("crm-eu").PeerStatus);
        Assert.Equal(ConnectionStatus.Active, nodes.Public.Get("crm-eu").PeerStatus);

        // Remove on the public side: the private side sees Removed and is told how to follow.
        Commands(nodes.Public, nodes.PublicAdmin).Remove(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);
        nodes.PrivateSide().Sync(null, passThru: false);
        Assert.Equal(ConnectionStatus.Removed, nodes.Private.Get("crm-eu").PeerStatus);
        Assert.Contains(nodes.PrivateAdmin.Warnings, w => w.Contains("Remove-Connection", StringComparison.Ordinal));
        Assert.Empty(nodes.PrivateAdmin.Errors);

        // Told once: the next exchanges (a polling node host) do not repeat it.
        var warnings = nodes.PrivateAdmin.Warnings.Count;
        nodes.PrivateSide().Sync(null, passThru: false);
        Assert.Equal(warnings, nodes.PrivateAdmin.Warnings.Count);
    }

    [Fact]
    public async Task Each_side_binds_its_own_system_and_an_unbound_side_exchanges_status_as_before()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var crm = nodes.Private.Add("crm-fabrikam", ConnectionStatus.Active, ConnectionType.Dynamics365);
        var sf = nodes.Public.Add("sf-contoso", ConnectionStatus.Active, ConnectionType.SalesforceProduction);
        var invitation = nodes.Invite("crm-eu");
        Commands(nodes.Public, nodes.PublicAdmin).Set(new[] { ConnectionTarget.ByName("crm-eu") }, new ConnectionEdit { System = "sf-contoso" }, passThru: false);

        nodes.PrivateSide().Accept(invitation.InvitationCode, null, "fabrikam-private", "crm-fabrikam");

        Assert.Equal((crm.Id, "crm-fabrikam"), (nodes.Private.Get("crm-eu").SystemConnectionId, nodes.Private.Get("crm-eu").System));
        Assert.Equal((sf.Id, "sf-contoso"), (nodes.Public.Get("crm-eu").SystemConnectionId, nodes.Public.Get("crm-eu").System));
        Assert.Contains(nodes.PrivateAdmin.Verbose, v => v.Contains("syncs the cases of 'crm-fabrikam'", StringComparison.Ordinal));

        // Unbound on the private side, the connection still exchanges status.
        Commands(nodes.Private, nodes.PrivateAdmin).Set(new[] { ConnectionTarget.ByName("crm-eu") }, new ConnectionEdit { System = "" }, passThru: false);
        Commands(nodes.Public, nodes.PublicAdmin).Suspend(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);
        nodes.PrivateSide().Sync(null, passThru: false);
        Assert.Null(nodes.Private.Get("crm-eu").System);
        Assert.Equal(ConnectionStatus.Paused, nodes.Private.Get("crm-eu").PeerStatus);
        Assert.Empty(nodes.PrivateAdmin.Errors);
    }

    [Fact]
    public async Task A_code_that_fails_is_its_own_error_and_the_next_code_is_still_accepted()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var good = nodes.Invite("crm-eu").InvitationCode;

        nodes.PrivateSide().AcceptEach(new[] { "not an invitation code", good }, null, null);

        Assert.Equal(ErrorIds.InvitationMalformed, Assert.Single(nodes.PrivateAdmin.Errors).ErrorId);
        Assert.Equal(ConnectionStatus.Active, nodes.Private.Get("crm-eu").Status);
    }

    [Fact]
    public async Task Removing_on_the_private_side_tells_the_public_side()
    {
        await using var nodes = await TwoNodes.StartAsync();
        nodes.PrivateSide().Accept(nodes.Invite("crm-eu").InvitationCode, null, null);

        new ConnectionCommands(nodes.Private.Node, nodes.PrivateAdmin, new PeerClient(ConnectionTools.Http.SharedHttp.Client, TimeSpan.FromSeconds(10)))
            .Remove(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);

        Assert.Empty(nodes.PrivateAdmin.Warnings);
        Assert.Equal(ConnectionStatus.Removed, nodes.Public.Get("crm-eu").PeerStatus);
        Assert.Equal(ConnectionStatus.Active, nodes.Public.Get("crm-eu").Status);
    }

    [Fact]
    public async Task Removing_on_the_private_side_while_the_public_node_is_down_still_removes_with_a_warning()
    {
        var nodes = await TwoNodes.StartAsync();
        nodes.PrivateSide().Accept(nodes.Invite("crm-eu").InvitationCode, null, null);
        await nodes.Host.StopAsync();

        new ConnectionCommands(nodes.Private.Node, nodes.PrivateAdmin, new PeerClient(ConnectionTools.Http.SharedHttp.Client, TimeSpan.FromSeconds(2)))
            .Remove(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);

        Assert.Null(nodes.Private.Store.FindByName("crm-eu"));
        Assert.Contains(nodes.PrivateAdmin.Warnings, w => w.Contains(ErrorIds.PeerUnreachable, StringComparison.Ordinal));
        await nodes.DisposeAsync();
    }

    [Fact]
    public async Task An_unusable_local_instance_name_is_refused_before_any_request()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var code = nodes.Invite("crm-eu").InvitationCode;

        var error = Assert.Throws<ConnectionToolsException>(() => nodes.PrivateSide().Accept(code, null, "bad\u001bname"));

        Assert.Equal(ErrorIds.ConnectionInvalidName, error.ErrorId);
        Assert.Equal(ConnectionStatus.Pending, nodes.Public.Get("crm-eu").Status);
    }

    [Fact]
    public async Task If_the_private_store_cannot_take_the_connection_the_public_side_is_never_asked()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var code = nodes.Invite("crm-eu").InvitationCode;
        using var busy = new Core.Tests.TestStore(options: new Storage.StoreOptions { BusyTimeout = TimeSpan.FromMilliseconds(100), RetryBudget = TimeSpan.FromMilliseconds(300) });
        var requests = nodes.Log.Count(l => l.Contains("/invitations/accept ->", StringComparison.Ordinal));

        // Another process holds the private store's write lock for the whole attempt.
        using (var holder = new SqliteConnection($"Data Source={busy.Path_};Pooling=False"))
        {
            holder.Open();
            using var exclusive = holder.CreateCommand();
            exclusive.CommandText = "BEGIN IMMEDIATE;";
            exclusive.ExecuteNonQuery();

            var error = Assert.Throws<ConnectionToolsException>(() =>
                new PeerCommands(busy.Node, new Core.Tests.RecordingHost(), new PeerClient(ConnectionTools.Http.SharedHttp.Client, TimeSpan.FromSeconds(10))).Accept(code, null, null));
            Assert.Equal(ErrorIds.StoreBusy, error.ErrorId);
        }

        Assert.Equal(requests, nodes.Log.Count(l => l.Contains("/invitations/accept ->", StringComparison.Ordinal)));
        Assert.Equal(ConnectionStatus.Pending, nodes.Public.Get("crm-eu").Status);

        // The code is still good: the same admin tries again once the store is free.
        new PeerCommands(busy.Node, new Core.Tests.RecordingHost(), new PeerClient(ConnectionTools.Http.SharedHttp.Client, TimeSpan.FromSeconds(10))).Accept(code, null, null);
        Assert.Equal(ConnectionStatus.Active, nodes.Public.Get("crm-eu").Status);
    }

    [Fact]
    public async Task A_refused_acceptance_leaves_nothing_in_the_private_store()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var code = nodes.Invite("crm-eu").InvitationCode;
        Commands(nodes.Public, nodes.PublicAdmin).Remove(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);

        Assert.Throws<ConnectionToolsException>(() => nodes.PrivateSide().Accept(code, null, null));

        Assert.Empty(nodes.Private.Store.List(new Storage.ConnectionFilter { IncludeRemoved = true }));
        Assert.Equal(0, nodes.Private.Store.AuditCount());
        Assert.Null(nodes.Private.Store.Read(db => Storage.PeerRows.FindKey(db, InvitationCodec.Decode(code).ConnectionId)));
    }

    [Fact]
    public async Task A_renamed_acceptance_keeps_the_connection_id()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var invitation = nodes.Invite("crm-eu");

        nodes.PrivateSide().Accept(invitation.InvitationCode, name: "from-contoso", localInstanceName: null);

        Assert.Equal(invitation.Id, nodes.Private.Get("from-contoso").Id);
        Assert.Equal(Environment.MachineName, nodes.Public.Get("crm-eu").RemoteInstanceName);
    }

    [Fact]
    public async Task Every_bad_code_is_refused_with_its_own_id_and_nothing_changes_on_either_side()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var good = nodes.Invite("crm-eu");
        var raw = good.InvitationCode;
        var middle = raw.Length / 2;
        while (!char.IsLetterOrDigit(raw[middle]))
        {
            middle++;
        }

        var mistyped = raw[..middle] + (raw[middle] == 'A' ? 'B' : 'A') + raw[(middle + 1)..];

        var renewedAway = nodes.Invite("renewed");
        new InvitationCommands(nodes.Public.Node, nodes.PublicAdmin).Get(new[] { ConnectionTarget.ByName("renewed") }, renew: true, NewPrivateConnectionRequest.DefaultLifetime);
        Assert.Empty(nodes.PublicAdmin.Errors);

        var removedAway = nodes.Invite("removed");
        Commands(nodes.Public, nodes.PublicAdmin).Remove(new[] { ConnectionTarget.ByName("removed") }, passThru: false);

        var cases = new (string Code, string ErrorId)[]
        {
            (raw[..^5], ErrorIds.InvitationTruncated),
            (mistyped, ErrorIds.InvitationMistyped),
            ("not an invitation code", ErrorIds.InvitationMalformed),
            (renewedAway.InvitationCode, ErrorIds.InvitationSuperseded),
            (removedAway.InvitationCode, ErrorIds.InvitationConnectionRemoved),
        };

        var publicAudit = nodes.Public.Store.AuditCount();
        foreach (var (code, errorId) in cases)
        {
            var error = Assert.Throws<ConnectionToolsException>(() => nodes.PrivateSide().Accept(code, name: null, localInstanceName: null));
            Assert.Equal(errorId, error.ErrorId);
        }

        Assert.Equal(publicAudit, nodes.Public.Store.AuditCount());
        Assert.Equal(0, nodes.Private.Store.AuditCount());

        // The good code still works after all that, exactly once.
        nodes.PrivateSide().Accept(raw, name: null, localInstanceName: null);
        using var second = new Core.Tests.TestStore();
        var reuse = Assert.Throws<ConnectionToolsException>(() =>
            new PeerCommands(second.Node, new Core.Tests.RecordingHost(), new PeerClient(ConnectionTools.Http.SharedHttp.Client, TimeSpan.FromSeconds(10))).Accept(raw, null, null));
        Assert.Equal(ErrorIds.InvitationAlreadyUsed, reuse.ErrorId);
        Assert.Equal(0, second.Store.AuditCount());
    }

    [Fact]
    public async Task A_well_formed_code_for_a_connection_the_public_node_does_not_have_creates_nothing()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var invitation = InvitationCodec.Decode(nodes.Invite("crm-eu").InvitationCode);
        var forged = InvitationCodec.Encode(new Invitation(Guid.NewGuid(), invitation.ConnectionName, invitation.Mode, invitation.PublicNodeUrl, invitation.PublicNodeId,
            invitation.PublicNodeVersion, invitation.InitiatorInstanceName, invitation.ExpiresAt, invitation.Secret));

        var error = Assert.Throws<ConnectionToolsException>(() => nodes.PrivateSide().Accept(forged, null, null));

        Assert.Equal(ErrorIds.PeerUnknownConnection, error.ErrorId);
        Assert.Equal(0, nodes.Private.Store.AuditCount());
        Assert.Equal(ConnectionStatus.Pending, nodes.Public.Get("crm-eu").Status);
    }

    [Fact]
    public async Task An_expired_code_is_refused_locally_without_a_request()
    {
        var clock = DateTimeOffset.UtcNow;
        await using var nodes = await TwoNodes.StartAsync();
        var code = nodes.Invite("crm-eu", TimeSpan.FromMinutes(5)).InvitationCode;
        using var late = new Core.Tests.TestStore(() => clock.AddMinutes(10));
        var logLines = nodes.Log.Count;

        var error = Assert.Throws<ConnectionToolsException>(() =>
            new PeerCommands(late.Node, new Core.Tests.RecordingHost(), new PeerClient(ConnectionTools.Http.SharedHttp.Client, TimeSpan.FromSeconds(5))).Accept(code, null, null));

        Assert.Equal(ErrorIds.InvitationExpired, error.ErrorId);
        Assert.Contains("-Renew", error.RecommendedAction);
        Assert.Equal(logLines, nodes.Log.Count);
        Assert.Equal(ConnectionStatus.Pending, nodes.Public.Get("crm-eu").Status);
    }

    [Fact]
    public async Task An_unreachable_public_node_is_a_timeout_with_a_clear_message()
    {
        // A socket that accepts and never answers: the request can only time out.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        using var publicSide = new Core.Tests.TestStore();
        new ConnectionTools.Nodes.NodeCommands(publicSide.Node, new Core.Tests.RecordingHost()).SetPublicUrl($"http://127.0.0.1:{port}/", false);
        var publicHost = new Core.Tests.RecordingHost();
        new InvitationCommands(publicSide.Node, publicHost).New(new NewPrivateConnectionRequest { Name = "crm", LocalInstanceName = "contoso" });
        var code = publicHost.OutputOf<PrivateConnectionInvitation>().Single().InvitationCode;
        using var privateSide = new Core.Tests.TestStore();

        var error = Assert.Throws<ConnectionToolsException>(() =>
            new PeerCommands(privateSide.Node, new Core.Tests.RecordingHost(), new PeerClient(ConnectionTools.Http.SharedHttp.Client, TimeSpan.FromSeconds(1))).Accept(code, null, null));

        Assert.Equal(ErrorIds.PeerUnreachable, error.ErrorId);
        Assert.Contains($"127.0.0.1:{port}", error.Message);
        Assert.Contains("no answer within 1 seconds", error.Message);
        Assert.Equal(0, privateSide.Store.AuditCount());
    }

    [Fact]
    public async Task Peer_requests_with_a_wrong_key_an_expired_token_a_replay_or_an_unknown_connection_get_distinct_answers()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var invitation = nodes.Invite("crm-eu");
        var decoded = InvitationCodec.Decode(invitation.InvitationCode);
        nodes.PrivateSide().Accept(invitation.InvitationCode, null, null);
        var key = decoded.Secret.DeriveKey(PeerServer.PeerKeyPurpose, decoded.ConnectionId);
        var publicId = nodes.Public.Store.NodeId;
        var privateId = nodes.Private.Store.NodeId;
        var now = DateTimeOffset.UtcNow;

        async Task<(HttpStatusCode Status, string Body)> Send(Guid connectionId, string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(nodes.Url, PeerPaths.Exchange(connectionId)))
            {
                Content = new StringContent("{\"status\":\"Active\"}", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await ConnectionTools.Http.SharedHttp.Client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var good = PeerToken.Create(key, privateId, publicId, decoded.ConnectionId, now);
        Assert.Equal(HttpStatusCode.OK, (await Send(decoded.ConnectionId, good)).Status);

        var replay = await Send(decoded.ConnectionId, good);
        var wrongKey = await Send(decoded.ConnectionId, PeerToken.Create(new byte[32], privateId, publicId, decoded.ConnectionId, now));
        var expired = await Send(decoded.ConnectionId, PeerToken.Create(key, privateId, publicId, decoded.ConnectionId, now.AddMinutes(-10)));
        var unknown = await Send(Guid.NewGuid(), PeerToken.Create(key, privateId, publicId, decoded.ConnectionId, now));

        Assert.Equal((HttpStatusCode.Conflict, ErrorIds.PeerReplay), (replay.Status, ErrorIdOf(replay.Body)));
        Assert.Equal((HttpStatusCode.Unauthorized, ErrorIds.PeerBadSignature), (wrongKey.Status, ErrorIdOf(wrongKey.Body)));
        Assert.Equal((HttpStatusCode.Forbidden, ErrorIds.PeerTokenExpired), (expired.Status, ErrorIdOf(expired.Body)));
        Assert.Equal((HttpStatusCode.NotFound, ErrorIds.PeerUnknownConnection), (unknown.Status, ErrorIdOf(unknown.Body)));
    }

    [Fact]
    public async Task No_secret_reaches_the_stores_the_log_or_any_output()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var invitation = nodes.Invite("crm-eu");
        var decoded = InvitationCodec.Decode(invitation.InvitationCode);
        nodes.PrivateSide().Accept(invitation.InvitationCode, null, null);
        nodes.PrivateSide().Sync(null, passThru: true);
        var secret = decoded.Secret.ToArray();
        var key = decoded.Secret.DeriveKey(PeerServer.PeerKeyPurpose, decoded.ConnectionId);

        SqliteConnection.ClearAllPools();
        var stores = Directory.GetFiles(nodes.Public.Folder).Concat(Directory.GetFiles(nodes.Private.Folder))
            .Where(f => !f.EndsWith(".key", StringComparison.Ordinal))
            .Select(f => Encoding.Latin1.GetString(File.ReadAllBytes(f)));
        var texts = stores
            .Concat(nodes.Log)
            .Concat(nodes.PrivateAdmin.Verbose).Concat(nodes.PrivateAdmin.Warnings)
            .Concat(nodes.PublicAdmin.Verbose)
            .Concat(nodes.PrivateAdmin.Output.Select(o => o.ToString() ?? ""))
            .ToList();
        var needles = new[]
        {
            invitation.InvitationCode[4..30], ConnectionTools.Text.Base64Url.Encode(secret), Convert.ToHexString(secret), Convert.ToBase64String(secret),
            ConnectionTools.Text.Base64Url.Encode(key), Convert.ToHexString(key), Encoding.Latin1.GetString(secret), Encoding.Latin1.GetString(key),
        };
        foreach (var text in texts)
        {
            foreach (var needle in needles)
            {
                Assert.DoesNotContain(needle, text, StringComparison.OrdinalIgnoreCase);
            }
        }

        Assert.Contains(nodes.Log, l => l.Contains("/exchange -> 200", StringComparison.Ordinal));
    }

    private static string? ErrorIdOf(string body) =>
        System.Text.Json.JsonDocument.Parse(body).RootElement.TryGetProperty("errorId", out var id) ? id.GetString() : null;
}
