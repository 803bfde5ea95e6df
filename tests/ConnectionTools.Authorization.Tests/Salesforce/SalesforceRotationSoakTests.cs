using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Nodes;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// Soak with refresh-token rotation on: 200 refreshes across 4 nodes at once. These are 4 ConnectionNode instances on one
/// store file in one process (not 4 OS processes); the claim they share is the store row, taken in IMMEDIATE transactions.
/// The soak with 4 OS processes is <see cref="SalesforceRotationProcessSoakTests"/>.
/// </summary>
public sealed class SalesforceRotationSoakTests : IAsyncLifetime
{
    private const int Connections = 1;
    private TestStore _store = null!;
    private SalesforceOrg _org = null!;
    private readonly List<ConnectionNode> _nodes = [];

    public async Task InitializeAsync()
    {
        _org = await SalesforceOrg.StartAsync();
        _store = new TestStore(clients: _org.NodeClients());
        _store.Store.SetNodeSetting(ConnectionNode.SalesforceRedirectSetting, "0/OauthRedirect", "tester");
        for (var i = 0; i < Connections; i++)
        {
            new SystemConnectionCommands(_store.Node, new RecordingHost()).New(new NewConnectionRequest
            {
                Name = $"sf{i}", Type = "SalesforceProduction", InstanceUrl = _org.InstanceUrl.AbsoluteUri,
                AcceptDataProcessingAgreement = true, ClientId = SalesforceOrg.ConsumerKey, Interactive = true,
            });
        }

        for (var i = 0; i < 4; i++)
        {
            var node = ConnectionNode.Open(_store.Node.Location, null, $"node{i}", _org.NodeClients());
            _nodes.Add(node);
        }

        _org.Emulator.RotateRefreshTokens = true;
        _org.Emulator.OmitIdentityUrl = true;
    }

    public async Task DisposeAsync()
    {
        _nodes.ForEach(n => n.Dispose());
        _store.Dispose();
        await _org.DisposeAsync();
    }

    private async Task<List<AuthorizationResult>> RefreshAllAsync(int total, Action<int> beforeEach)
    {
        var results = new List<AuthorizationResult>();
        var next = -1;
        await Task.WhenAll(_nodes.Select(node => Task.Run(() =>
        {
            for (var i = Interlocked.Increment(ref next); i < total; i = Interlocked.Increment(ref next))
            {
                beforeEach(i);
                var host = new RecordingHost();
                // Each connection's org id differs; Test compares with the pinned one, so the emulator's current org must match.
                new SystemConnectionCommands(node, host).Test([ConnectionTarget.ByName($"sf{i % Connections}")], new TestAuthorizationRequest());
                lock (results)
                {
                    results.AddRange(host.OutputOf<AuthorizationResult>());
                }
            }
        })));
        return results;
    }

    [Fact]
    public async Task Failures_after_the_token_answer_lose_nothing_and_no_used_up_token_is_ever_presented()
    {
        var results = await RefreshAllAsync(200, i =>
        {
            if (i % 10 == 5)
            {
                _org.Emulator.FailUserInfoTimes++; // 10%: the token answer arrived, then userinfo failed
            }
        });

        Assert.Equal(200, results.Count);
        var failed = results.Count(r => r.Result == AuthorizationState.Failed);
        Assert.InRange(failed, 1, 20);
        Assert.Equal(200 - failed, results.Count(r => r.Result == AuthorizationState.Valid));
        Assert.Equal(0, _org.Emulator.RefreshTokenReuses);
        var connection = _store.Get("sf0");
        Assert.Equal(ConnectionStatus.Active, connection.Status);
        var stored = GrantVault.ReadOrNull(_store.Node, connection)!.RefreshToken!;
        Assert.Equal(stored, _org.Emulator.CurrentRefreshToken(stored));
        Console.WriteLine($"soak: 200 refreshes on 4 nodes, {failed} failed after the token answer, 0 reuses, Active, stored token is the latest");
    }

    [Fact]
    public async Task A_lost_token_answer_ends_the_connection_Inactive_with_the_rotation_message_and_nothing_else()
    {
        var results = await RefreshAllAsync(40, i =>
        {
            if (i == 20)
            {
                _org.Emulator.DropRefreshAnswers = 1;
            }
        });

        var connection = _store.Get("sf0");
        Assert.Equal((ConnectionStatus.Inactive, InactiveReason.Revoked), (connection.Status, connection.InactiveReason));
        Assert.Contains(_store.Store.History(connection.Id), h => h.Summary.Contains("refresh-token rotation", StringComparison.Ordinal));
        Assert.Equal(1, results.Count(r => r.ErrorId == Errors.ErrorIds.AuthorizationProviderUnavailable));
        Assert.Equal(1, _org.Emulator.RefreshTokenReuses);
    }
}
