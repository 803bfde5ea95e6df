using System.Diagnostics;
using System.Globalization;
using ConnectionTools.Connections;

namespace ConnectionTools.Node.Tests;

/// <summary>The node host in --private mode, as a real process: it exchanges with the public side and never listens.</summary>
public sealed class PrivateModeTests
{
    [Fact]
    public async Task The_private_node_host_polls_the_public_side_and_has_no_listening_socket()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // Reads /proc; the property does not depend on the platform.
        }

        await using var nodes = await TwoNodes.StartAsync();
        nodes.PrivateSide().Accept(nodes.Invite("crm-eu").InvitationCode, null, null);
        new ConnectionCommands(nodes.Public.Node, nodes.PublicAdmin).Suspend(new[] { ConnectionTarget.ByName("crm-eu") }, passThru: false);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "ConnectionTools.Node.dll"), "--store", nodes.Private.Path_, "--private", "--interval", "0.2" })
        {
            start.ArgumentList.Add(arg);
        }

        using var host = Process.Start(start)!;
        try
        {
            // The public side's suspension reaches the private store through the host's own polling.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (nodes.Private.Get("crm-eu").PeerStatus != ConnectionStatus.Paused)
            {
                if (host.HasExited)
                {
                    Assert.Fail("the private node host exited: " + await host.StandardError.ReadToEndAsync());
                }

                Assert.True(DateTime.UtcNow < deadline, "the private node host made no exchange within 30 s");
                await Task.Delay(100);
            }

            Assert.Empty(ListeningSockets(host.Id));
            Assert.NotEmpty(ListeningSockets(Environment.ProcessId)); // The check can see listeners: this process runs Kestrel.
        }
        finally
        {
            host.Kill(entireProcessTree: true);
            await host.WaitForExitAsync();
        }
    }

    /// <summary>The TCP sockets in LISTEN state that a process holds, from its file descriptors and /proc/net/tcp{,6}.</summary>
    private static List<string> ListeningSockets(int processId)
    {
        var inodes = new HashSet<string>();
        foreach (var fd in Directory.GetFiles($"/proc/{processId}/fd"))
        {
            var target = new FileInfo(fd).LinkTarget;
            if (target != null && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                inodes.Add(target["socket:[".Length..^1]);
            }
        }

        var listening = new List<string>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                const string Listen = "0A";
                if (fields.Length > 9 && fields[3] == Listen && inodes.Contains(fields[9]))
                {
                    listening.Add(fields[1] + " (inode " + fields[9].ToString(CultureInfo.InvariantCulture) + ")");
                }
            }
        }

        return listening;
    }
}
