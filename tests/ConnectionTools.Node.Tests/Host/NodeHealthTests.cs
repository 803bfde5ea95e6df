using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace ConnectionTools.Node.Tests;

/// <summary>
/// What a service manager or load balancer sees of the node host: /healthz and /readyz without credentials and without a word about
/// connections, a port already in use refused before the store is opened, and SIGTERM honoured with nothing lost.
/// </summary>
public sealed class NodeHealthTests
{
    [Fact]
    public async Task Healthz_and_readyz_answer_without_credentials_and_say_nothing_about_connections()
    {
        await using var nodes = await TwoNodes.StartAsync(LogLevel.Information);
        var invitation = nodes.Invite("secret-partner-name");
        nodes.PrivateSide().Accept(invitation.InvitationCode, null, null);

        foreach (var path in new[] { "healthz", "readyz" })
        {
            using var response = await Http.SharedHttp.Client.GetAsync(new Uri(nodes.Url, path));
            var body = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(path == "healthz" ? "{\"status\":\"alive\"}" : "{\"status\":\"ready\"}", body);
            Assert.DoesNotContain("secret-partner-name", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(nodes.Public.Folder, body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Readyz_is_503_with_the_reason_while_no_public_url_is_set_and_healthz_stays_200()
    {
        using var store = new Core.Tests.TestStore();
        await using var app = NodeHost.BuildPublic(
            new[] { "--urls", "http://127.0.0.1:0" },
            new NodeOptions(store.Path_, null, false, TimeSpan.FromSeconds(1)) { RunJobs = false },
            builder => builder.Logging.ClearProviders());
        await app.StartAsync();
        var url = new Uri(app.Urls.First().TrimEnd('/') + "/");

        using var ready = await Http.SharedHttp.Client.GetAsync(new Uri(url, "readyz"));
        using var alive = await Http.SharedHttp.Client.GetAsync(new Uri(url, "healthz"));
        var body = await ready.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("\"status\":\"not ready\"", body, StringComparison.Ordinal);
        Assert.Contains("no public URL is set", body, StringComparison.Ordinal);
        Assert.DoesNotContain(store.Folder, body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);

        // Once a URL is set (by an admin in another process, say), the same host is ready.
        new NodeCommands(store.Node, new Core.Tests.RecordingHost()).SetPublicUrl(url.ToString(), passThru: false);
        using var after = await Http.SharedHttp.Client.GetAsync(new Uri(url, "readyz"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task A_private_host_given_urls_serves_health_and_readiness_and_no_peer_endpoint()
    {
        using var store = new Core.Tests.TestStore();
        var port = FreePort();
        using var host = HostProcess.Start("--store", store.Path_, "--private", "--no-jobs", "--urls", $"http://127.0.0.1:{port}");
        await host.WaitUntilReadyAsync(port);

        using var alive = await Http.SharedHttp.Client.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
        using var accept = await Http.SharedHttp.Client.PostAsync(new Uri($"http://127.0.0.1:{port}/connectiontools/v1/invitations/accept"), new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, accept.StatusCode);
        Assert.Equal(0, host.Terminate().ExitCode);
    }

    [Fact]
    public async Task A_port_in_use_is_refused_with_its_error_id_before_the_store_file_is_created()
    {
        var folder = Directory.CreateTempSubdirectory("ct-port-").FullName;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var (exit, _, error) = await HostProcess.RunAsync("--store", Path.Combine(folder, "store.db"), "--create", "--urls", $"http://127.0.0.1:{port}");

            Assert.Equal(2, exit);
            Assert.Contains("ConnectionTools.NodeHost.PortInUse", error, StringComparison.Ordinal);
            Assert.Contains($"another program already listens on port {port}", error, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFileSystemEntries(folder));
        }
        finally
        {
            listener.Stop();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Options_after_a_switch_still_count()
    {
        // ASP.NET's command-line configuration reads the word after any --name as its value: --create once swallowed --urls.
        var folder = Directory.CreateTempSubdirectory("ct-args-").FullName;
        try
        {
            var port = FreePort();
            using var host = HostProcess.Start("--store", Path.Combine(folder, "store.db"), "--create", "--no-jobs", "--urls", $"http://127.0.0.1:{port}", "--public-url", $"http://127.0.0.1:{port}/");
            await host.WaitUntilReadyAsync(port);
            host.Terminate();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Sigterm_stops_the_host_cleanly_within_its_shutdown_timeout_with_the_accepted_connection_kept()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // No SIGTERM on Windows; the service manager's stop is the Windows service lifetime's.
        }

        using var publicStore = new Core.Tests.TestStore();
        using var privateStore = new Core.Tests.TestStore();
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}/";
        using var host = HostProcess.Start("--store", publicStore.Path_, "--urls", $"http://127.0.0.1:{port}", "--public-url", url);
        await host.WaitUntilReadyAsync(port);

        // Invited and accepted through the host process, then the host is told to stop.
        var publicNode = publicStore.Node;
        var recorder = new Core.Tests.RecordingHost();
        new InvitationCommands(publicNode, recorder).New(new NewPrivateConnectionRequest { Name = "crm-eu", LocalInstanceName = "contoso", InvitationLifetime = NewPrivateConnectionRequest.DefaultLifetime });
        var code = recorder.OutputOf<PrivateConnectionInvitation>().Single().InvitationCode;
        var privateAdmin = new Core.Tests.RecordingHost();
        new Peering.PeerCommands(privateStore.Node, privateAdmin, new Peering.PeerClient(Http.SharedHttp.Client, TimeSpan.FromSeconds(10))).Accept(code, null, null);
        Assert.Empty(privateAdmin.Errors);

        var exited = host.Terminate();

        // .NET's default shutdown timeout is 30 s; a clean stop returns from Main with 0 and says so in the log.
        Assert.True(exited.Within, "the host did not exit within 45 s of SIGTERM");
        Assert.Equal(0, exited.ExitCode);
        Assert.Contains("Application is shutting down", exited.Output, StringComparison.Ordinal);
        using (var db = new SqliteConnection($"Data Source={publicStore.Path_};Pooling=False"))
        {
            db.Open();
            using var check = db.CreateCommand();
            check.CommandText = "PRAGMA integrity_check;";
            Assert.Equal("ok", (string?)check.ExecuteScalar());
        }

        Assert.Equal(Connections.ConnectionStatus.Active, publicNode.Store.FindByName("crm-eu")!.Status);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The node host as a process of its own, as a service manager runs it.</summary>
    private sealed class HostProcess : IDisposable
    {
        private readonly Process _process;
        private readonly Task<string> _output;
        private readonly Task<string> _error;

        private HostProcess(Process process)
        {
            _process = process;
            _output = process.StandardOutput.ReadToEndAsync();
            _error = process.StandardError.ReadToEndAsync();
        }

        public static HostProcess Start(params string[] args)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ConnectionTools.Node.dll"));
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            return new HostProcess(Process.Start(start)!);
        }

        public static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
        {
            using var host = Start(args);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await host._process.WaitForExitAsync(timeout.Token);
            return (host._process.ExitCode, await host._output, await host._error);
        }

        public async Task WaitUntilReadyAsync(int port)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                Assert.False(_process.HasExited, "the node host exited: " + (_process.HasExited ? await _error + await _output : ""));
                try
                {
                    using var response = await Http.SharedHttp.Client.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz"));
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                Assert.True(DateTime.UtcNow < deadline, "the node host was not ready within 60 s");
                await Task.Delay(100);
            }
        }

        /// <summary>Sends SIGTERM and waits up to 45 s (the host's 30 s shutdown timeout, and some).</summary>
        public (bool Within, int ExitCode, string Output) Terminate()
        {
            using (var kill = Process.Start("kill", new[] { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }))
            {
                kill.WaitForExit();
            }

            var within = _process.WaitForExit(45_000);
            if (!within)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }

            return (within, _process.ExitCode, _output.Result + _error.Result);
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }

            _process.Dispose();
        }
    }
}
