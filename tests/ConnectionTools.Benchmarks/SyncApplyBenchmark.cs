using System.Diagnostics;
using System.Globalization;
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
/// Salesforce on both sides ("syncapply"), or Dataverse on B ("syncapply-dv": B bound to Dynamics 365 behind the Entra emulator, with
/// Set-Connection -DefaultCustomer, so the incoming rule and writer are the Dataverse ones).
/// The timed run takes A's retrieval job apart to time its stages: the paging into the retrieval queue, then the outgoing rule
/// (OutgoingEvents.Produce), the two steps RetrievalRunner.RunAsync runs; the warm-up and the latency loop run the job itself.
/// HTTP waits are added up by a handler on each client (org A, node B's peer endpoint, org B), to the answers' headers.
/// SYNCAPPLY_TRACE=1 prints each batch's progress and what a store read costs on B (to find where the time goes).
/// </summary>
public static class SyncApplyBenchmark
{
    /// <summary>Cases through every stage first, untimed, so each count pays JIT, the rules' parse and the grants alike.</summary>
    private const int WarmUp = 100;

    private const string OrgIdA = "00D5g000001AbCdEAK";
    private const string OrgIdB = "00D5g000002XyZwEAK";

    public static async Task RunAsync(bool dataverse = false)
    {
        foreach (var count in new[] { 2_000, 10_000 })
        {
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ConnectionTools.Benchmarks.dll"));
            start.ArgumentList.Add(dataverse ? "syncapply-dv-count" : "syncapply-count");
            start.ArgumentList.Add(count.ToString(CultureInfo.InvariantCulture));
            using var child = Process.Start(start)!;
            await child.WaitForExitAsync();
            if (child.ExitCode != 0)
            {
                throw new InvalidOperationException($"The syncapply benchmark for {count:N0} changes failed (exit code {child.ExitCode}).");
            }
        }

        await LatencyAsync(dataverse);
    }

