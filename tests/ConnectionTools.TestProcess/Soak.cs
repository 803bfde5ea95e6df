using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;

/// <summary>
/// The store soak, with real processes only. One public store served by the node host (jobs on, --job-poll 1) and changed
/// at the same time by: private-side processes that change their side and exchange status through the host ("X" acks the
/// host committed; "P" their own store), short-lived processes (a new one every few changes: "S" TestProcess bursts and "Q"
/// pwsh bursts through the module's cmdlets), and one long pwsh session running ForEach-Object -Parallel ("W"). A monitor
/// samples /proc/&lt;pid&gt;/fd of every one of them for a deleted -wal/-shm/db of the stores. At the end the host is stopped
/// with SIGTERM, and a fresh process (soak-verify) checks every acknowledged change against the audit, the versions, and
/// PRAGMA integrity_check. With --kill, the node host is killed with SIGKILL half-way through and restarted on the same store.
///
///   soak --seconds N --work DIR --node ConnectionTools.Node.dll --module ConnectionTools.psd1 --pwsh PATH
///        [--kill] [--connections 6] [--private 2] [--parallel 3] [--summary FILE]
/// Prints the figures; the summary file (JSON) holds them for Pester. Exit code 0 when every check passed.
/// </summary>
internal static class Soak
{
    private const int SigTerm = 15;

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        var work = Path.GetFullPath(options.Work);
        Directory.CreateDirectory(work);
        var logs = Path.Combine(work, "logs");
        Directory.CreateDirectory(logs);
        var publicStore = Path.Combine(work, "public", "store.db");
        var privateStore = Path.Combine(work, "private", "store.db");
        Directory.CreateDirectory(Path.GetDirectoryName(publicStore)!);
        Directory.CreateDirectory(Path.GetDirectoryName(privateStore)!);
        var tool = typeof(Soak).Assembly.Location;
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}/";
        var watched = new ConcurrentDictionary<int, string>();
        var summary = new Dictionary<string, object?>
        {
            ["seconds"] = options.Seconds,
            ["kill"] = options.Kill,
            ["connections"] = options.Connections,
        };
        var failures = new List<string>();

        Process? nodeHost = null;
        var children = new ConcurrentBag<Process>();
        var monitor = new FdMonitor(work, watched);
        try
        {
            nodeHost = await StartNodeHostAsync(options, publicStore, url, port, logs, 1, watched);

            // The connections: created on the public store, accepted from the private one through the host.
            var setup = await RunToolAsync(tool, new[] { "soak-setup", publicStore, privateStore, options.Connections.ToString(CultureInfo.InvariantCulture) }, TimeSpan.FromMinutes(3));
            if (setup.ExitCode != 0)
            {
                throw new InvalidOperationException($"soak-setup failed ({setup.ExitCode}): {setup.Error}{setup.Output}");
            }

            var names = Enumerable.Range(0, options.Connections).Select(i => $"peer-{i:00}").ToArray();

            // The long pwsh session: started first, since importing the module takes a while; it waits for the deadline on stdin.
            var parallelScript = Path.Combine(work, "StoreSoak.Parallel.ps1");
            await File.WriteAllTextAsync(parallelScript, ParallelScript);
            var burstScript = Path.Combine(work, "StoreSoak.Burst.ps1");
            await File.WriteAllTextAsync(burstScript, BurstScript);
            var session = Start(options.Pwsh, new[] { "-NoProfile", "-NonInteractive", "-File", parallelScript, "-Module", options.Module, "-Store", publicStore, "-LogFolder", logs, "-Names", string.Join(',', names), "-Throttle", options.Parallel.ToString(CultureInfo.InvariantCulture) }, redirectInput: true);
            children.Add(session);
            watched[session.Id] = "pwsh -Parallel session";
            var sessionError = session.StandardError.ReadToEndAsync();
            var ready = await session.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(3));
            if (ready != "ready")
            {
                throw new InvalidOperationException($"the pwsh session did not start: {ready} {await sessionError}");
            }

            var sessionOutput = session.StandardOutput.ReadToEndAsync();

            var started = SoakWriters.Now();
            var deadline = started + (long)(options.Seconds * 1000);
            await session.StandardInput.WriteLineAsync(deadline.ToString(CultureInfo.InvariantCulture));
            await session.StandardInput.FlushAsync();
            monitor.Start();

            // Private sides: each owns some of the connections, so that its exchanges are ordered.
            var privateLoops = new List<Task<(int ExitCode, string Output, string Error)>>();
            for (var p = 0; p < options.Private; p++)
            {
                var mine = names.Where((_, i) => i % options.Private == p).ToArray();
                // With --kill, the private sides keep exchanging a while longer, so that the restarted host serves some (a slow restart
                // on a loaded machine would otherwise come after their deadline).
                var privateDeadline = deadline + (options.Kill ? 10_000 : 0);
                privateLoops.Add(RunToolAsync(tool, new[] { "soak-private", privateStore, privateDeadline.ToString(CultureInfo.InvariantCulture), Path.Combine(logs, $"private-{p}.log"), string.Join(',', mine) }, TimeSpan.FromSeconds(options.Seconds + 180), watched, "private side"));
            }

            // Short-lived processes, one after another: a pwsh burst of 3 through the cmdlets, then three TestProcess bursts of 5.
            // The pwsh burst comes first, and the first TestProcess burst runs even after the deadline: on a loaded machine one pwsh
            // burst alone can outlast a 10 s run, and the run must still have one of each.
            var bursts = Task.Run(async () =>
            {
                var count = 0;
                var pwshBursts = 0;
                while (SoakWriters.Now() < deadline || count < 2)
                {
                    count++;
                    if (count % 4 == 1)
                    {
                        pwshBursts++;
                        var r = await RunAsync(options.Pwsh, new[] { "-NoProfile", "-NonInteractive", "-File", burstScript, "-Module", options.Module, "-Store", publicStore, "-Log", Path.Combine(logs, $"burst-pwsh-{count}.log"), "-Names", string.Join(',', names), "-Count", "3" }, TimeSpan.FromMinutes(2), watched, "short-lived pwsh");
                        if (r.ExitCode != 0)
                        {
                            lock (failures)
                            {
                                failures.Add($"a short-lived pwsh exited with {r.ExitCode}: {r.Error}");
                            }
                        }
                    }
                    else
                    {
                        var r = await RunToolAsync(tool, new[] { "soak-burst", publicStore, "5", Path.Combine(logs, $"burst-{count}.log"), string.Join(',', names) }, TimeSpan.FromMinutes(2), watched, "short-lived TestProcess");
                        if (r.ExitCode != 0)
                        {
                            lock (failures)
                            {
                                failures.Add($"a short-lived TestProcess exited with {r.ExitCode}: {r.Error}");
                            }
                        }
                    }
                }

                return (count, pwshBursts);
            });

            long? killedAt = null;
            if (options.Kill)
            {
                // Mid-way, while exchanges are being committed: SIGKILL, a moment without a host, then a restart on the same store.
                // Not before the first exchange is acknowledged: on a loaded machine the private sides can take seconds to start.
                await Task.Delay(TimeSpan.FromSeconds(options.Seconds / 2));
                var waitForExchange = Stopwatch.StartNew();
                while (!AnyExchangeAcknowledged(logs) && waitForExchange.Elapsed < TimeSpan.FromSeconds(60))
                {
                    await Task.Delay(100);
                }

                killedAt = SoakWriters.Now();
                nodeHost.Kill();
                await nodeHost.WaitForExitAsync();
                watched.TryRemove(nodeHost.Id, out _);
                summary["killedHostExitCode"] = nodeHost.ExitCode;
                await Task.Delay(500);
                nodeHost = await StartNodeHostAsync(options, publicStore, url, port, logs, 2, watched);
                summary["restartedAt"] = SoakWriters.Now() - started;
            }

            var loopResults = await Task.WhenAll(privateLoops);
            var (burstCount, pwshBurstCount) = await bursts;
            if (!session.WaitForExit(120_000))
            {
                failures.Add("the pwsh -Parallel session did not finish within 2 minutes of the deadline");
                session.Kill(entireProcessTree: true);
            }

            var finished = SoakWriters.Now();
            summary["sessionExitCode"] = session.ExitCode;
            if (session.ExitCode != 0)
            {
                failures.Add($"the pwsh -Parallel session exited with {session.ExitCode}: {await sessionError}");
            }

            _ = await sessionOutput;
            for (var p = 0; p < loopResults.Length; p++)
            {
                if (loopResults[p].ExitCode != 0)
                {
                    failures.Add($"private side {p} exited with {loopResults[p].ExitCode}: {loopResults[p].Error}");
                }
            }

            // SIGTERM, as a service manager stops it: the host closes the store itself.
            _ = Kill(nodeHost.Id, SigTerm);
            if (!nodeHost.WaitForExit(30_000))
            {
                failures.Add("the node host did not stop within 30 s of SIGTERM");
                nodeHost.Kill();
            }

            monitor.Stop();
            summary["hostExitCode"] = nodeHost.ExitCode;
            if (nodeHost.ExitCode != 0)
            {
                failures.Add($"the node host exited with {nodeHost.ExitCode} after SIGTERM");
            }

            summary["elapsedSeconds"] = Math.Round((finished - started) / 1000.0, 1);
            summary["shortLivedProcesses"] = burstCount;
            summary["shortLivedPwsh"] = pwshBurstCount;
            summary["fdSamples"] = monitor.Samples;
            summary["walDescriptorsSeen"] = monitor.WalSeen;
            summary["deletedWalSightings"] = monitor.Deleted.Count;
            summary["deletedWalExamples"] = monitor.Deleted.Take(5).ToList();
            if (monitor.Deleted.Count > 0)
            {
                failures.Add($"{monitor.Deleted.Count} sighting(s) of a deleted store file held open, the first: {monitor.Deleted.First()}");
            }

            if (monitor.Samples == 0 || monitor.WalSeen == 0)
            {
                failures.Add($"the /proc monitor saw nothing ({monitor.Samples} samples, {monitor.WalSeen} -wal descriptors): it proves nothing");
            }

            // The host's own logs: no failure, and no store error.
            var hostLog = string.Join('\n', Directory.GetFiles(logs, "node-host-*.log").Select(File.ReadAllText));
            var hostFailures = hostLog.Split('\n').Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal) || l.Contains("ConnectionTools.Store.", StringComparison.Ordinal)).ToList();
            summary["hostLogFailures"] = hostFailures.Count;
            if (hostFailures.Count > 0)
            {
                failures.Add($"the node host logged {hostFailures.Count} failure(s), the first: {hostFailures[0]}");
            }

            // Everything acknowledged, checked from a fresh process once every writer is gone.
            var verify = await RunToolAsync(tool, new[] { "soak-verify", publicStore, privateStore, logs, started.ToString(CultureInfo.InvariantCulture), (killedAt ?? 0).ToString(CultureInfo.InvariantCulture), (finished - started).ToString(CultureInfo.InvariantCulture) }, TimeSpan.FromMinutes(3));
            if (verify.ExitCode != 0 && verify.Output.Trim().Length == 0)
            {
                throw new InvalidOperationException($"soak-verify failed ({verify.ExitCode}): {verify.Error}");
            }

            using var figures = JsonDocument.Parse(verify.Output);
            foreach (var property in figures.RootElement.EnumerateObject())
            {
                if (property.Name == "failures")
                {
                    failures.AddRange(property.Value.EnumerateArray().Select(f => f.GetString()!));
                }
                else
                {
                    summary[property.Name] = property.Value.Clone();
                }
            }
        }
        catch (Exception e)
        {
            failures.Add("the soak could not run: " + e);
        }
        finally
        {
            monitor.Stop();
            foreach (var child in children.Append(nodeHost))
            {
                if (child is { HasExited: false })
                {
                    child.Kill(entireProcessTree: true);
                }
            }
        }

        summary["failures"] = failures;
        summary["passed"] = failures.Count == 0;
        var json = JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true });
        if (options.Summary != null)
        {
            await File.WriteAllTextAsync(options.Summary, json);
        }

        Print(summary, failures);
        return failures.Count == 0 ? 0 : 1;
    }

    private static void Print(Dictionary<string, object?> s, List<string> failures)
    {
        string Get(string key) => s.TryGetValue(key, out var v) ? Convert.ToString(v is JsonElement e ? e.ToString() : v, CultureInfo.InvariantCulture) ?? "" : "?";
        Console.WriteLine($"Store soak{(Get("kill") == "True" ? " with kill -9 of the node host mid-way" : "")}: {Get("runSeconds")} s of changes ({Get("elapsedSeconds")} s with wind-down), {Get("connections")} private connections, node host with jobs on");
        if (s.TryGetValue("kinds", out var kinds) && kinds is JsonElement k)
        {
            foreach (var kind in k.EnumerateObject())
            {
                Console.WriteLine($"  {kind.Name,-44} acknowledged {kind.Value.GetProperty("acknowledged").GetInt32(),6}  {kind.Value.GetProperty("perSecond").GetDouble(),7:0.0}/s  lost {kind.Value.GetProperty("lost").GetInt32()}");
            }
        }

        Console.WriteLine($"  acknowledged {Get("acknowledged")}, lost {Get("lost")}; short-lived processes {Get("shortLivedProcesses")} ({Get("shortLivedPwsh")} pwsh); public store writes {Get("publicAuditEntries")} audit entries, {Get("publicChangesPerSecond")}/s");
        Console.WriteLine($"  duplicate versions {Get("duplicateVersions")}, version/audit mismatches {Get("versionMismatches")}, store errors seen by writers {Get("storeErrors")}, other errors {Get("otherErrors")} (peer unreachable while the host was down: {Get("unreachableErrors")})");
        Console.WriteLine($"  integrity_check: public {Get("publicIntegrity")}, private {Get("privateIntegrity")}; deleted -wal/-shm sightings {Get("deletedWalSightings")} in {Get("fdSamples")} /proc samples ({Get("walDescriptorsSeen")} live -wal descriptors seen)");
        if (Get("kill") == "True")
        {
            Console.WriteLine($"  kill -9 at {Get("killedAfterMs")} ms: {Get("acknowledgedBeforeKill")} changes acknowledged before it, lost {Get("lostBeforeKill")}; restarted host ran quick_check and served again (exit code after SIGTERM {Get("hostExitCode")})");
        }

        Console.WriteLine(failures.Count == 0 ? "  PASSED" : "  FAILED:\n    " + string.Join("\n    ", failures));
    }

    private static async Task<Process> StartNodeHostAsync(Options options, string store, string url, int port, string logs, int generation, ConcurrentDictionary<int, string> watched)
    {
        var process = Start("dotnet", new[] { options.Node, "--store", store, "--create", "--public-url", url, "--urls", $"http://127.0.0.1:{port}", "--job-poll", "1" }, redirectInput: false);
        watched[process.Id] = "node host";
        var log = Path.Combine(logs, $"node-host-{generation}.log");
        var gate = new object();
        void Append(string? line)
        {
            if (line != null)
            {
                lock (gate)
                {
                    File.AppendAllText(log, line + Environment.NewLine);
                }
            }
        }

        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (!await Listening(port))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the node host exited ({process.ExitCode}) before it listened; see {log}");
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new InvalidOperationException($"the node host did not listen within 2 minutes; see {log}");
            }

            await Task.Delay(100);
        }

        return process;
    }

    private static async Task<bool> Listening(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(1));
            return true;
        }
        catch (Exception e) when (e is SocketException or TimeoutException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static Process Start(string file, IEnumerable<string> arguments, bool redirectInput)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = redirectInput, UseShellExecute = false };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        // Quieter hosts: only warnings and failures, which the soak reads.
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
    }

    private static Task<(int ExitCode, string Output, string Error)> RunToolAsync(string tool, string[] arguments, TimeSpan timeout, ConcurrentDictionary<int, string>? watched = null, string? what = null) =>
        RunAsync("dotnet", new[] { tool }.Concat(arguments).ToArray(), timeout, watched, what);

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, string[] arguments, TimeSpan timeout, ConcurrentDictionary<int, string>? watched = null, string? what = null)
    {
        using var process = Start(file, arguments, redirectInput: false);
        if (watched != null)
        {
            watched[process.Id] = what ?? file;
        }

        try
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            try
            {
                await process.WaitForExitAsync().WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                return (-1, await output, "timed out after " + timeout + ": " + await error);
            }

            return (process.ExitCode, await output, await error);
        }
        finally
        {
            watched?.TryRemove(process.Id, out _);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Samples /proc/&lt;pid&gt;/fd of every watched process and its descendants for store files that were deleted while open.</summary>
    private sealed class FdMonitor(string folder, ConcurrentDictionary<int, string> watched)
    {
        private CancellationTokenSource? _stop;
        private Task? _loop;

        public int Samples { get; private set; }

        public long WalSeen { get; private set; }

        public ConcurrentQueue<string> Deleted { get; } = new();

        public void Start()
        {
            if (!OperatingSystem.IsLinux())
            {
                return;
            }

            _stop = new CancellationTokenSource();
            var token = _stop.Token;
            _loop = Task.Run(async () =>
            {
                while (!token.IsCancellationRequested)
                {
                    Sample();
                    try
                    {
                        await Task.Delay(50, token);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            });
        }

        public void Stop()
        {
            if (_stop is { IsCancellationRequested: false })
            {
                _stop.Cancel();
                _loop!.Wait();
                Sample();
            }
        }

        private void Sample()
        {
            var pids = new HashSet<int>(watched.Keys) { Environment.ProcessId };
            var queue = new Queue<int>(pids);
            while (queue.Count > 0)
            {
                foreach (var child in Children(queue.Dequeue()))
                {
                    if (pids.Add(child))
                    {
                        queue.Enqueue(child);
                    }
                }
            }

            foreach (var pid in pids)
            {
                string[] fds;
                try
                {
                    fds = Directory.GetFiles($"/proc/{pid}/fd");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }

                foreach (var fd in fds)
                {
                    string? target;
                    try
                    {
                        target = new FileInfo(fd).LinkTarget;
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        continue;
                    }

                    if (target is null || !target.StartsWith(folder, StringComparison.Ordinal) || !target.Contains("store.db", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    if (target.EndsWith("(deleted)", StringComparison.Ordinal))
                    {
                        Deleted.Enqueue($"pid {pid} ({(watched.TryGetValue(pid, out var what) ? what : "child")}) {fd} -> {target}");
                    }
                    else if (target.EndsWith("-wal", StringComparison.Ordinal))
                    {
                        WalSeen++;
                    }
                }
            }

            Samples++;
        }

        private static IEnumerable<int> Children(int pid)
        {
            var found = new List<int>();
            try
            {
                foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
                {
                    var text = File.ReadAllText(Path.Combine(task, "children"));
                    found.AddRange(text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture)));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }

            return found;
        }
    }

    private sealed record Options(double Seconds, string Work, string Node, string Module, string Pwsh, bool Kill, int Connections, int Private, int Parallel, string? Summary)
    {
        public static Options Parse(string[] args)
        {
            var values = new Dictionary<string, string>();
            var kill = false;
            for (var i = 1; i < args.Length; i++)
            {
                if (args[i] == "--kill")
                {
                    kill = true;
                }
                else
                {
                    values[args[i]] = args[++i];
                }
            }

            string Need(string key) => values.TryGetValue(key, out var v) ? v : throw new ArgumentException($"soak needs {key}");
            int Int(string key, int fallback) => values.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
            return new Options(
                double.Parse(Need("--seconds"), CultureInfo.InvariantCulture),
                Need("--work"),
                Path.GetFullPath(Need("--node")),
                Path.GetFullPath(Need("--module")),
                Need("--pwsh"),
                kill,
                Int("--connections", 6),
                Int("--private", 2),
                Int("--parallel", 3),
                values.TryGetValue("--summary", out var s) ? s : null);
        }
    }

    /// <summary>Whether a private side has logged an exchange the host acknowledged ("X" lines of private-*.log).</summary>
    private static bool AnyExchangeAcknowledged(string logs)
    {
        foreach (var file in Directory.GetFiles(logs, "private-*.log"))
        {
            using var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            string? line;
            while ((line = reader.ReadLine()) != null)
            {
                if (line.StartsWith("X\t", StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// One suspend or resume of a random connection through the cmdlets, shared by both scripts: logs a change under
    /// <c>$Tag</c> only when the cmdlet's verbose message says it was committed ("Suspend: connection 'x': ... (version N)."),
    /// logs every error, and returns how many changes took effect.
    /// </summary>
    private const string ChangeFunction = """
        function Invoke-SoakChange {
            param([string[]] $Names, [Random] $Random, [IO.StreamWriter] $Log, [string] $Tag)
            $name = $Names[$Random.Next($Names.Count)]
            $problems = @()
            $current = Get-Connection -Name $name -ErrorAction SilentlyContinue -ErrorVariable +problems
            $records = @()
            if ($null -ne $current) {
                $records = if ($current.Status -eq 'Active') {
                    Suspend-Connection -Name $name -Verbose -ErrorAction SilentlyContinue -ErrorVariable +problems 4>&1
                } else {
                    Resume-Connection -Name $name -Verbose -ErrorAction SilentlyContinue -ErrorVariable +problems 4>&1
                }
            }
            $now = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
            $actor = [Environment]::UserName
            $made = 0
            foreach ($record in $records) {
                if ($record -is [System.Management.Automation.VerboseRecord] -and $record.Message -match "^(Suspend|Resume): connection '(.+)': .*\(version (\d+)\)\.$") {
                    $Log.WriteLine("$Tag`t$now`t$actor`t$($Matches[2])`t$($Matches[3])")
                    $made++
                }
            }
            foreach ($problem in $problems) {
                $Log.WriteLine("E`t$now`t$actor`t$($problem.FullyQualifiedErrorId)`t$($problem.Exception.Message -replace '\s+', ' ')")
            }
            $made
        }

        """;

    /// <summary>The long pwsh session: imports the module, says "ready", reads the deadline, then changes the public store from ForEach-Object -Parallel runspaces.</summary>
    private const string ParallelScript = """
        param([string] $Module, [string] $Store, [string] $LogFolder, [string] $Names, [int] $Throttle)

        """ + ChangeFunction + """
        $ErrorActionPreference = 'Stop'
        Import-Module -Name $Module
        $null = Connect-ConnectionNode -StorePath $Store
        [Console]::Out.WriteLine('ready')
        [Console]::Out.Flush()
        $deadline = [long][Console]::In.ReadLine()
        $nameList = $Names -split ','
        # Runspaces of -Parallel see no functions of this one: each defines the shared one from its text.
        $changeFunction = ${function:Invoke-SoakChange}.ToString()
        1..$Throttle | ForEach-Object -ThrottleLimit $Throttle -Parallel {
            $ErrorActionPreference = 'Continue'
            ${function:Invoke-SoakChange} = [scriptblock]::Create($using:changeFunction)
            Import-Module -Name $using:Module
            $null = Connect-ConnectionNode -StorePath $using:Store
            $end = $using:deadline
            $log = [IO.StreamWriter]::new([IO.FileStream]::new((Join-Path $using:LogFolder "parallel-$PID-$_.log"), 'Append', 'Write', 'ReadWrite'))
            $log.AutoFlush = $true
            $random = [Random]::new($_)
            try {
                while ([DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() -lt $end) {
                    $null = Invoke-SoakChange -Names $using:nameList -Random $random -Log $log -Tag 'W'
                }
            }
            finally {
                $log.Dispose()
            }
        }
        """;

    /// <summary>A short-lived pwsh: imports the module, makes a few changes through the cmdlets, logs them, and exits.</summary>
    private const string BurstScript = """
        param([string] $Module, [string] $Store, [string] $Log, [string] $Names, [int] $Count)

        """ + ChangeFunction + """
        $ErrorActionPreference = 'Stop'
        Import-Module -Name $Module
        $null = Connect-ConnectionNode -StorePath $Store
        $ErrorActionPreference = 'Continue'
        $writer = [IO.StreamWriter]::new([IO.FileStream]::new($Log, 'Append', 'Write', 'ReadWrite'))
        $writer.AutoFlush = $true
        $random = [Random]::new()
        try {
            # Until Count changes took effect: another writer may flip a connection between Get-Connection and the change.
            $made = 0
            for ($i = 0; $made -lt $Count -and $i -lt 4 * $Count; $i++) {
                $made += Invoke-SoakChange -Names ($Names -split ',') -Random $random -Log $writer -Tag 'Q'
            }
        }
        finally {
            $writer.Dispose()
        }
        """;
}
