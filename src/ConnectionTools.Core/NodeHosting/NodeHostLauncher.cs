using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Http;
using ConnectionTools.Platform;

namespace ConnectionTools.NodeHosting
{
    /// <summary>
    /// Runs the node host that ships with the module as a process of its own: in the foreground (its log lines are the command's
    /// output; Ctrl+C stops it cleanly), or in the background (detached from the terminal, logging to a file), and stops it.
    /// </summary>
    public sealed class NodeHostLauncher
    {
        /// <summary>The node host's own shutdown timeout is .NET's default, 30 s; a stop waits this long before it ends the process.</summary>
        public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(45);

        private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
        private const int SigTerm = 15;

        private readonly NodeHostRuntime _runtime;
        private readonly IHostContext _host;

        public NodeHostLauncher(NodeHostRuntime runtime, IHostContext host)
        {
            _runtime = runtime;
            _host = host;
        }

        /// <summary>Runs the host until it ends or the user presses Ctrl+C, writing each line it prints as output.</summary>
        public void RunForeground(NodeHostSettings settings)
        {
            var start = StartInfo(settings, detach: false);
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            var lines = new BlockingCollection<KeyValuePair<bool, string>>();
            var errors = new List<string>();
            using (var process = new Process { StartInfo = start })
            {
                // The process's threads only queue lines: only this (the pipeline's) thread writes to the host.
                process.OutputDataReceived += (_, e) => { if (e.Data != null) { lines.Add(new KeyValuePair<bool, string>(false, e.Data)); } };
                process.ErrorDataReceived += (_, e) => { if (e.Data != null) { lines.Add(new KeyValuePair<bool, string>(true, e.Data)); } };
                process.Start();
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                _host.WriteVerbose($"Started the node host (process {process.Id}): {Describe(start)}");
                var token = _host.CancellationToken;
                while (!token.IsCancellationRequested)
                {
                    if (lines.TryTake(out var line, 200))
                    {
                        Write(line, errors);
                    }
                    else if (process.HasExited)
                    {
                        process.WaitForExit(); // the end of its output
                        while (lines.TryTake(out line))
                        {
                            Write(line, errors);
                        }

                        break;
                    }
                }

                if (token.IsCancellationRequested)
                {
                    // Ctrl+C: on Linux and macOS the terminal sent the host SIGINT too; SIGTERM does the same for any other caller.
                    Terminate(process, StopTimeout);
                    token.ThrowIfCancellationRequested();
                }

                if (process.ExitCode != 0)
                {
                    throw Exited(process.ExitCode, errors);
                }
            }
        }

        /// <summary>Starts the host detached from this session, waits until it is ready, and returns it.</summary>
        public NodeHostProcess StartBackground(NodeHostSettings settings)
        {
            // A PostgreSQL store has no folder of its own: its log goes beside its key file.
            var logPath = settings.LogPath ?? Path.Combine(Path.GetDirectoryName(settings.KeyFile ?? settings.StorePath)!, "node-host-" + (settings.Private ? "private" : settings.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)) + ".log");
            settings.LogPath = Path.GetFullPath(logPath);
            var start = StartInfo(settings, detach: true);
            var logStart = File.Exists(settings.LogPath) ? new FileInfo(settings.LogPath).Length : 0;
            using (var process = Process.Start(start)!)
            {
                _host.WriteVerbose($"Started the node host in the background (process {process.Id}), logging to {settings.LogPath}: {Describe(start)}");
                var result = new NodeHostProcess(process.Id, process.StartTime, settings.Private, settings.StorePath, settings.Private ? null : settings.LocalUrl, settings.PublicUrl, settings.LogPath);
                try
                {
                    WaitUntilReady(process, settings, logStart);
                }
                catch
                {
                    if (!process.HasExited)
                    {
                        Terminate(process, StopTimeout);
                    }

                    throw;
                }

                return result;
            }
        }

