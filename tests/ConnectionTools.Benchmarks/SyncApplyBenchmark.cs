using System.Diagnostics;
using System.Globalization;
using System.Net;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;
using ConnectionTools.Invitations;
using ConnectionTools.Jobs;
using ConnectionTools.Node;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;
using ConnectionTools.Sync;
using ConnectionTools.SyncRules;
using ConnectionTools.SystemConnections;
using Microsoft.Extensions.Logging;

/// <summary>
/// Case sync part 2's figures, end to end on loopback: cases changed in Salesforce org A (an emulator) are retrieved by node A,
/// go through A's outgoing rule, travel to node B and are written by B's incoming rule and writer into Salesforce org B (a second
/// emulator, its own My Domain host). Both system connections hold real grants, made by the interactive flow against the
/// emulators. A is the private side (a store in this process, its Sync-Connection sends A's events); B is the public node host
/// (in-process Kestrel), whose apply pass (IncomingApply.RunPublicSideAsync, what its job poll runs) is called directly.
/// Salesforce on both sides: Dataverse creates need a default customer, which no command sets yet.
/// </summary>
public static class SyncApplyBenchmark
{
    /// <summary>Cases through every stage first, untimed, so each count pays JIT, the rules' parse and the grants alike.</summary>
    private const int WarmUp = 100;

    private const string OrgIdA = "00D5g000001AbCdEAK";
    private const string OrgIdB = "00D5g000002XyZwEAK";

    public static async Task RunAsync()
    {
        foreach (var count in new[] { 2_000, 10_000 })
        {
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ConnectionTools.Benchmarks.dll"));
            start.ArgumentList.Add("syncapply-count");
            start.ArgumentList.Add(count.ToString(CultureInfo.InvariantCulture));
            using var child = Process.Start(start)!;
            await child.WaitForExitAsync();
            if (child.ExitCode != 0)
            {
                throw new InvalidOperationException($"The syncapply benchmark for {count:N0} changes failed (exit code {child.ExitCode}).");
            }
        }

        await LatencyAsync();
    }

    /// <summary>One count, in a process of its own (Program.cs runs it for "syncapply-count N").</summary>
    public static async Task RunCountAsync(int count)
    {
        await using var rig = await Rig.StartAsync();
        var origin = DateTimeOffset.UtcNow.AddHours(-2);
        rig.OrgA.Emulator.AddCases(WarmUp, origin, TimeSpan.FromMilliseconds(1));
        await rig.RetrieveAsync();
        rig.Transport(WarmUp);
        await rig.ApplyAsync(WarmUp);
        rig.CheckArrivedOnce(WarmUp);
        var peakWarm = PeakMiB();
        var writesBefore = rig.OrgB.Emulator.WritesApplied;

        rig.OrgA.Emulator.AddCases(count, origin.AddHours(1), TimeSpan.FromMilliseconds(1));
        var clock = Stopwatch.StartNew();
        var retrieved = await rig.RetrieveAsync();
        var retrieval = clock.Elapsed;
        var peakRetrieved = PeakMiB();
        var rounds = rig.Transport(count);
        var transport = clock.Elapsed - retrieval;
        var peakSent = PeakMiB();
        var passes = await rig.ApplyAsync(count);
        var total = clock.Elapsed;
        var apply = total - retrieval - transport;
        rig.CheckArrivedOnce(WarmUp + count);
        Console.WriteLine(
            $"{count:N0} case changes, Salesforce org A -> node A -> node B -> Salesforce org B on loopback: {Ms(total)} ms in all " +
            $"(retrieval and outgoing rule on A {Ms(retrieval)} ms, {retrieved.Records:N0} records in {retrieved.Pages} pages; transport {Ms(transport)} ms in {rounds} Sync-Connection call(s); " +
            $"incoming rule and writes on B {Ms(apply)} ms in {passes} apply pass(es); target: under 20,000 ms for 10,000); " +
            $"every case arrived once in org B ({rig.OrgB.Emulator.CaseCount:N0} cases with the external id, {rig.OrgB.Emulator.WritesApplied - writesBefore:N0} records written for the {count:N0}); " +
            $"peak working set {PeakMiB()} MiB (a process of its own, both emulators in it; target: flat across counts; after warming up {peakWarm} MiB, " +
            $"after retrieval {peakRetrieved} MiB, after transport {peakSent} MiB), GC heap {GC.GetGCMemoryInfo().HeapSizeBytes / (1024 * 1024)} MiB at the end");
    }

