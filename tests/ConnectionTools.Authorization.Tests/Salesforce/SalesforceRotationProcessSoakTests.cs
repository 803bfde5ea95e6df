using System.Diagnostics;
using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Emulators;
using ConnectionTools.Nodes;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// The issue's soak with real OS processes: 200 scheduled refreshes with rotation on, run by 4 ConnectionTools.TestProcess
/// "grant-refresh" processes at once on one store file. Each refreshes through the product's Test-ConnectionAuthorization code
/// and its default HTTP handler, reaching the Salesforce emulator hosted here under the real host name
/// (contoso.my.salesforce.com) through a loopback CONNECT proxy (HTTPS_PROXY) with a test CA (SSL_CERT_FILE). Items are
/// scheduled two by two on the same connection, so two processes usually want the same grant at the same moment. Faults come
/// from the emulator's plan by the number of the accepted refresh: a userinfo failure after the token answer, a process
/// killed after saving (its own handler obeys the emulator's kill header; the test starts a replacement that carries on with
/// the rest of its items), or a token answer lost in transit. A last pass by one more process refreshes every connection
/// once, so a connection whose answer was lost presents its old token again. A busy store: when the emulator is about to
/// send a chosen token answer, the test takes the store's write lock (BEGIN IMMEDIATE on its own SQLite connection) and
/// holds it for 6 s, longer than the store's 5 s busy timeout, so the refresher's save of the rotated token meets
/// SQLITE_BUSY and the store's retry.
/// </summary>
// Child processes open the store by its file path, and the scan reads the SQLite files.
[Trait("Store", "SqliteFile")]
public sealed class SalesforceRotationProcessSoakTests : IAsyncLifetime
{
    private const int Processes = 4;
    private const int Refreshes = 200;
    private const string LeaseSeconds = "10";
    private static readonly TimeSpan StoreHold = TimeSpan.FromSeconds(6);
    private readonly List<Task> _holds = [];
    private TestStore _store = null!;
    private SalesforceOrg _org = null!;
    private ProviderProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        _org = await SalesforceOrg.StartAsync();
        _store = new TestStore(clients: _org.NodeClients());
        _store.Store.SetNodeSetting(ConnectionNode.SalesforceRedirectSetting, "0/OauthRedirect", "tester");
        _proxy = ProviderProxy.Start(new Dictionary<string, EmulatorHost> { [_org.Host] = _org.Emulator }, Path.Combine(_store.Folder, "ca.pem"));
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        _store.Dispose();
        await _org.DisposeAsync();
    }

    private List<string> NewConnections(int count)
    {
        var names = Enumerable.Range(0, count).Select(i => $"sf{i:00}").ToList();
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            // A node connects an org once: each connection signs in as its own user, in an org of its own.
            var user = $"{name}@contoso.example";
            _org.Emulator.RegisterUser(user);
            _org.Emulator.PlaceUserInOrganization(user, $"00D5g00000{i:00}AbCdE");
            _org.Emulator.AuthorizeAsUser = user;
            new SystemConnectionCommands(_store.Node, new RecordingHost()).New(new NewConnectionRequest
            {
                Name = name, Type = "SalesforceProduction", InstanceUrl = _org.InstanceUrl.AbsoluteUri,
                AcceptDataProcessingAgreement = true, ClientId = SalesforceOrg.ConsumerKey, Interactive = true,
            });
        }

        _org.Emulator.RotateRefreshTokens = true;
        _org.Emulator.OmitIdentityUrl = true; // so each refresh asks userinfo after saving the rotated token
        return names;
    }

    private sealed record Done(int Item, string Name, string Result, string ErrorId, string Status);

    private sealed record SoakRun(List<Done> Done, List<int> KilledInItems, int ProcessesStarted);

    /// <summary>Runs <paramref name="items"/> (item number -> connection name) on <paramref name="processes"/> processes at once.</summary>
    private async Task<SoakRun> RunAsync(IReadOnlyList<(int Item, string Name)> items, int processes)
    {
        var done = new List<Done>();
        var killed = new List<int>();
        var started = 0;
        var run = Guid.NewGuid().ToString("N")[..8];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        async Task Slot(int slot)
        {
            var mine = items.Where((_, i) => i % processes == slot).ToList();
            for (var generation = 0; mine.Count > 0; generation++)
            {
                var log = Path.Combine(_store.Folder, $"refresher-{run}-{slot}-{generation}.log");
                using var process = Start(log, mine);
                Interlocked.Increment(ref started);
                try
                {
                    await process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                    throw;
                }

                var lines = File.Exists(log) ? File.ReadAllLines(log) : [];
                var finished = lines.Where(l => l.StartsWith("done ", StringComparison.Ordinal)).Select(l => l.Split(' ')).Select(w => new Done(int.Parse(w[1], System.Globalization.CultureInfo.InvariantCulture), w[2], w[3], w[4], w.Length > 5 ? w[5] : "")).ToList();
                lock (done)
                {
                    done.AddRange(finished);
                }

                if (process.ExitCode == 0)
                {
                    Assert.Equal(mine.Count, finished.Count);
                    return;
                }

                // Killed in an item: that refresh happened (its token was saved); the replacement carries on after it.
                var last = lines.Last(l => l.StartsWith("start ", StringComparison.Ordinal)).Split(' ');
                var item = int.Parse(last[1], System.Globalization.CultureInfo.InvariantCulture);
                Assert.DoesNotContain(finished, f => f.Item == item);
                lock (killed)
                {
                    killed.Add(item);
                }

                mine = mine.SkipWhile(m => m.Item != item).Skip(1).ToList();
            }
        }

        await Task.WhenAll(Enumerable.Range(0, processes).Select(Slot));
        return new SoakRun(done, killed, started);
    }

    private Process Start(string log, IEnumerable<(int Item, string Name)> items)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = false, RedirectStandardError = false, UseShellExecute = false };
        foreach (var arg in new[] { TestProcess.AssemblyPath, "grant-refresh", _store.Path_, LeaseSeconds, log, string.Join(',', items.Select(i => $"{i.Name}:{i.Item}")) })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["HTTPS_PROXY"] = _proxy.ProxyUri.AbsoluteUri;
        start.Environment["SSL_CERT_FILE"] = _proxy.CaFile;
        start.Environment.Remove("NO_PROXY");
        start.Environment.Remove("no_proxy");
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the refresher");
    }

    /// <summary>Item k refreshes connection (k / 2) mod n: two processes want each grant at about the same time.</summary>
    private static List<(int Item, string Name)> Schedule(List<string> names, int refreshes) =>
        Enumerable.Range(0, refreshes).Select(k => (k, names[k / 2 % names.Count])).ToList();

    private static List<(int Item, string Name)> LastPass(List<string> names) =>
        names.Select((name, i) => (10_000 + i, name)).ToList();

    /// <summary>Locks the store for writing, from another SQLite connection, for <see cref="StoreHold"/>.</summary>
    private SalesforceRefreshFault HoldStore()
    {
        var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_store.Path_};Pooling=False");
        db.Open();
        using (var begin = db.CreateCommand())
        {
            begin.CommandText = "PRAGMA busy_timeout = 30000; BEGIN IMMEDIATE;";
            begin.ExecuteNonQuery();
        }

        lock (_holds)
        {
            _holds.Add(Task.Run(async () =>
            {
                await Task.Delay(StoreHold);
                using (var rollback = db.CreateCommand())
                {
                    rollback.CommandText = "ROLLBACK;";
                    rollback.ExecuteNonQuery();
                }

                db.Dispose();
            }));
        }

        return SalesforceRefreshFault.None;
    }

    private string StoredRefreshToken(string name) =>
        GrantVault.ReadOrNull(_store.Node, _store.Get(name))!.RefreshToken!;

    [Fact]
    public async Task Four_processes_with_failures_after_the_token_answer_end_with_every_connection_Active_on_its_latest_token()
    {
        var names = NewConnections(10);
        // 10% of the accepted refreshes meet a failure once their token answer is on its way: a third userinfo answering
        // 500, a third the process killed after saving, a third a store locked by another process for longer than its busy timeout.
        _org.Emulator.RefreshFaults = n => (n % 30) switch
        {
            3 => SalesforceRefreshFault.FailUserInfo,
            13 => SalesforceRefreshFault.KillClientAfterAnswer,
            23 => HoldStore(),
            _ => SalesforceRefreshFault.None,
        };
        var clock = Stopwatch.StartNew();
        var run = await RunAsync(Schedule(names, Refreshes), Processes);
        _org.Emulator.RefreshFaults = null;
        await Task.WhenAll(_holds);
        var last = await RunAsync(LastPass(names), 1);

        var userInfoFailures = _org.Emulator.FaultsInjected(SalesforceRefreshFault.FailUserInfo);
        var kills = _org.Emulator.FaultsInjected(SalesforceRefreshFault.KillClientAfterAnswer);
        Assert.Equal(Refreshes, run.Done.Count + run.KilledInItems.Count);
        Assert.Equal(kills, run.KilledInItems.Count);
        Assert.InRange(userInfoFailures + kills + _holds.Count, Refreshes / 10 - 2, Refreshes / 10);
        // The refreshes that do not succeed: those whose userinfo failed after their token answer was saved, and, rarely, one
        // that gave up waiting (RefreshInProgress, after 1.5 leases) because two processes in a row were killed holding
        // the claim of the grant it wanted. Neither loses a token.
        var notValid = run.Done.Where(d => d.Result != "Valid").ToList();
        var inactive = names.Where(n => _store.Get(n).Status != ConnectionStatus.Active).ToList();
        var histories = string.Join("\n", inactive.SelectMany(n => _store.Store.History(_store.Get(n).Id).Select(h => $"{n} {h.At:HH:mm:ss.fff} {h.Actor} {h.Summary}")));
        histories += "\n" + string.Join("\n", Directory.GetFiles(_store.Folder, "refresher-*.log").SelectMany(File.ReadAllLines)
            .Where(l => inactive.Any(n => l.Contains($" {n} ", StringComparison.Ordinal))).Order());
        var why = $"reuses {_org.Emulator.RefreshTokenReuses}, kills in items {string.Join(",", run.KilledInItems)}; not Valid: {string.Join("; ", notValid)}\n{histories}";
        Assert.True(inactive.Count == 0, why);
        var gaveUp = notValid.Count(d => d.ErrorId == Errors.ErrorIds.AuthorizationRefreshInProgress);
        Assert.True(notValid.Count(d => d.ErrorId == Errors.ErrorIds.AuthorizationProviderUnavailable) == userInfoFailures, why);
        Assert.True(notValid.Count == userInfoFailures + gaveUp && gaveUp <= kills, why);
        Assert.All(last.Done, d => Assert.Equal("Valid", d.Result));
        Assert.Equal(0, _org.Emulator.RefreshTokenReuses);
        foreach (var name in names)
        {
            Assert.Equal(ConnectionStatus.Active, _store.Get(name).Status);
            var stored = StoredRefreshToken(name);
            Assert.Equal(stored, _org.Emulator.CurrentRefreshToken(stored));
        }

        Console.WriteLine($"process soak: {Refreshes} refreshes of {names.Count} connections, {Processes} processes at once ({run.ProcessesStarted} started), " +
            $"{userInfoFailures} userinfo failures, {kills} processes killed after saving, {_holds.Count} store locks of {StoreHold.TotalSeconds:0} s, {gaveUp} gave up waiting for a killed process's claim, " +
            $"0 reuses, 0 Inactive, every stored token the latest, {clock.Elapsed.TotalSeconds:0} s");
    }

    [Fact]
    public async Task Four_processes_with_lost_token_answers_end_exactly_the_affected_connections_Inactive_with_the_rotation_message()
    {
        var names = NewConnections(40);
        _org.Emulator.RefreshFaults = n => n % 10 == 5 ? SalesforceRefreshFault.LoseAnswer : SalesforceRefreshFault.None;
        var run = await RunAsync(Schedule(names, Refreshes), Processes);
        _org.Emulator.RefreshFaults = null;
        await RunAsync(LastPass(names), 1);

        var lost = _org.Emulator.FaultsInjected(SalesforceRefreshFault.LoseAnswer);
        Assert.Empty(run.KilledInItems);
        Assert.Equal(Refreshes, run.Done.Count);
        Assert.InRange(lost, 10, Refreshes / 10);
        var inactive = names.Select(_store.Get).Where(c => c.Status == ConnectionStatus.Inactive).ToList();
        Assert.Equal(lost, inactive.Count);
        Assert.Equal(lost, _org.Emulator.RefreshTokenReuses);
        Assert.All(inactive, c =>
        {
            Assert.Equal(InactiveReason.Revoked, c.InactiveReason);
            Assert.Contains(_store.Store.History(c.Id), h => h.Summary.Contains("refresh-token rotation", StringComparison.Ordinal));
        });
        foreach (var name in names.Where(n => _store.Get(n).Status != ConnectionStatus.Inactive))
        {
            Assert.Equal(ConnectionStatus.Active, _store.Get(name).Status);
            var stored = StoredRefreshToken(name);
            Assert.Equal(stored, _org.Emulator.CurrentRefreshToken(stored));
        }

        Console.WriteLine($"process soak: {Refreshes} scheduled refreshes of {names.Count} connections, {Processes} processes at once, " +
            $"{_org.Emulator.AcceptedRefreshes} accepted, {lost} answers lost, {inactive.Count} Inactive (all with the rotation message), {names.Count - inactive.Count} Active on their latest token");
    }
}
