using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security;
using System.Text;
using ConnectionTools.Errors;
using ConnectionTools.Platform;

namespace ConnectionTools.NodeHosting
{
    /// <summary>
    /// A service definition for the node host on this platform: a systemd unit (Type=notify: the host tells systemd when it is
    /// ready and stops on SIGTERM), a launchd plist, or what New-Service registers on Windows. Always the same command line as
    /// Start-ConnectionNodeHost, without --log: the journal, launchd's log files or the event log take the log.
    /// </summary>
    public sealed class NodeServiceDefinition
    {
        /// <summary>systemd waits this long after SIGTERM; the host's own shutdown timeout is 30 s.</summary>
        public const int StopTimeoutSeconds = 45;

        private NodeServiceDefinition(string platform, string name, string? path, string account, string storePath, string commandLine, string content)
        {
            Platform = platform;
            Name = name;
            Path = path;
            Account = account;
            StorePath = storePath;
            CommandLine = commandLine;
            Content = content;
        }

        /// <summary>systemd, launchd or Windows.</summary>
        public string Platform { get; }

        /// <summary>The service's name (the unit's, the launchd label, the Windows service name).</summary>
        public string Name { get; }

        /// <summary>The file the definition is written to; none on Windows, where New-Service registers it.</summary>
        public string? Path { get; }

        /// <summary>The account the service runs as: the one that owns the store and its key.</summary>
        public string Account { get; }

        public string StorePath { get; }

        /// <summary>The node host's command line.</summary>
        public string CommandLine { get; }

        /// <summary>What is written (the unit or the plist), or on Windows a description of the service.</summary>
        public string Content { get; }

        /// <summary>Makes the definition for this platform. <paramref name="path"/> overrides where the unit or plist goes.</summary>
        public static NodeServiceDefinition For(NodeHostRuntime runtime, NodeHostSettings settings, string name, string account, string? path)
        {
            if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(new[] { '/', '\\', ' ', '\'', '"' }) >= 0)
            {
                throw new ConnectionToolsException(ErrorIds.NodeHostInvalidOption, ErrorKind.InvalidArgument, $"'{name}' is not a usable service name: use letters, digits, '-', '_' or '.'.", name, "Give -Name a name such as connectiontools-node.");
            }

            var arguments = new List<string> { runtime.DotnetPath, runtime.NodeAssembly };
            arguments.AddRange(settings.Arguments());
            var nodeFolder = System.IO.Path.GetDirectoryName(runtime.NodeAssembly)!;
            var description = $"ConnectionTools node host ({(settings.Private ? "private" : "public")}) on {settings.StorePath}";
            if (UnixFile.IsWindows)
            {
                var commandLine = string.Join(" ", arguments.Select(NodeHostLauncher.Quote));
                return new NodeServiceDefinition("Windows", name, null, account, settings.StorePath, commandLine, $"Service {name} ({description}), as {account}, automatic start: {commandLine}");
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                var plist = Launchd(name, description, arguments, account, runtime.DotnetRoot, nodeFolder, settings.StorePath);
                return new NodeServiceDefinition("launchd", name, path ?? "/Library/LaunchDaemons/" + name + ".plist", account, settings.StorePath, string.Join(" ", arguments.Select(NodeHostLauncher.Quote)), plist);
            }

