using System.Diagnostics;

namespace ConnectionTools.Core.Tests;

/// <summary>Starts tests/ConnectionTools.TestProcess, which the build puts next to the test assembly.</summary>
internal static class TestProcess
{
    public static string AssemblyPath
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "ConnectionTools.TestProcess.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("The test process was not built next to the tests.", path);
        }
    }

    public static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(AssemblyPath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("could not start the test process");
    }
}