    /// <summary>
    /// One case changed in org A, until it is in org B: A retrieves every 1 s (its job's interval), A's Sync-Connection polls
    /// every 1 s (the private node host's --interval 1) and B applies every 1 s (the public node host's --job-poll 1; its default
    /// is 5 s). Three independent loops, as the node hosts run them; the change lands at a random moment.
    /// </summary>
    private static async Task LatencyAsync()
    {
        await using var rig = await Rig.StartAsync();
        rig.OrgA.Emulator.AddCases(WarmUp, DateTimeOffset.UtcNow.AddHours(-1), TimeSpan.FromMilliseconds(1));
        await rig.RetrieveAsync();
        rig.Transport(WarmUp);
        await rig.ApplyAsync(WarmUp);

        using var stop = new CancellationTokenSource();
        var loopErrors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        Task Every(Func<Task> work) => Task.Run(async () =>
        {
            await Task.Delay(Random.Shared.Next(0, 1000), stop.Token);
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            do
            {
                try
                {
                    await work();
                }
                catch (Exception e) when (!stop.IsCancellationRequested)
                {
                    loopErrors.Enqueue(e);
                }
            }
            while (await timer.WaitForNextTickAsync(stop.Token));
        });
        var loops = new[]
        {
            Every(() => rig.RetrieveAsync()),
            Every(() => { rig.PeersA.Sync(null, passThru: false); return Task.CompletedTask; }),
            Every(() => IncomingApply.RunPublicSideAsync(rig.B, _ => { }, (c, e) => loopErrors.Enqueue(e), stop.Token)),
        };

        var latencies = new List<double>();
        for (var i = 0; i < 21; i++)
        {
            await Task.Delay(Random.Shared.Next(0, 1000));
            var id = SalesforceEmulator.CaseId(WarmUp + i + 1);
            rig.OrgA.Emulator.AddCases(1, DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(1));
            var clock = Stopwatch.StartNew();
            while (rig.OrgB.Emulator.FindCaseByExternalId(id) is null)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(30) || !loopErrors.IsEmpty)
                {
                    throw new InvalidOperationException($"Case {id} did not reach org B in {clock.Elapsed.TotalSeconds:0} s" +
                        (loopErrors.TryPeek(out var error) ? $": {error}" : "."));
                }

                await Task.Delay(5);
            }