    /// <summary>One count, in a process of its own (Program.cs runs it for "syncapply-count N", and "syncapply-dv-count N" with org B a Dataverse environment).</summary>
    public static async Task RunCountAsync(int count, bool dataverse = false)
    {
        await using var rig = await Rig.StartAsync(dataverse);
        var origin = DateTimeOffset.UtcNow.AddHours(-2);
        rig.OrgA.Emulator.AddCases(WarmUp, origin, TimeSpan.FromMilliseconds(1));
        await rig.RetrieveAsync();
        rig.Transport(WarmUp);
        await rig.ApplyAsync(WarmUp);
        rig.CheckArrivedOnce(WarmUp);
        var peakWarm = PeakMiB();
        var writesBefore = rig.OrgB.WritesApplied;

        rig.OrgA.Emulator.AddCases(count, origin.AddHours(1), TimeSpan.FromMilliseconds(1));
        rig.ResetTimers();
        var clock = Stopwatch.StartNew();
        var (records, pages) = await rig.RetrieveOnlyAsync();
        var paging = clock.Elapsed;
        var trace = Environment.GetEnvironmentVariable("SYNCAPPLY_TRACE") == "1" ? new List<(TimeSpan, string)>() : null;
        var queued = OutgoingEvents.Produce(rig.A, rig.SystemA, trace is null ? null : m => trace.Add((clock.Elapsed, m)));
        var retrieval = clock.Elapsed;
        var pagingHttp = rig.OrgA.Timing.Elapsed;
        var peakRetrieved = PeakMiB();
        var rounds = rig.Transport(count);
        var transport = clock.Elapsed - retrieval;
        var peerHttp = rig.PeerTiming.Elapsed;
        var peakSent = PeakMiB();
        var passes = await rig.ApplyAsync(count, trace is null ? null : m => trace.Add((clock.Elapsed, m)));
        var total = clock.Elapsed;
        if (trace != null)
        {
            foreach (var (at, message) in trace)
            {
                Console.WriteLine($"  {Ms(at),8} ms  {message}");
            }

            // Where an apply pass's time goes besides the rule and the writes: what one store read costs, bare and for a twin.
            var ids = Enumerable.Range(1, count).Select(SalesforceEmulator.CaseId).ToList();
            var bare = Stopwatch.StartNew();
            foreach (var id in ids)
            {
                rig.B.Store.Read(db => 0);
            }

            bare.Stop();
            var twins = Stopwatch.StartNew();
            foreach (var id in ids)
            {
                rig.B.Store.Read(db => SyncTwinRows.FindByPartner(db, rig.PartnerOnB, id));
            }

            twins.Stop();
            Console.WriteLine($"  {count:N0} store reads on B: {Ms(bare.Elapsed)} ms bare (Store.Read(db => 0)), {Ms(twins.Elapsed)} ms finding each case's twin (as IncomingApply's Plan does per event)");
        }

        var apply = total - retrieval - transport;
        rig.CheckArrivedOnce(WarmUp + count);
        Console.WriteLine(
            $"{count:N0} case changes, Salesforce org A -> node A -> node B -> {rig.OrgB.Describe} on loopback: {Ms(total)} ms in all; " +
            $"retrieval on A {Ms(paging)} ms ({records:N0} records in {pages} pages, of which waiting on org A's query answers {Ms(pagingHttp)} ms), outgoing rule on A {Ms(retrieval - paging)} ms ({queued:N0} events); " +
            $"transport {Ms(transport)} ms in {rounds} Sync-Connection call(s) (of which waiting on node B's answers {Ms(peerHttp)} ms in {rig.PeerTiming.Calls} requests); " +
            $"incoming rule and writes on B {Ms(apply)} ms in {passes} apply pass(es) (of which waiting on org B's write answers {Ms(rig.OrgB.Timing.Elapsed)} ms in {rig.OrgB.Timing.Calls} requests); " +
            "target: under 20,000 ms for 10,000; " +
            $"every case arrived once in org B ({rig.OrgB.CaseCount:N0} cases with the {rig.OrgB.KeyName}, {rig.OrgB.WritesApplied - writesBefore:N0} records written for the {count:N0}); " +
            $"peak working set {PeakMiB()} MiB (a process of its own, both emulators in it; target: flat across counts; after warming up {peakWarm} MiB, " +
            $"after retrieval {peakRetrieved} MiB, after transport {peakSent} MiB), GC heap {GC.GetGCMemoryInfo().HeapSizeBytes / (1024 * 1024)} MiB at the end" +
            SyncBenchmark.ResidentSplit() + $"; store files: A {rig.StoreMiB("a")} MiB, B {rig.StoreMiB("b")} MiB; SQLite's own heap (page caches of every open connection) {SQLitePCL.raw.sqlite3_memory_used() / (1024 * 1024)} MiB now, " +
            $"{SQLitePCL.raw.sqlite3_memory_highwater(0) / (1024 * 1024)} MiB at most");
    }

