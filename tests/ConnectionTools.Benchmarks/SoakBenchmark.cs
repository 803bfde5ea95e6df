using System.Diagnostics;
using System.Globalization;

/// <summary>
/// The store soak at full scale: the same harness as tests/Pester/StoreSoak.Tests.ps1 (tests/ConnectionTools.TestProcess,
/// "soak"), with real processes only, for 30 s (CONNECTIONTOOLS_SOAK_SECONDS to change it), then again with the node host
/// killed with SIGKILL half-way and restarted. Prints changes per second by kind of writer, acknowledged, lost, deleted -wal
/// sightings and integrity. Needs the module (out/ConnectionTools; published here if missing) and a pwsh:
/// CONNECTIONTOOLS_TEST_PWSH, else pwsh on PATH, else the repository's dotnet tool.
/// Measured on 2 shared cores (load average about 15), 6 private connections:
///   30 s:          4,130 acknowledged (exchanges 25.8/s, private side 25.8/s, short-lived TestProcess 0.9/s, short-lived pwsh 0.2/s,
///                  ForEach-Object -Parallel 71.4/s; 98 public store writes/s), lost 0, duplicate versions 0, store errors 0,
///                  integrity ok/ok, deleted -wal sightings 0 in 201 samples.
///   30 s, kill -9: 4,072 acknowledged (1,538 before the kill at 15 s), lost 0, integrity ok/ok, deleted -wal sightings 0.
/// </summary>
public static class SoakBenchmark
{
    public static async Task RunAsync()
    {
        var seconds = double.Parse(Environment.GetEnvironmentVariable("CONNECTIONTOOLS_SOAK_SECONDS") ?? "30", CultureInfo.InvariantCulture);
        var root = RepoRoot();
        var folder = Path.Combine(Path.GetTempPath(), "ct-bench-soak-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var tool = Path.Combine(folder, "tool");
            var node = Path.Combine(folder, "node");
            await Run("dotnet", root, "build", Path.Combine(root, "tests", "ConnectionTools.TestProcess"), "-c", "Release", "-o", tool, "-nologo", "-v", "q");
            await Run("dotnet", root, "build", Path.Combine(root, "src", "ConnectionTools.Node"), "-c", "Release", "-o", node, "-nologo", "-v", "q");
            var module = Path.Combine(root, "out", "ConnectionTools", "ConnectionTools.psd1");
            if (!File.Exists(module))
            {
                await Run("dotnet", root, "publish", Path.Combine(root, "src", "ConnectionTools.PowerShell"), "-c", "Release", "-nologo", "-v", "q");
            }

            var pwsh = await FindPwsh(root);
            var failed = false;
            foreach (var kill in new[] { false, true })
            {
                var arguments = new List<string>
                {
                    Path.Combine(tool, "ConnectionTools.TestProcess.dll"), "soak", "--seconds", seconds.ToString(CultureInfo.InvariantCulture),
                    "--work", Path.Combine(folder, kill ? "kill" : "soak"), "--node", Path.Combine(node, "ConnectionTools.Node.dll"),
                    "--module", module, "--pwsh", pwsh, "--summary", Path.Combine(folder, kill ? "kill.json" : "soak.json"),
                };
                if (kill)
                {
                    arguments.Add("--kill");
                }

                failed |= await Run("dotnet", root, arguments.ToArray(), throwOnFailure: false) != 0;
            }

            if (failed)
            {
                Console.WriteLine($"  the soak FAILED; its logs are kept in {folder}");
                Environment.ExitCode = 1;
                return;
            }
        }
        catch
        {
            Console.WriteLine($"  the soak could not run; its files are in {folder}");
            throw;
        }

        Directory.Delete(folder, recursive: true);
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ConnectionTools.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the soak runs from the repository (no ConnectionTools.sln above " + AppContext.BaseDirectory + ")");
    }

    private static async Task<string> FindPwsh(string root)
    {
        var configured = Environment.GetEnvironmentVariable("CONNECTIONTOOLS_TEST_PWSH");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        // The repository's local tool (dotnet tool restore; dotnet pwsh): its own pwsh executable sits in $PSHOME.
        await Run("dotnet", root, "tool", "restore");
        var output = new List<string>();
        await Run("dotnet", root, new[] { "pwsh", "-NoProfile", "-NonInteractive", "-Command", "Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })" }, true, output);
        return output.Last(l => l.Trim().Length > 0).Trim();
    }

    private static Task<int> Run(string file, string directory, params string[] arguments) => Run(file, directory, arguments, true);

    private static async Task<int> Run(string file, string directory, string[] arguments, bool throwOnFailure, List<string>? capture = null)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = directory, UseShellExecute = false, RedirectStandardOutput = capture != null };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        if (capture != null)
        {
            capture.AddRange((await process.StandardOutput.ReadToEndAsync()).Split('\n'));
        }

        await process.WaitForExitAsync();
        if (throwOnFailure && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}");
        }

        return process.ExitCode;
    }
}