        /// <summary>Stops a node host: SIGTERM on Linux and macOS (a clean shutdown), ending the process after the timeout or on Windows.</summary>
        public static bool Stop(int processId, DateTime? startTime, TimeSpan timeout, IHostContext host)
        {
            Process process;
            try
            {
                process = Process.GetProcessById(processId);
            }
            catch (ArgumentException)
            {
                throw NotFound(processId, "no process has that id; it may have stopped already");
            }

            using (process)
            {
                if (startTime is DateTime started && !SameStart(process, started))
                {
                    throw NotFound(processId, "the node host with that id has stopped, and another process now has the id");
                }

                if (!IsNodeHost(process))
                {
                    throw NotFound(processId, $"process {processId} ({process.ProcessName}) is not a ConnectionTools node host");
                }

                if (!host.ShouldProcess($"node host process {processId}", "Stop"))
                {
                    return false;
                }

                if (!Terminate(process, timeout))
                {
                    host.WriteWarning($"The node host (process {processId}) did not stop within {timeout.TotalSeconds:0} s of SIGTERM and was ended. SQLite's journal keeps the store consistent; check it with Get-ConnectionNode -Check.");
                }

                return true;
            }
        }

        /// <summary>Whether the process with this id is still the one that started at <paramref name="startTime"/>.</summary>
        public static bool IsSameProcess(int processId, DateTime startTime)
        {
            try
            {
                using (var process = Process.GetProcessById(processId))
                {
                    return !process.HasExited && SameStart(process, startTime);
                }
            }
            catch (Exception e) when (e is ArgumentException || e is InvalidOperationException)
            {
                return false;
            }
        }

        private static bool SameStart(Process process, DateTime startTime)
        {
            try
            {
                return Math.Abs((process.StartTime - startTime).TotalSeconds) < 1;
            }
            catch (Exception e) when (e is InvalidOperationException || e is System.ComponentModel.Win32Exception)
            {
                return false;
            }
        }

        private static bool IsNodeHost(Process process)
        {
            var cmdline = "/proc/" + process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/cmdline";
            if (File.Exists(cmdline))
            {
                return File.ReadAllText(cmdline).Contains(NodeHostRuntime.AssemblyName);
            }

            // No /proc (macOS, Windows): the host runs as dotnet.
            return string.Equals(process.ProcessName, "dotnet", StringComparison.OrdinalIgnoreCase);
        }

        /// <summary>Asks the process to stop (SIGTERM) and waits; ends it when it has not stopped by then. False when it had to be ended.</summary>
        private static bool Terminate(Process process, TimeSpan timeout)
        {
            if (process.HasExited)
            {
                return true;
            }

            if (!UnixFile.IsWindows && Signals.Send(process.Id, SigTerm) && process.WaitForExit((int)timeout.TotalMilliseconds))
            {
                return true;
            }

            // Windows has no SIGTERM for a process without a console of ours; the store's journal makes an abrupt end safe.
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
                return true; // it ended meanwhile
            }

