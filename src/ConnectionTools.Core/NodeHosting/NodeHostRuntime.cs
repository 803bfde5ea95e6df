using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using ConnectionTools.Errors;
using ConnectionTools.Platform;

namespace ConnectionTools.NodeHosting
{
    /// <summary>
    /// What starts the node host that ships in the module's node/ folder: a dotnet host with the .NET 10 ASP.NET Core runtime
    /// (the node host is framework-dependent, so the module stays one package for every platform).
    /// </summary>
    public sealed class NodeHostRuntime
    {
        public const string AssemblyName = "ConnectionTools.Node.dll";
        public const string Download = "https://dotnet.microsoft.com/download/dotnet/10.0";
        private const string AspNetCoreFramework = "Microsoft.AspNetCore.App";
        private const int RequiredMajor = 10;

        private NodeHostRuntime(string dotnetPath, string dotnetRoot, string nodeAssembly, string aspNetCoreVersion)
        {
            DotnetPath = dotnetPath;
            DotnetRoot = dotnetRoot;
            NodeAssembly = nodeAssembly;
            AspNetCoreVersion = aspNetCoreVersion;
        }

        /// <summary>The dotnet executable that runs the node host.</summary>
        public string DotnetPath { get; }

        /// <summary>The folder of that dotnet; its shared/ folder holds the runtimes. The node host is given it as DOTNET_ROOT.</summary>
        public string DotnetRoot { get; }

        /// <summary>node/ConnectionTools.Node.dll in the module folder.</summary>
        public string NodeAssembly { get; }

        /// <summary>The highest 10.x ASP.NET Core runtime found (the host rolls forward to the newest patch).</summary>
        public string AspNetCoreVersion { get; }

        /// <summary>
        /// Finds the node host in <paramref name="moduleFolder"/> and a dotnet with the ASP.NET Core 10 runtime. DOTNET_ROOT, when set,
        /// is the only place looked at: an admin who sets it means that dotnet. Reads folders only; starts no process.
        /// </summary>
        public static NodeHostRuntime Find(string moduleFolder, Func<string, string?> getEnvironmentVariable)
        {
            var nodeAssembly = Path.Combine(Path.Combine(moduleFolder, "node"), AssemblyName);
            if (!File.Exists(nodeAssembly))
            {
                throw new ConnectionToolsException(
                    ErrorIds.NodeHostMissing,
                    ErrorKind.ObjectNotFound,
                    $"The node host is not in the module folder: '{nodeAssembly}' does not exist.",
                    nodeAssembly,
                    "Install the module again (Install-PSResource ConnectionTools -Reinstall), or build it with ./build.ps1, which publishes the node host into node/.");
            }

            var looked = new List<string>();
            foreach (var root in CandidateRoots(getEnvironmentVariable))
            {
                looked.Add(root);
                var dotnet = Path.Combine(root, UnixFile.IsWindows ? "dotnet.exe" : "dotnet");
                var version = AspNetCoreVersionIn(root);
                if (File.Exists(dotnet) && version != null)
                {
                    return new NodeHostRuntime(dotnet, root, nodeAssembly, version);
                }
            }

            throw new ConnectionToolsException(
                ErrorIds.NodeHostRuntimeMissing,
                ErrorKind.ObjectNotFound,
                $"The node host needs the .NET {RequiredMajor} ASP.NET Core runtime ({AspNetCoreFramework} {RequiredMajor}.x), which was not found. Looked in: " +
                (looked.Count == 0 ? "no dotnet folder was found" : string.Join(", ", looked.Distinct(UnixFile.PathComparer))) + ".",
                AspNetCoreFramework,
                $"Install the ASP.NET Core Runtime {RequiredMajor}.0 from {Download} (or the .NET {RequiredMajor} SDK), or set DOTNET_ROOT to the folder of a dotnet that has it. 'dotnet --list-runtimes' shows what is installed.");
        }

        private static IEnumerable<string> CandidateRoots(Func<string, string?> getEnvironmentVariable)
        {
            var fromEnvironment = getEnvironmentVariable("DOTNET_ROOT");
            if (!string.IsNullOrWhiteSpace(fromEnvironment))
            {
                yield return Path.GetFullPath(fromEnvironment!.Trim());
                yield break;
            }

            // pwsh run as a dotnet tool ('dotnet pwsh') is the dotnet process itself.
            string? processPath = null;
            try
            {
                using (var process = Process.GetCurrentProcess())
                {
                    processPath = process.MainModule?.FileName;
                }
            }
            catch (Exception e) when (e is InvalidOperationException || e is System.ComponentModel.Win32Exception || e is NotSupportedException)
            {
                // Not readable here: the other places remain.
            }

            if (processPath != null && string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.OrdinalIgnoreCase))
            {
                yield return Path.GetDirectoryName(UnixFile.RealPath(processPath))!;
            }

            var path = getEnvironmentVariable("PATH") ?? "";
            foreach (var folder in path.Split(new[] { Path.PathSeparator }, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(folder.Trim(), UnixFile.IsWindows ? "dotnet.exe" : "dotnet");
                if (File.Exists(candidate))
                {
                    // /usr/bin/dotnet is usually a link into the install folder.
                    yield return Path.GetDirectoryName(UnixFile.RealPath(candidate))!;
                }
            }

            if (UnixFile.IsWindows)
            {
                var programFiles = getEnvironmentVariable("ProgramFiles");
                if (!string.IsNullOrEmpty(programFiles))
                {
                    yield return Path.Combine(programFiles!, "dotnet");
                }
            }
            else
            {
                yield return "/usr/share/dotnet";
                yield return "/usr/lib/dotnet";
                yield return "/usr/local/share/dotnet";
                var home = getEnvironmentVariable("HOME");
                if (!string.IsNullOrEmpty(home))
                {
                    yield return Path.Combine(home!, ".dotnet");
                }
            }
        }

        private static string? AspNetCoreVersionIn(string root)
        {
            var folder = Path.Combine(Path.Combine(root, "shared"), AspNetCoreFramework);
            if (!Directory.Exists(folder))
            {
                return null;
            }

            return Directory.GetDirectories(folder)
                .Select(Path.GetFileName)
                .Select(name => (Name: name, Version: Version.TryParse(name.Split('-')[0], out var v) ? v : null))
                .Where(v => v.Version != null && v.Version.Major == RequiredMajor)
                .OrderByDescending(v => v.Version)
                .Select(v => v.Name)
                .FirstOrDefault();
        }
    }
}