            var execStart = string.Join(" ", arguments.Select(SystemdQuote));
            var unit = new StringBuilder()
                .Append("# Written by New-ConnectionNodeService. Install: systemctl daemon-reload && systemctl enable --now ").Append(name).Append('\n')
                .Append("[Unit]\n")
                .Append("Description=").Append(description.Replace("%", "%%")).Append('\n')
                .Append("Wants=network-online.target\n")
                .Append("After=network-online.target\n\n")
                .Append("[Service]\n")
                // notify: the host's systemd integration says READY=1 once it serves, and logs in the journal's format.
                .Append("Type=notify\n")
                .Append("User=").Append(account).Append('\n')
                .Append("WorkingDirectory=").Append(SystemdQuote(nodeFolder)).Append('\n')
                .Append("Environment=").Append(SystemdQuote("DOTNET_ROOT=" + runtime.DotnetRoot)).Append('\n')
                .Append("ExecStart=").Append(execStart).Append('\n')
                .Append("KillSignal=SIGTERM\n")
                .Append("TimeoutStopSec=").Append(StopTimeoutSeconds.ToString(CultureInfo.InvariantCulture)).Append('\n')
                .Append("Restart=on-failure\n")
                .Append("RestartSec=5\n")
                .Append("NoNewPrivileges=true\n\n")
                .Append("[Install]\n")
                .Append("WantedBy=multi-user.target\n")
                .ToString();
            return new NodeServiceDefinition("systemd", name, path ?? "/etc/systemd/system/" + name + ".service", account, settings.StorePath, execStart, unit);
        }

        /// <summary>Writes the unit or plist; the folder must exist (it is the service manager's).</summary>
        public void Write()
        {
            if (Path is null)
            {
                return;
            }

            try
            {
                File.WriteAllText(Path, Content, new UTF8Encoding(false));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new ConnectionToolsException(
                    ErrorIds.NodeServiceWriteFailed,
                    e is UnauthorizedAccessException ? ErrorKind.PermissionDenied : ErrorKind.WriteError,
                    $"The service definition could not be written to '{Path}': {e.Message}",
                    Path,
                    "Run the command as an administrator (sudo), or write it elsewhere with -Path and copy it into place.",
                    e);
            }
        }

        public override string ToString() => Platform + " service " + Name;

        /// <summary>systemd's quoting: double quotes around a word with a space or a quote, backslash escapes, and %% for %.</summary>
        private static string SystemdQuote(string value)
        {
            var escaped = value.Replace("%", "%%");
            if (escaped.Length > 0 && escaped.IndexOfAny(new[] { ' ', '\t', '"', '\'', '\\', ';' }) < 0)
            {
                return escaped;
            }

            return "\"" + escaped.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        }

        private static string Launchd(string name, string description, IEnumerable<string> arguments, string account, string dotnetRoot, string nodeFolder, string storePath)
        {
            string Escape(string text) => SecurityElement.Escape(text) ?? "";
            var log = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(storePath)!, "node-host-service.log");
            var plist = new StringBuilder()
                .Append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
                .Append("<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n")
                .Append("<!-- ").Append(Escape(description)).Append(". Install: launchctl bootstrap system /Library/LaunchDaemons/").Append(Escape(name)).Append(".plist -->\n")
                .Append("<plist version=\"1.0\">\n<dict>\n")
                .Append("  <key>Label</key><string>").Append(Escape(name)).Append("</string>\n")
                .Append("  <key>UserName</key><string>").Append(Escape(account)).Append("</string>\n")
                .Append("  <key>ProgramArguments</key>\n  <array>\n");
            foreach (var argument in arguments)
            {
                plist.Append("    <string>").Append(Escape(argument)).Append("</string>\n");
            }

            return plist.Append("  </array>\n")
                .Append("  <key>EnvironmentVariables</key><dict><key>DOTNET_ROOT</key><string>").Append(Escape(dotnetRoot)).Append("</string></dict>\n")
                .Append("  <key>WorkingDirectory</key><string>").Append(Escape(nodeFolder)).Append("</string>\n")
                .Append("  <key>RunAtLoad</key><true/>\n")
                .Append("  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>\n")
                .Append("  <key>ExitTimeOut</key><integer>").Append(StopTimeoutSeconds.ToString(CultureInfo.InvariantCulture)).Append("</integer>\n")
                .Append("  <key>StandardOutPath</key><string>").Append(Escape(log)).Append("</string>\n")
                .Append("  <key>StandardErrorPath</key><string>").Append(Escape(log)).Append("</string>\n")
                .Append("</dict>\n</plist>\n")
                .ToString();
        }
    }
}