            process.WaitForExit(10000);
            return UnixFile.IsWindows;
        }

        private void WaitUntilReady(Process process, NodeHostSettings settings, long logStart)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                _host.CancellationToken.ThrowIfCancellationRequested();
                if (process.WaitForExit(250))
                {
                    throw Exited(process.ExitCode, LogTail(settings.LogPath!, logStart));
                }

                if (settings.Private ? LogTail(settings.LogPath!, logStart).Any(l => l.Contains("Application started")) : Healthy(settings.LocalUrl))
                {
                    return;
                }

                if (clock.Elapsed > ReadyTimeout)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.NodeHostNotReady,
                        ErrorKind.OperationTimeout,
                        $"The node host (process {process.Id}) did not become ready within {ReadyTimeout.TotalSeconds:0} s, so it was stopped. Its log: {settings.LogPath}",
                        settings.LogPath,
                        "Read the log for the reason, then start it again.");
                }
            }
        }

        private bool Healthy(Uri url)
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_host.CancellationToken))
            {
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                try
                {
                    using (var response = SharedHttp.Client.GetAsync(new Uri(url, "healthz"), timeout.Token).GetAwaiter().GetResult())
                    {
                        return response.IsSuccessStatusCode;
                    }
                }
                catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !_host.CancellationToken.IsCancellationRequested))
                {
                    return false; // not listening yet
                }
            }
        }

        private static List<string> LogTail(string path, long from)
        {
            try
            {
                using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                {
                    stream.Seek(Math.Min(from, stream.Length), SeekOrigin.Begin);
                    using (var reader = new StreamReader(stream, Encoding.UTF8))
                    {
                        return reader.ReadToEnd().Split(new[] { '\n' }, StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
                    }
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return new List<string>();
            }
        }

        private void Write(KeyValuePair<bool, string> line, List<string> errors)
        {
            if (line.Key)
            {
                errors.Add(line.Value);
                _host.WriteWarning(line.Value);
            }
            else
            {
                _host.WriteObject(line.Value);
            }
        }

        private static ConnectionToolsException Exited(int exitCode, IList<string> output)
        {
            var tail = string.Join(Environment.NewLine, output.Skip(Math.Max(0, output.Count - 20)));
            var reason = exitCode == 2 ? "its options were refused" : "it could not run";
            return new ConnectionToolsException(
                ErrorIds.NodeHostExited,
                ErrorKind.InvalidOperation,
                $"The node host ended with exit code {exitCode}: {reason}." + (tail.Length == 0 ? "" : Environment.NewLine + tail),
                exitCode,
                "Fix what its output names (above), then start it again.");
        }

        private static ConnectionToolsException NotFound(int processId, string reason) => new ConnectionToolsException(
            ErrorIds.NodeHostNotFound,
            ErrorKind.ObjectNotFound,
            $"No node host to stop with process id {processId}: {reason}.",
            processId,
            "Pass the object Start-ConnectionNodeHost -Background returned, or the id of a running node host.");

        private ProcessStartInfo StartInfo(NodeHostSettings settings, bool detach)
        {
            var arguments = new List<string> { _runtime.NodeAssembly };
            arguments.AddRange(settings.Arguments());
            var file = _runtime.DotnetPath;
            // In the background, the host gets a session of its own: Ctrl+C in this terminal, or closing it, must not stop it.
            var setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);
            if (detach && !UnixFile.IsWindows && setsid != null)
            {
                arguments.Insert(0, file);
                file = setsid;
            }

            var start = new ProcessStartInfo(file, string.Join(" ", arguments.Select(Quote)))
            {
                UseShellExecute = false,
                CreateNoWindow = detach,
                WorkingDirectory = Path.GetDirectoryName(_runtime.NodeAssembly)!,
            };
            start.Environment["DOTNET_ROOT"] = _runtime.DotnetRoot;
            if (settings.DatabaseCredential is { } credential && credential.Password.Length > 0)
            {
                start.Environment["PGPASSWORD"] = credential.Password;
            }

            if (detach)
            {
                start.Environment["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled";
            }

            return start;
        }

        private static string Describe(ProcessStartInfo start) => start.FileName + " " + start.Arguments;

        /// <summary>Quotes one argument the way the process's parser (CommandLineToArgvW's rules, which .NET uses everywhere) reads it back.</summary>
        internal static string Quote(string argument)
        {
            if (argument.Length > 0 && argument.IndexOfAny(new[] { ' ', '\t', '\n', '"' }) < 0)
            {
                return argument;
            }

            var quoted = new StringBuilder("\"");
            var backslashes = 0;
            foreach (var c in argument)
            {
                if (c == '\\')
                {
                    backslashes++;
                    continue;
                }

                quoted.Append('\\', c == '"' ? (backslashes * 2) + 1 : backslashes);
                backslashes = 0;
                quoted.Append(c);
            }

            return quoted.Append('\\', backslashes * 2).Append('"').ToString();
        }
    }
}
