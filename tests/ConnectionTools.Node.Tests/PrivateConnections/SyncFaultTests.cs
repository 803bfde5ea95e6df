using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;
using ConnectionTools.Testing;

namespace ConnectionTools.Node.Tests;

/// <summary>
/// Exactly once under faults, with real processes: node A (the public node host) and node B (the private node host in
/// --private mode) each killed with kill -9 again and again, while case changes are queued on A; a proxy in front of A
/// drops one answer in ten after A processed the request, and sends one request in seven twice. Afterwards B holds every event
/// id once, per case the sequence numbers run 1, 2, 3... with no gap, and the last event of each case is its latest version.
/// Then the connection is paused on A, and then on B, while changes keep coming: nothing crosses until it is resumed, and then
/// everything arrives in order. Reduced scale (300 cases, 600 changes, 5 s pauses) to keep CI short; the full scale
/// (1,000 changes, 30 s pauses) is the benchmark project's syncfaults suite. The parts both share are in tests/Shared/SyncFaultRig.cs.
/// </summary>
[Collection(SyncFaultCollection.Name)]
public sealed class SyncFaultTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ct-sync-faults-").FullName;
    private readonly Random _random = new(1606);
    private FaultProxy? _proxy;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_proxy != null)
        {
            await _proxy.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task Case_changes_arrive_exactly_once_and_in_order_while_both_node_hosts_are_killed_and_answers_are_lost_and_while_paused()
    {
        var aPath = Path.Combine(_folder, "a.db");
        var bPath = Path.Combine(_folder, "b.db");
        var aPort = NodeHostProcess.FreePort();
        _proxy = await FaultProxy.StartAsync(aPort);
        Guid id;
        Connection system;
        using (var a = ConnectionNode.Open(new StoreLocation(aPath, StoreSource.Session, create: true), actor: "test"))
        using (var b = ConnectionNode.Open(new StoreLocation(bPath, StoreSource.Session, create: true), actor: "test"))
        {
            var host = new RecordingHost();
            new NodeCommands(a, host).SetPublicUrl(_proxy.Url, passThru: false);
            new InvitationCommands(a, host).New(new NewPrivateConnectionRequest { Name = "partner", LocalInstanceName = "a" });
            var code = host.OutputOf<PrivateConnectionInvitation>().Single().InvitationCode;
            system = Seeding.Add(a.Store, "sf", ConnectionType.SalesforceProduction, ConnectionStatus.Active, InactiveReason.Revoked, "test");
            await using (var nodeA = NodeHostProcess.Start(aPath, aPort))
            {
                await nodeA.WaitUntilListeningAsync();
                new PeerCommands(b, host).Accept(code, null, "b");
                Assert.Empty(host.Errors);
            }

            id = b.Store.FindByName("partner")!.Id;
            Seeding.Bind(a.Store, id, system.Id, "test");
        }

        var stores = new SyncFaultStores(aPath, bPath, id, system);

        // 300 cases, each changed one to five times: 600 changes, queued in small bursts as retrieval runs would.
        var changes = Enumerable.Range(1, 300).SelectMany(c => Enumerable.Range(1, 1 + ((c * 7) % 5)).Select(v => (Case: c, Version: v))).ToList();
        var bursts = changes.OrderBy(c => c.Version).ThenBy(_ => _random.Next()).Chunk(20).ToList();

        var nodeAProcess = NodeHostProcess.Start(aPath, aPort);
        var nodeBProcess = NodeHostProcess.StartPrivate(bPath);
        var kills = (A: 0, B: 0);
        try
        {
            using (var writer = ConnectionNode.Open(new StoreLocation(aPath, StoreSource.Session, create: false), actor: "retrieval"))
            {
                for (var i = 0; i < bursts.Count; i++)
                {
                    stores.Queue(writer, bursts[i]);
                    await Task.Delay(_random.Next(50, 250));
                    if (i % 3 == 1)
                    {
                        // kill -9 one node host at a random moment, then start it again.
                        if (i % 2 == 1)
                        {
                            await nodeAProcess.DisposeAsync();
                            kills.A++;
                            nodeAProcess = NodeHostProcess.Start(aPath, aPort);
                        }
                        else
                        {
                            await nodeBProcess.DisposeAsync();
                            kills.B++;
                            nodeBProcess = NodeHostProcess.StartPrivate(bPath);
                        }
                    }
                }
            }

            Assert.True(kills.A >= 5 && kills.B >= 5, $"killed A {kills.A} and B {kills.B} times");

            // Let it settle: everything queued on A reaches B (the proxy still drops and repeats).
            var settled = await stores.SettleAsync(TimeSpan.FromSeconds(90));
            Assert.True(settled != null, $"B has {stores.Incoming().Count} events of {stores.Incoming().Select(e => e.CaseId).Distinct().Count()} cases; A still holds {stores.Outgoing().Count}");
            Assert.True(_proxy.Dropped > 0 && _proxy.Replayed > 0, $"the proxy dropped {_proxy.Dropped} answers and repeated {_proxy.Replayed} requests");
            Assert.Empty(stores.Problems());
            Assert.Equal(300, stores.Incoming().Select(e => e.CaseId).Distinct().Count());

            // Paused on A, then on B, with both node hosts up: 20 new cases and 20 changed ones queued while paused cross only after resume.
            var next = 301;
            foreach (var onA in new[] { true, false })
            {
                var during = Enumerable.Range(next, 20).Select(c => (c, 1))
                    .Concat(Enumerable.Range(next - 300, 20).Select(c => (c, stores.Latest[SyncFaultStores.CaseId(c)] + 1)))
                    .ToList();
                next += 20;
                var phase = await stores.PauseAsync(onA, TimeSpan.FromSeconds(5), during, TimeSpan.FromSeconds(60));
                Assert.True(phase.Problems.Count == 0, phase.ToString());
                Assert.Equal(0, phase.CrossedWhilePaused);
                Assert.True(phase.WaitingAtResume >= 40, phase.ToString());
            }
        }
        finally
        {
            await nodeAProcess.DisposeAsync();
            await nodeBProcess.DisposeAsync();
        }
    }
}

/// <summary>Processes killed at random, and a proxy: nothing else should run beside it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SyncFaultCollection
{
    public const string Name = "Sync faults";
}
