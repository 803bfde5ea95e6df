using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Sync;
using ConnectionTools.SyncRules;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ConnectionTools.Testing;

// The sync fault run's parts, shared by the CI-scale test (ConnectionTools.Node.Tests, SyncFaultTests) and the full-scale run
// in the benchmark project (SyncFaultBenchmark): real node host processes, a faulty proxy, the queue on A, the checks on B
// and the pause phases. The checks return problems rather than assert, so each project reports them its own way.

/// <summary>The node host (src/ConnectionTools.Node) as a process of its own; disposing it is kill -9.</summary>
public sealed class NodeHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly int? _port;

    private NodeHostProcess(Process process, int? port)
    {
        _process = process;
        _port = port;
    }

    public static NodeHostProcess Start(string store, int port) =>
        new(Run("--store", store, "--urls", $"http://127.0.0.1:{port}", "--no-jobs"), port);

    public static NodeHostProcess StartPrivate(string store) =>
        new(Run("--store", store, "--private", "--interval", "0.2", "--no-jobs"), null);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async Task WaitUntilListeningAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, _port!.Value);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    /// <summary>
    /// A node host with <paramref name="args"/> as given (the sync apply fault run's hosts run their jobs), the variables of
    /// <paramref name="environment"/> set (a null value removes one), each line it writes handed to <paramref name="output"/>.
    /// </summary>
    public static NodeHostProcess StartWith(int? port, IReadOnlyDictionary<string, string?> environment, Action<string>? output, params string[] args) =>
        new(Run(environment, output, args), port);

    private static Process Run(params string[] args) => Run(null, null, args);

    private static Process Run(IReadOnlyDictionary<string, string?>? environment, Action<string>? output, string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ConnectionTools.Node.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var process = Process.Start(start)!;

        // Drain its output so a full pipe never blocks it.
        process.OutputDataReceived += (_, line) => { if (line.Data != null) { output?.Invoke(line.Data); } };
        process.ErrorDataReceived += (_, line) => { if (line.Data != null) { output?.Invoke(line.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}

/// <summary>A reverse proxy in front of node A that loses one answer in ten after A processed the request, and sends one request in seven twice.</summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _upstream = new() { Timeout = TimeSpan.FromSeconds(30) };
    private int _requests;
    private int _dropped;
    private int _replayed;

    private FaultProxy(WebApplication app) => _app = app;

    public string Url => _app.Urls.First().TrimEnd('/') + "/";

    public int Requests => Volatile.Read(ref _requests);

    public int Dropped => Volatile.Read(ref _dropped);

    public int Replayed => Volatile.Read(ref _replayed);

    /// <summary>
    /// In front of one node host, or of several serving one node (one URL for the partner): requests go to them in turn, and a
    /// request a host cannot take (killed) goes to the next one, as a load balancer's health check would send it.
    /// </summary>
    public static async Task<FaultProxy> StartAsync(params int[] upstreamPorts)
    {
        var builder = WebApplication.CreateBuilder(new[] { "--urls", "http://127.0.0.1:0" });
        builder.Logging.ClearProviders();
        var proxy = new FaultProxy(builder.Build());
        var turn = 0;
        proxy._app.Run(context => proxy.ForwardAsync(context, upstreamPorts, Interlocked.Increment(ref turn)));
        await proxy._app.StartAsync();
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    private async Task ForwardAsync(HttpContext context, int[] upstreamPorts, int turn)
    {
        var upstreamPort = upstreamPorts[turn % upstreamPorts.Length];
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        HttpRequestMessage Forward()
        {
            var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), $"http://127.0.0.1:{upstreamPort}{context.Request.Path}{context.Request.QueryString}")
            {
                Content = new ByteArrayContent(body.ToArray()),
            };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", context.Request.ContentType);
            request.Headers.TryAddWithoutValidation("Authorization", context.Request.Headers.Authorization.ToString());
            return request;
        }

        HttpResponseMessage response;
        try
        {
            response = await SendToAnyAsync();

            // Counted, not random, so every run has its faults: the 4th answer of every 10 is lost, every 7th request is sent twice.
            var n = Interlocked.Increment(ref _requests);
            if (n % 7 == 5)
            {
                // The same request again (a replay with the same token): A must refuse it and change nothing. With several hosts,
                // another host gets it: the replay guard is the store's, not a host's.
                Interlocked.Increment(ref _replayed);
                upstreamPort = upstreamPorts[(turn + 1) % upstreamPorts.Length];
                try
                {
                    (await _upstream.SendAsync(Forward())).Dispose();
                }
                catch (HttpRequestException)
                {
                    // That host is down: the replay never arrived.
                }
            }

            if (n % 10 == 3)
            {
                // A processed the request; its answer is lost on the way back.
                Interlocked.Increment(ref _dropped);
                response.Dispose();
                context.Abort();
                return;
            }
        }
        catch (HttpRequestException)
        {
            // A is down (killed): as if the network failed.
            context.Abort();
            return;
        }

        async Task<HttpResponseMessage> SendToAnyAsync()
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    return await _upstream.SendAsync(Forward());
                }
                catch (HttpRequestException e) when (i + 1 < upstreamPorts.Length && e.InnerException is System.Net.Sockets.SocketException)
                {
                    // Refused: that host is down. Nothing reached it, so the next one may take the request.
                    upstreamPort = upstreamPorts[(turn + i + 1) % upstreamPorts.Length];
                }
            }
        }

        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            await response.Content.CopyToAsync(context.Response.Body);
        }
    }
}