            latencies.Add(clock.Elapsed.TotalMilliseconds);
        }

        await stop.CancelAsync();
        foreach (var loop in loops)
        {
            await loop.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        rig.CheckArrivedOnce(WarmUp + latencies.Count);
        Figures.Report("One case changed in org A, until it is in org B (retrieval every 1 s on A, Sync-Connection every 1 s, apply every 1 s on B)", latencies, "target: median under 3,000 ms");
    }

    private static long PeakMiB()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / (1024 * 1024);
    }

    private static string Ms(TimeSpan span) => span.TotalMilliseconds.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Two emulated orgs, node A (private side, bound to org A) and node B (public node host, bound to org B), paired on loopback.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly string _folder;
        private readonly Microsoft.AspNetCore.Builder.WebApplication _app;

        private Rig(string folder, Microsoft.AspNetCore.Builder.WebApplication app, Org orgA, Org orgB, ConnectionNode a, ConnectionNode b)
        {
            _folder = folder;
            _app = app;
            OrgA = orgA;
            OrgB = orgB;
            A = a;
            B = b;
            var host = new QuietHost();
            new NodeCommands(b, host).SetPublicUrl(app.Urls.First(), passThru: false);
            SystemA = Authorize(a, orgA);
            Authorize(b, orgB);
            var code = "";
            new InvitationCommands(b, new QuietHost { OnObject = o => code = ((PrivateConnectionInvitation)o).InvitationCode })
                .New(new NewPrivateConnectionRequest { Name = "partner", LocalInstanceName = "b", System = "sf" });
            PeersA = new PeerCommands(a, host);
            PeersA.Accept(code, null, "a", system: "sf");
            PartnerOnB = b.Store.FindByName("partner")!.Id;
        }

        public Org OrgA { get; }

        public Org OrgB { get; }

        /// <summary>The private side, bound to org A.</summary>
        public ConnectionNode A { get; }

        /// <summary>The public side's store (served by the node host in this process), bound to org B.</summary>
        public ConnectionNode B { get; }

        public Connection SystemA { get; }

        public PeerCommands PeersA { get; }

        public Guid PartnerOnB { get; }

        public static async Task<Rig> StartAsync()
        {
            var orgA = await Org.StartAsync("contoso.my.salesforce.com", OrgIdA);
            var orgB = await Org.StartAsync("fabrikam.my.salesforce.com", OrgIdB);
            var folder = Path.Combine(Path.GetTempPath(), "ct-syncapply-bench-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            var publicPath = Path.Combine(folder, "b.db");
            var app = NodeHost.BuildPublic(new[] { "--urls", "http://127.0.0.1:0" }, new NodeOptions(publicPath, null, false, TimeSpan.FromSeconds(1)) { Create = true, RunJobs = false }, b => b.Logging.ClearProviders());
            await app.StartAsync();
            var b = ConnectionNode.Open(new StoreLocation(publicPath, StoreSource.Session, create: true), actor: "bench", clients: orgB.NodeClients());
            var a = ConnectionNode.Open(new StoreLocation(Path.Combine(folder, "a.db"), StoreSource.Session, create: true), actor: "bench", clients: orgA.NodeClients());
            return new Rig(folder, app, orgA, orgB, a, b);
        }

        /// <summary>A system connection "sf" with a real grant, by the interactive flow against the org's emulator.</summary>
        private static Connection Authorize(ConnectionNode node, Org org)
        {
            node.Store.SetNodeSetting(ConnectionNode.SalesforceRedirectSetting, "0/OauthRedirect", "bench");
            new SystemConnectionCommands(node, new QuietHost()).New(new NewConnectionRequest
            {
                Name = "sf",
                Type = "SalesforceProduction",
                InstanceUrl = org.InstanceUrl.AbsoluteUri,
                AcceptDataProcessingAgreement = true,
                ClientId = Org.ConsumerKey,
                Interactive = true,
            });
            return node.Store.FindByName("sf")!;
        }

        /// <summary>A's retrieval job, run now: pages the changed cases into the queue and runs the outgoing rule.</summary>
        public Task<JobRun> RetrieveAsync() => new RetrievalRunner(A).RunAsync(A.Store.Find(SystemA.Id)!, JobTrigger.Manual, _ => { }, CancellationToken.None);

        public long IncomingOnB() => B.Store.Read(db => SyncEventRows.Count(db, PartnerOnB, SyncDirection.Incoming));

        /// <summary>Sync-Connection on A until B holds <paramref name="expected"/> incoming events; returns the calls made.</summary>
        public int Transport(int expected)
        {
            var calls = 0;
            while (IncomingOnB() < expected)
            {
                if (++calls > 20)
                {
                    throw new InvalidOperationException($"After {calls - 1} Sync-Connection calls node B holds {IncomingOnB():N0} of {expected:N0} events.");
                }

                PeersA.Sync(null, passThru: false);
            }

            return calls;
        }

        /// <summary>B's apply passes until its incoming events are gone; any Failed event fails the run. Returns the passes made.</summary>
        public async Task<int> ApplyAsync(int expected)
        {
            var passes = 0;
            while (IncomingOnB() > 0)
            {
                if (++passes > 20)
                {
                    throw new InvalidOperationException($"After {passes - 1} apply passes node B still holds {IncomingOnB():N0} incoming events.");
                }

                await IncomingApply.RunPublicSideAsync(B, _ => { }, (c, e) => throw e, CancellationToken.None);
                var failed = B.Store.Read(db => SyncEventRows.List(db, PartnerOnB, SyncDirection.Incoming)).Where(e => e.Status == SyncEventStatus.Failed).ToList();
                if (failed.Count > 0)
                {
                    throw new InvalidOperationException($"{failed.Count} of {expected:N0} incoming events failed on B, first {failed[0].CaseId}: {failed[0].ErrorId}: {failed[0].Error}");
                }
            }

            return passes;
        }

        /// <summary>Every case of org A (numbered 1..<paramref name="count"/>) is in org B exactly once, by its external id.</summary>
        public void CheckArrivedOnce(int count)
        {
            var missing = Enumerable.Range(1, count).Select(SalesforceEmulator.CaseId).Where(id => OrgB.Emulator.FindCaseByExternalId(id) is null).ToList();
            var local = Enumerable.Range(1, count).Select(n => OrgB.Emulator.FindCaseByExternalId(SalesforceEmulator.CaseId(n))).Where(id => id != null).Distinct().Count();
            if (missing.Count > 0 || OrgB.Emulator.CaseCount != count || local != count || OrgA.Emulator.CaseCount != count)
            {
                throw new InvalidOperationException(
                    $"Not every case arrived exactly once: org A has {OrgA.Emulator.CaseCount:N0} cases, org B {OrgB.Emulator.CaseCount:N0}, " +
                    $"{count - missing.Count:N0} of {count:N0} found by external id on {local:N0} distinct cases; missing e.g. {string.Join(", ", missing.Take(5))}.");
            }
        }

        public async ValueTask DisposeAsync()
        {
            A.Dispose();
            B.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
            await OrgA.DisposeAsync();
            await OrgB.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>
    /// One emulated org reached by its My Domain host, routed to a loopback SalesforceEmulator (after SalesforceOrg in
    /// ConnectionTools.Authorization.Tests/Salesforce/SalesforceTestKit.cs, without the recording and the certificate).
    /// </summary>
    private sealed class Org : IAsyncDisposable
    {
        public const string ConsumerKey = "3MVG9ConnectionTools.test.key";
        private const string Username = "integration@contoso.example";

        private Org(SalesforceEmulator emulator, string host)
        {
            Emulator = emulator;
            Host = host;
            Http = new HttpClient(new ProviderHostRouter().Route(host, emulator));
            Browser = new HttpClient(new ProviderHostRouter().Route(host, emulator));
        }

        public SalesforceEmulator Emulator { get; }

        public string Host { get; }

        public Uri InstanceUrl => new($"https://{Host}/");

        private HttpClient Http { get; }

        /// <summary>The "browser" of the interactive flow: does not follow redirects.</summary>
        private HttpClient Browser { get; }

        public NodeClients NodeClients() => new() { ProviderHttp = Http, OpenBrowser = BrowseAsync };

        public static async Task<Org> StartAsync(string host, string organizationId)
        {
            var emulator = await SalesforceEmulator.StartNewAsync(InstanceUrls.SalesforceProductionLogin, organizationId);
            var org = new Org(emulator, host);
            emulator.RegisterConnectedApp(ConsumerKey);
            emulator.RegisterUser(Username);
            emulator.ExpectedHost = host;
            emulator.InstanceUrl = org.InstanceUrl;
            return org;
        }

        /// <summary>GETs the authorize URL, then the redirect (the loopback listener of the interactive flow).</summary>
        private async Task BrowseAsync(Uri url, CancellationToken cancellationToken)
        {
            using var authorize = await Browser.GetAsync(url, cancellationToken);
            if (authorize.StatusCode != HttpStatusCode.Found)
            {
                throw new InvalidOperationException($"The emulator did not authorize: {(int)authorize.StatusCode} {await authorize.Content.ReadAsStringAsync(cancellationToken)}");
            }

            using var redirect = await Browser.GetAsync(authorize.Headers.Location!, cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            Browser.Dispose();
            await Emulator.DisposeAsync();
        }
    }

    private sealed class QuietHost : ConnectionTools.Hosting.IHostContext
    {
        public Action<object>? OnObject { get; init; }

        public CancellationToken CancellationToken => CancellationToken.None;

        public void WriteObject(object value) => OnObject?.Invoke(value);

        public void WriteError(ConnectionTools.Errors.ConnectionToolsException error) => throw error;

        public void WriteWarning(string message)
        {
        }

        public void WriteVerbose(string message)
        {
        }

        public void WriteProgress(ConnectionTools.Hosting.ProgressInfo progress)
        {
        }

        public bool ShouldProcess(string target, string action) => true;
    }
}
