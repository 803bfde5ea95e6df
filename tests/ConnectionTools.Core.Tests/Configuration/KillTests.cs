using System.Text;
using ConnectionTools.Configuration;
using ConnectionTools.Connections;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Core.Tests.Configuration;

[Collection(ProcessWidePools.Name)]
// Child processes and files that open the store by its file path.
[Trait("Store", "SqliteFile")]
public sealed class KillTests : IDisposable
{
    private readonly TestStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task A_process_killed_while_applying_1000_creations_then_run_again_ends_with_exactly_the_declared_set()
    {
        new NodeCommands(_store.Node, new RecordingHost()).SetPublicUrl("https://node.contoso.example/", passThru: false);
        var yaml = new StringBuilder("apiVersion: connectiontools/v1\nname: fleet\nconnections:\n");
        for (var i = 0; i < 1000; i++)
        {
            yaml.Append($"  - name: peer-{i:D4}\n    type: Private\n    side: Public\n    localInstanceName: contoso\n");
        }

        var path = Path.Combine(_store.Folder, "fleet.yaml");
        File.WriteAllText(path, yaml.ToString());

        // 2 ms per connection: batched creation would otherwise finish 1,000 before the kill lands.
        using (var applying = TestProcess.Start("apply", _store.Path_, path, "2"))
        {
            Assert.Equal("ready", await applying.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));

            // Kill it once some, not all, connections exist.
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (_store.Store.CountByStatus().Values.Sum() < 50 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5);
            }

            applying.Kill(entireProcessTree: true);
            await applying.WaitForExitAsync();
        }

        SqliteConnection.ClearAllPools();
        var partial = _store.Store.List(new ConnectionFilter()).Count;
        Assert.InRange(partial, 50, 999);

        var host = new RecordingHost();
        new ConfigurationCommands(_store.Node, host).Invoke(path, prune: false);

        Assert.Empty(host.Errors);
        var all = _store.Store.List(new ConnectionFilter { IncludeRemoved = true });
        Assert.Equal(1000, all.Count);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"peer-{i:D4}"), all.Select(c => c.Name).Order(StringComparer.Ordinal));
        Assert.All(all, c => Assert.Equal(ConnectionStatus.Pending, c.Status));
        var results = host.OutputOf<ConnectionApplyResult>().ToList();
        Assert.Equal(1000 - partial, results.Count(r => r.Action == PlanAction.Create));

        // Every connection is now recorded as managed (those made before the kill are adopted), and a third run writes nothing.
        Assert.Equal(1000, ManagedConnections.ReadAll(_store.Store).Count(m => m.Value == "fleet"));
        var audit = _store.Store.AuditCount();
        var third = new RecordingHost();
        new ConfigurationCommands(_store.Node, third).Invoke(path, prune: false);
        Assert.Equal(1000, third.OutputOf<ConnectionApplyResult>().Count());
        Assert.All(third.OutputOf<ConnectionApplyResult>(), r => Assert.Equal(PlanAction.None, r.Action));
        Assert.Equal(audit, _store.Store.AuditCount());
    }
}