/// <summary>
/// Node A's and node B's stores of one private connection ("partner", the same id on both), A's bound system connection, and
/// the latest version queued of every case: the changes queued on A, and what B holds.
/// </summary>
public sealed class SyncFaultStores
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    public SyncFaultStores(string aPath, string bPath, Guid connectionId, Connection system)
    {
        APath = aPath;
        BPath = bPath;
        ConnectionId = connectionId;
        System = system;
    }

    public string APath { get; }

    public string BPath { get; }

    public Guid ConnectionId { get; }

    public Connection System { get; }

    /// <summary>The latest version queued of each case, by case id: what the last event of each case on B must hold.</summary>
    public Dictionary<string, int> Latest { get; } = new();

    public static string CaseId(int number) => $"500{number:D6}";

    /// <summary>
    /// Queues changes on A as a retrieval run would (the subject says the version: "v3"), and turns them into outgoing events.
    /// A version's change is stamped with a later modification time than the version before, so the newest change wins.
    /// </summary>
    public void Queue(ConnectionNode a, IReadOnlyCollection<(int Case, int Version)> changes)
    {
        a.Store.Write(tx =>
        {
            JobRows.CommitPage(tx, System.Id, 0, "Case",
                changes.Select(c => (CaseId(c.Case), Start.AddMinutes(c.Version), $$"""{"Id":"{{CaseId(c.Case)}}","CaseNumber":"{{c.Case}}","Subject":"v{{c.Version}}"}""")).ToList(),
                Start);
            return 0;
        });
        foreach (var (number, version) in changes)
        {
            var id = CaseId(number);
            Latest[id] = Math.Max(Latest.TryGetValue(id, out var known) ? known : 0, version);
        }

        OutgoingEvents.Produce(a, System);
    }

    public IReadOnlyList<SyncEvent> Incoming() => Read(BPath, db => SyncEventRows.List(db, ConnectionId, SyncDirection.Incoming));

    public long IncomingCount() => Read(BPath, db => SyncEventRows.Count(db, ConnectionId, SyncDirection.Incoming));

    public IReadOnlyList<SyncEvent> Outgoing() => Read(APath, db => SyncEventRows.List(db, ConnectionId, SyncDirection.Outgoing));

    /// <summary>Whether everything queued reached B: A holds no outgoing event, and B holds an event of every case queued.</summary>
    public bool Settled() => Outgoing().Count == 0 && Incoming().Select(e => e.CaseId).Distinct().Count() == Latest.Count;

    /// <summary>Waits until <see cref="Settled"/>; returns how long it took, or null if it did not within <paramref name="limit"/>.</summary>
    public async Task<TimeSpan?> SettleAsync(TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!Settled())
        {
            if (clock.Elapsed > limit)
            {
                return null;
            }

            await Task.Delay(250);
        }

        return clock.Elapsed;
    }

    /// <summary>
    /// What is wrong with B's incoming events, if anything: an event id stored twice; per case, sequence numbers that do not run
    /// 1, 2, 3... with no gap, or that were stored out of order; a last event that does not hold the latest version; a case missing.
    /// </summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        var events = Incoming();
        var twice = events.GroupBy(e => e.EventId).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (twice.Count > 0)
        {
            problems.Add($"{twice.Count} event id(s) stored more than once, e.g. {twice[0]}");
        }

        foreach (var group in events.GroupBy(e => e.CaseId))
        {
            // Listed in the order B stored them.
            var stored = group.Select(e => e.Sequence).ToList();
            if (!stored.SequenceEqual(Enumerable.Range(1, stored.Count).Select(s => (long)s)))
            {
                problems.Add($"case {group.Key}: sequences as stored on B are {string.Join(",", stored)}, not 1..{stored.Count} in order");
            }

            var last = group.OrderBy(e => e.Sequence).Last();
            var summary = (string?)global::System.Text.Json.Nodes.JsonNode.Parse(last.Replica!)!["summary"];
            if (!Latest.TryGetValue(group.Key, out var latest))
            {
                problems.Add($"case {group.Key}: on B but never queued on A");
            }
            else if (summary != $"v{latest}")
            {
                problems.Add($"case {group.Key}: the last event (#{last.Sequence}) holds {summary}, not the latest version v{latest}");
            }
        }

        var missing = Latest.Keys.Except(events.Select(e => e.CaseId)).ToList();
        if (missing.Count > 0)
        {
            problems.Add($"{missing.Count} case(s) queued on A never reached B, e.g. {missing[0]}");
        }

        return problems;
    }

    /// <summary>
    /// Pauses the private connection in one side's store (as Suspend-Connection does) for <paramref name="pause"/>, while
    /// <paramref name="changes"/> keep being queued on A in bursts; checks that nothing crosses meanwhile (B stores nothing new,
    /// A sends nothing); resumes (as Resume-Connection does) and waits until everything arrived, then checks B's events.
    /// </summary>
    public async Task<PausePhase> PauseAsync(bool onA, TimeSpan pause, IReadOnlyList<(int Case, int Version)> changes, TimeSpan settleLimit)
    {
        var phase = new PausePhase(onA ? "A" : "B");
        var target = new[] { ConnectionTarget.ByName("partner") };
        using (var paused = ConnectionNode.Open(new StoreLocation(onA ? APath : BPath, StoreSource.Session, create: false), actor: "pause"))
        {
            new ConnectionCommands(paused, new QuietHost()).Suspend(target, passThru: false);
        }

        // A round that read the status just before the pause may still finish: let it, before counting.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var before = IncomingCount();
        var clock = Stopwatch.StartNew();
        var bursts = changes.Chunk(Math.Max(1, changes.Count / 10)).ToList();
        using (var a = ConnectionNode.Open(new StoreLocation(APath, StoreSource.Session, create: false), actor: "retrieval"))
        {
            var next = 0;
            while (clock.Elapsed < pause)
            {
                if (next < bursts.Count && clock.Elapsed >= pause * 0.8 * next / bursts.Count)
                {
                    Queue(a, bursts[next++]);
                    phase.Queued += bursts[next - 1].Length;
                }

                var arrived = IncomingCount() - before;
                var sent = Outgoing().Count(e => e.Status != SyncEventStatus.Queued);
                phase.CrossedWhilePaused = Math.Max(phase.CrossedWhilePaused, arrived);
                phase.SentWhilePaused = Math.Max(phase.SentWhilePaused, sent);
                await Task.Delay(250);
            }

            while (next < bursts.Count)
            {
                Queue(a, bursts[next++]);
                phase.Queued += bursts[next - 1].Length;
            }
        }

        phase.WaitingAtResume = Outgoing().Count;
        phase.CrossedWhilePaused = Math.Max(phase.CrossedWhilePaused, IncomingCount() - before);
        using (var paused = ConnectionNode.Open(new StoreLocation(onA ? APath : BPath, StoreSource.Session, create: false), actor: "pause"))
        {
            new ConnectionCommands(paused, new QuietHost()).Resume(target, passThru: false);
        }

        phase.Settled = await SettleAsync(settleLimit);
        phase.Arrived = IncomingCount() - before;
        if (phase.CrossedWhilePaused > 0)
        {
            phase.Problems.Add($"{phase.CrossedWhilePaused} event(s) reached B while the connection was paused on {phase.Side}");
        }

        if (phase.SentWhilePaused > 0)
        {
            phase.Problems.Add($"A marked {phase.SentWhilePaused} event(s) Sent while the connection was paused on {phase.Side}");
        }

        if (phase.WaitingAtResume == 0)
        {
            phase.Problems.Add("A held no events at resume: the changes queued while paused were not queued as events");
        }

        if (phase.Settled is null)
        {
            phase.Problems.Add($"not everything arrived within {settleLimit.TotalSeconds:0} s of resuming on {phase.Side}");
        }

        phase.Problems.AddRange(Problems());
        return phase;
    }

    private static T Read<T>(string path, Func<StoreSession, T> read)
    {
        using var node = ConnectionNode.Open(new StoreLocation(path, StoreSource.Session, create: false), actor: "check");
        return node.Store.Read(read);
    }

    /// <summary>Suspend and Resume need a host; these run unattended.</summary>
    private sealed class QuietHost : IHostContext
    {
        public CancellationToken CancellationToken => CancellationToken.None;

        public void WriteObject(object value)
        {
        }

        public void WriteError(ConnectionToolsException error) => throw error;

        public void WriteWarning(string message)
        {
        }

        public void WriteVerbose(string message)
        {
        }

        public void WriteProgress(ProgressInfo progress)
        {
        }

        public bool ShouldProcess(string target, string action) => true;
    }
}

/// <summary>What one pause phase saw.</summary>
public sealed class PausePhase
{
    public PausePhase(string side) => Side = side;

    /// <summary>The side whose store paused the connection: "A" or "B".</summary>
    public string Side { get; }

    public int Queued { get; set; }

    public long CrossedWhilePaused { get; set; }

    public int SentWhilePaused { get; set; }

    public int WaitingAtResume { get; set; }

    public long Arrived { get; set; }

    public TimeSpan? Settled { get; set; }

    public List<string> Problems { get; } = new();

    public override string ToString() =>
        $"paused on {Side}: {Queued} change(s) queued while paused, {WaitingAtResume} event(s) waiting on A at resume, {CrossedWhilePaused} crossed while paused, " +
        $"{Arrived} arrived after resume in {(Settled is null ? "(did not settle)" : $"{Settled.Value.TotalSeconds:0.0} s")}; " +
        (Problems.Count == 0 ? "checks passed" : $"{Problems.Count} problem(s): {string.Join("; ", Problems.Take(5))}");
}