    /// <summary>
    /// One case changed in org A, until it is in org B: A retrieves every 1 s (its job's interval), A's Sync-Connection polls
    /// every 1 s (the private node host's --interval 1) and B applies every 1 s (the public node host's --job-poll 1; its default
    /// is 5 s). Three independent loops, as the node hosts run them; the change lands at a random moment.
    /// </summary>
    private static async Task LatencyAsync(bool dataverse)
    {
        await using var rig = await Rig.StartAsync(dataverse);
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
            while (rig.OrgB.FindByPartnerId(id) is null)
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
        Figures.Report($"One case changed in org A, until it is in {rig.OrgB.Describe} (retrieval every 1 s on A, Sync-Connection every 1 s, apply every 1 s on B)", latencies, "target: median under 3,000 ms");
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

        private Rig(string folder, Microsoft.AspNetCore.Builder.WebApplication app, Org orgA, ITarget orgB, ConnectionNode a, ConnectionNode b)
        {
            _folder = folder;
            _app = app;
            OrgA = orgA;
            OrgB = orgB;
            A = a;
            B = b;
            var host = new QuietHost();
            new NodeCommands(b, host).SetPublicUrl(app.Urls.First(), passThru: false);
            SystemA = orgA.Authorize(a);
            var systemB = orgB.Authorize(b);
            var code = "";
            new InvitationCommands(b, new QuietHost { OnObject = o => code = ((PrivateConnectionInvitation)o).InvitationCode })
                .New(new NewPrivateConnectionRequest { Name = "partner", LocalInstanceName = "b", System = systemB.Name });
            PeersA = new PeerCommands(a, host);
            PeersA.Accept(code, null, "a", system: "sf");
            PartnerOnB = b.Store.FindByName("partner")!.Id;
        }

        public Org OrgA { get; }

        /// <summary>Salesforce org B, or a Dataverse environment.</summary>
        public ITarget OrgB { get; }

        /// <summary>The private side, bound to org A.</summary>
        public ConnectionNode A { get; }

        /// <summary>The public side's store (served by the node host in this process), bound to org B.</summary>
        public ConnectionNode B { get; }

        public Connection SystemA { get; }

        public PeerCommands PeersA { get; }

        public Guid PartnerOnB { get; }

        public static async Task<Rig> StartAsync(bool dataverse = false)
        {
            var orgA = await Org.StartAsync("contoso.my.salesforce.com", OrgIdA);
            ITarget orgB = dataverse ? await DataverseOrg.StartAsync("fabrikam.crm.dynamics.com") : await Org.StartAsync("fabrikam.my.salesforce.com", OrgIdB);
            var folder = Path.Combine(Path.GetTempPath(), "ct-syncapply-bench-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            var publicPath = Path.Combine(folder, "b.db");
            var app = NodeHost.BuildPublic(new[] { "--urls", "http://127.0.0.1:0" }, new NodeOptions(publicPath, null, false, TimeSpan.FromSeconds(1)) { Create = true, RunJobs = false }, b => b.Logging.ClearProviders());
            await app.StartAsync();
            var b = ConnectionNode.Open(new StoreLocation(publicPath, StoreSource.Session, create: true), actor: "bench", clients: orgB.NodeClients());
            var peerTiming = new TimingHandler(new SocketsHttpHandler());
            var clientsA = orgA.NodeClients();
            clientsA.PeerHttp = new HttpClient(peerTiming) { Timeout = Timeout.InfiniteTimeSpan };
            var a = ConnectionNode.Open(new StoreLocation(Path.Combine(folder, "a.db"), StoreSource.Session, create: true), actor: "bench", clients: clientsA);
            return new Rig(folder, app, orgA, orgB, a, b) { PeerTiming = peerTiming };
        }

        /// <summary>A's retrieval job, run now: pages the changed cases into the queue and runs the outgoing rule.</summary>
        /// <summary>
        /// What <see cref="RetrievalRunner.RunAsync"/> does before its outgoing rule, to time the two apart: pages the cases
        /// changed since the job's watermark into the retrieval queue, a transaction per page (the watermark moves with each).
        /// </summary>
        public async Task<(int Records, int Pages)> RetrieveOnlyAsync()
        {
            var system = A.Store.Find(SystemA.Id)!;
            var watermark = A.Store.Read(db => JobRows.Find(db, system.Id))!.Value.Watermark;
            var (records, pages) = (0, 0);
            await new RetrievalRunner(A).RetrieveAsync(system, watermark, (page, ct) =>
            {
                var rows = page.Select(r => (r.Id, r.ModifiedAt, r.Payload)).ToList();
                A.Store.Write(tx =>
                {
                    JobRows.CommitPage(tx, system.Id, 0, "Case", rows, A.Clock());
                    return 0;
                });
                records += rows.Count;
                pages++;
                return Task.CompletedTask;
            }, _ => { }, _ => { }, CancellationToken.None);
            return (records, pages);
        }

        /// <summary>Time spent waiting on HTTP answers: from org A, from node B, from org B.</summary>
        public TimingHandler PeerTiming { get; private init; } = null!;

        public void ResetTimers()
        {
            OrgA.Timing.Reset();
            OrgB.Timing.Reset();
            PeerTiming.Reset();
        }

        public Task<JobRun> RetrieveAsync() => new RetrievalRunner(A).RunAsync(A.Store.Find(SystemA.Id)!, JobTrigger.Manual, _ => { }, CancellationToken.None);

        /// <summary>The size of a store's files (database and write-ahead log), in MiB.</summary>
        public long StoreMiB(string name) => Directory.GetFiles(_folder, name + ".db*").Sum(f => new FileInfo(f).Length) / (1024 * 1024);

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
        public async Task<int> ApplyAsync(int expected, Action<string>? verbose = null)
        {
            var passes = 0;
            while (IncomingOnB() > 0)
            {
                if (++passes > 20)
                {
                    throw new InvalidOperationException($"After {passes - 1} apply passes node B still holds {IncomingOnB():N0} incoming events.");
                }

                await IncomingApply.RunPublicSideAsync(B, verbose ?? (_ => { }), (c, e) => throw e, CancellationToken.None);
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
            var missing = Enumerable.Range(1, count).Select(SalesforceEmulator.CaseId).Where(id => OrgB.FindByPartnerId(id) is null).ToList();
            var local = Enumerable.Range(1, count).Select(n => OrgB.FindByPartnerId(SalesforceEmulator.CaseId(n))).Where(id => id != null).Distinct().Count();
            if (missing.Count > 0 || OrgB.CaseCount != count || local != count || OrgA.Emulator.CaseCount != count)
            {
                throw new InvalidOperationException(
                    $"Not every case arrived exactly once: org A has {OrgA.Emulator.CaseCount:N0} cases, org B {OrgB.CaseCount:N0}, " +
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
    private sealed class Org : ITarget
    {
        public const string ConsumerKey = "3MVG9ConnectionTools.test.key";
        private const string Username = "integration@contoso.example";

        private Org(SalesforceEmulator emulator, string host)
        {
            Emulator = emulator;
            Host = host;
            Timing = new TimingHandler(new ProviderHostRouter().Route(host, emulator));
            Http = new HttpClient(Timing);
            Browser = new HttpClient(new ProviderHostRouter().Route(host, emulator));
        }

        public SalesforceEmulator Emulator { get; }

        public string Host { get; }

        public Uri InstanceUrl => new($"https://{Host}/");

        /// <summary>Time the node spent waiting on this org's answers (to their headers).</summary>
        public TimingHandler Timing { get; }

        private HttpClient Http { get; }

        /// <summary>The "browser" of the interactive flow: does not follow redirects.</summary>
        private HttpClient Browser { get; }

        public NodeClients NodeClients() => new() { ProviderHttp = Http, OpenBrowser = BrowseAsync };

        public string Describe => "Salesforce org B";

        public string KeyName => "external id";

        public int CaseCount => Emulator.CaseCount;

        public int WritesApplied => Emulator.WritesApplied;

        public string? FindByPartnerId(string partnerCaseId) => Emulator.FindCaseByExternalId(partnerCaseId);

        /// <summary>A system connection "sf" with a real grant, by the interactive flow against the org's emulator.</summary>
        public Connection Authorize(ConnectionNode node)
        {
            node.Store.SetNodeSetting(ConnectionNode.SalesforceRedirectSetting, "0/OauthRedirect", "bench");
            new SystemConnectionCommands(node, new QuietHost()).New(new NewConnectionRequest
            {
                Name = "sf",
                Type = "SalesforceProduction",
                InstanceUrl = InstanceUrl.AbsoluteUri,
                AcceptDataProcessingAgreement = true,
                ClientId = ConsumerKey,
                Interactive = true,
            });
            return node.Store.FindByName("sf")!;
        }

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
        private Task BrowseAsync(Uri url, CancellationToken cancellationToken) => ConnectionTools.Testing.SyncApplyFaultRun.FaultOrg.AllowAccessAsync(Browser, url, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            Browser.Dispose();
            await Emulator.DisposeAsync();
        }
    }

    /// <summary>The system node B is bound to: Salesforce org B or a Dataverse environment.</summary>
    private interface ITarget : IAsyncDisposable
    {
        /// <summary>Time node B spent waiting on this system's answers (to their headers).</summary>
        TimingHandler Timing { get; }

        string Describe { get; }

        /// <summary>What holds the partner's case id: the Case external id field, the incident alternate key.</summary>
        string KeyName { get; }

        int CaseCount { get; }

        int WritesApplied { get; }

        /// <summary>The local id of the case made from the partner's case <paramref name="partnerCaseId"/>, or null.</summary>
        string? FindByPartnerId(string partnerCaseId);

        NodeClients NodeClients();

        /// <summary>The system connection of node B, authorized against the emulator.</summary>
        Connection Authorize(ConnectionNode node);
    }

    /// <summary>
    /// A Dataverse environment (incidents) behind the Entra emulator, reached by its environment host and login.microsoftonline.com;
    /// the Dynamics 365 connection "crm" signs in with a client secret and names a default customer (Set-Connection -DefaultCustomer).
    /// </summary>
    private sealed class DataverseOrg : ITarget
    {
        private const string ClientId = "55555555-5555-5555-5555-555555555555";
        private const string Secret = "bench~secret";
        private const string Customer = "accounts(7a1d3c55-0000-4000-8000-00000000c0de)";

        private DataverseOrg(EntraEmulator emulator, string host)
        {
            Emulator = emulator;
            Host = host;
            Timing = new TimingHandler(new ProviderHostRouter(emulator).Route("login.microsoftonline.com", emulator).Route(host, emulator));
            Http = new HttpClient(Timing);
        }

        public EntraEmulator Emulator { get; }

        public string Host { get; }

        public TimingHandler Timing { get; }

        private HttpClient Http { get; }

        public string Describe => "Dataverse environment B (incidents)";

        public string KeyName => "alternate key";

        public int CaseCount => Emulator.CaseCount;

        public int WritesApplied => Emulator.WritesApplied;

        public string? FindByPartnerId(string partnerCaseId) => Emulator.FindIncidentByAlternateKey(partnerCaseId);

        public NodeClients NodeClients() => new() { ProviderHttp = Http };

        public static async Task<DataverseOrg> StartAsync(string host)
        {
            var emulator = await EntraEmulator.StartNewAsync();
            emulator.RegisterResource($"https://{host}");
            emulator.RegisterClient(ClientId, Secret);
            return new DataverseOrg(emulator, host);
        }

        public Connection Authorize(ConnectionNode node)
        {
            new SystemConnectionCommands(node, new QuietHost()).New(new NewConnectionRequest
            {
                Name = "crm",
                Type = "Dynamics365",
                InstanceUrl = $"https://{Host}",
                AcceptDataProcessingAgreement = true,
                ClientId = ClientId,
                TenantId = Emulator.TenantId.ToString(),
                ClientSecret = Secret,
            });
            new ConnectionCommands(node, new QuietHost()).Set(new[] { ConnectionTarget.ByName("crm") }, new ConnectionEdit { DefaultCustomer = Customer }, passThru: false);
            return node.Store.FindByName("crm")!;
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Emulator.DisposeAsync();
        }
    }

    /// <summary>Adds up the time from each request sent to its answer's headers (the answers are small, or read as they stream).</summary>
    private sealed class TimingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private long _ticks;
        private int _calls;

        public TimeSpan Elapsed => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

        public int Calls => Volatile.Read(ref _calls);

        public void Reset()
        {
            Interlocked.Exchange(ref _ticks, 0);
            Interlocked.Exchange(ref _calls, 0);
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                Interlocked.Add(ref _ticks, Stopwatch.GetElapsedTime(started).Ticks);
                Interlocked.Increment(ref _calls);
            }
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
