using ConnectionTools.Connections;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Core.Tests;

/// <summary>Real separate processes against one store file: contention and a writer killed mid-change.</summary>
[Collection(ProcessWidePools.Name)]
// Child processes and files that open the store by its file path.
[Trait("Store", "SqliteFile")]
public sealed class MultiProcessTests : IDisposable
{
    private readonly TestStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task Eight_processes_each_making_200_changes_lose_nothing_and_never_see_a_lock()
    {
        var crm = _store.Add("crm");
        var auditBefore = _store.Store.AuditCount();

        var processes = Enumerable.Range(0, 8).Select(_ => TestProcess.Start("churn", _store.Path_, "crm", "200")).ToList();
        var results = await Task.WhenAll(processes.Select(async p =>
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
            return (p.ExitCode, Out: await stdout, Err: await stderr);
        }));

        Assert.All(results, r =>
        {
            Assert.True(r.ExitCode == 0, r.Err);
            Assert.DoesNotContain("locked", r.Err, StringComparison.OrdinalIgnoreCase);
        });
        var changes = results.Sum(r => int.Parse(r.Out.Trim(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(changes >= 200, $"only {changes} changes took effect");
        Assert.Equal(auditBefore + changes, _store.Store.AuditCount());
        Assert.Equal(crm.Version + changes, _store.Get("crm").Version);
        Assert.Equal(changes, _store.Store.History(crm.Id).Count(h => h.Actor.StartsWith("churn-", StringComparison.Ordinal)));
        foreach (var p in processes)
        {
            p.Dispose();
        }
    }

    [Fact]
    public async Task A_process_killed_mid_change_leaves_the_store_readable_and_every_change_whole()
    {
        var crm = _store.Add("crm");
        var random = new Random(20261121);

        for (var round = 0; round < 6; round++)
        {
            using var spinner = TestProcess.Start("spin", _store.Path_, "crm");
            Assert.Equal("ready", await spinner.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));
            await Task.Delay(random.Next(30, 250));
            spinner.Kill(entireProcessTree: true);
            await spinner.WaitForExitAsync();

            SqliteConnection.ClearAllPools();
            using var raw = new SqliteConnection($"Data Source={_store.Path_};Pooling=False");
            raw.Open();
            using var check = raw.CreateCommand();
            check.CommandText = "PRAGMA integrity_check;";
            Assert.Equal("ok", check.ExecuteScalar());

            var now = _store.Store.Find(crm.Id)!;
            Assert.Contains(now.Status, new[] { ConnectionStatus.Active, ConnectionStatus.Paused });
            // Every committed change wrote its row and its audit entry together: one entry per version, no more, no less.
            Assert.Equal(now.Version, _store.Store.History(crm.Id).Count);
        }
    }
}
