using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Node.Tests;

/// <summary>
/// The node host under systemd, as the unit New-ConnectionNodeService writes runs it (Type=notify): .NET's systemd integration
/// turns on when the host's parent process is systemd, so the host is started by a copy of /bin/sh named "systemd" (the kernel
/// names a process after its file), with NOTIFY_SOCKET pointing at a datagram socket this test reads. The host says READY=1
/// once it serves, logs in the journal's format, and on SIGTERM says STOPPING=1 and exits 0 within its shutdown timeout with
/// the store intact.
/// </summary>
public sealed class SystemdLifetimeTests : IDisposable
{
    // Forwards SIGTERM to the host, as systemd sends it, and exits with the host's status.
    private const string Launcher =
        "child=; trap 'kill -TERM \"$child\"' TERM; \"$@\" & child=$!; wait \"$child\"; status=$?; " +
        "if [ \"$status\" -gt 128 ]; then wait \"$child\"; status=$?; fi; exit \"$status\"";

    private readonly string _folder = Directory.CreateTempSubdirectory("ct-systemd-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task Under_systemd_the_host_notifies_ready_and_stopping_and_a_SIGTERM_stops_it_cleanly()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // systemd is Linux's; the Windows service lifetime is the service manager's own.
        }

        using var notifications = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        var socketPath = Path.Combine(_folder, "notify.sock");
        notifications.Bind(new UnixDomainSocketEndPoint(socketPath));
        var systemd = Path.Combine(_folder, "systemd");
        File.Copy("/bin/sh", systemd);
        File.SetUnixFileMode(systemd, UnixFileMode.UserRead | UnixFileMode.UserExecute);

        var store = Path.Combine(_folder, "store.db");
        var port = FreePort();
        var start = new ProcessStartInfo(systemd) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-c", Launcher, "systemd", "dotnet", Path.Combine(AppContext.BaseDirectory, "ConnectionTools.Node.dll"),
                     "--store", store, "--create", "--urls", $"http://127.0.0.1:{port}", "--public-url", $"http://127.0.0.1:{port}/" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["NOTIFY_SOCKET"] = socketPath;
        using var launcher = Process.Start(start)!;
        var output = launcher.StandardOutput.ReadToEndAsync();
        var errors = launcher.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal("READY=1", await ReceiveAsync(notifications, TimeSpan.FromSeconds(60)));
            using (var ready = await Http.SharedHttp.Client.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz")))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            }

            using (var kill = Process.Start("kill", new[] { "-TERM", launcher.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }))
            {
                kill.WaitForExit();
            }

            Assert.Equal("STOPPING=1", await ReceiveAsync(notifications, TimeSpan.FromSeconds(45)));
            Assert.True(launcher.WaitForExit(45_000), "the host did not exit within 45 s of SIGTERM");
            Assert.Equal(0, launcher.ExitCode);
        }
        finally
        {
            if (!launcher.HasExited)
            {
                launcher.Kill(entireProcessTree: true);
            }
        }

        // The journal's format: each line starts with its syslog priority (<6> is information).
        var log = await output + await errors;
        Assert.Contains("<6>Microsoft.Hosting.Lifetime[0] Application is shutting down", log, StringComparison.Ordinal);
        using var db = new SqliteConnection($"Data Source={store};Pooling=False");
        db.Open();
        using var check = db.CreateCommand();
        check.CommandText = "PRAGMA integrity_check;";
        Assert.Equal("ok", (string?)check.ExecuteScalar());
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan within)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(within);
        var received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, received).Trim();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
