using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Peering;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnectionTools.Node.Tests;

/// <summary>The node host as its admin meets it: its command line, its log, and what it tells callers that send nonsense.</summary>
public sealed class NodeHostTests
{
    [Fact]
    public async Task The_host_gives_its_node_the_HTTP_clients_it_registered_with_the_client_factory()
    {
        using var store = new Core.Tests.TestStore();
        await using var app = NodeHost.BuildPublic(
            new[] { "--urls", "http://127.0.0.1:0" },
            new NodeOptions(store.Path_, null, false, TimeSpan.FromSeconds(1)) { RunJobs = false },
            builder => builder.Logging.ClearProviders());

        var node = app.Services.GetRequiredService<Nodes.ConnectionNode>();

        Assert.NotNull(app.Services.GetService<IHttpClientFactory>());
        Assert.NotSame(Http.SharedHttp.Client, node.Providers.Http);
        Assert.Equal(Timeout.InfiniteTimeSpan, node.Providers.Http.Timeout);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_prints_the_usage_and_exits_0(string option)
    {
        var (exit, output, error) = await RunHostAsync(option);

        Assert.Equal(0, exit);
        Assert.Contains("usage: ConnectionTools.Node --store STORE [--key-file PATH]", output);
        Assert.Contains("--public-url", output);
        Assert.Contains("postgresql://", output);
        Assert.DoesNotContain("Unknown option", output + error);
        Assert.Equal("", error);
    }

    [Theory]
    [InlineData("--public-url", "ftp://node.example.com/")]
    [InlineData("--public-url", "http://node.example.com/")]
    [InlineData("--interval", "0")]
    [InlineData("--job-poll", "-1")]
    [InlineData("--urls", "not a url")]
    [InlineData("--bogus", "x")]
    public async Task Bad_arguments_are_refused_before_the_store_file_is_created(string option, string value)
    {
        using var folder = new TemporaryFolder();
        var store = Path.Combine(folder.Path, "store.db");

        var (exit, output, error) = await RunHostAsync("--store", store, option, value);

        Assert.Equal(2, exit);
        Assert.Contains(option, error);
        Assert.Contains("--help", error);
        Assert.DoesNotContain("   at ", output + error);
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path));
    }

    [Fact]
    public async Task A_key_file_for_a_store_file_is_refused_before_the_store_file_is_created()
    {
        using var folder = new TemporaryFolder();
        var store = Path.Combine(folder.Path, "store.db");

        var (exit, _, error) = await RunHostAsync("--store", store, "--create", "--key-file", Path.Combine(folder.Path, "node.key"));

        Assert.Equal(2, exit);
        Assert.Contains("--key-file is for a PostgreSQL store", error);
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path));
    }

    [Fact]
    public async Task A_postgresql_store_without_a_key_file_is_refused_before_anything_is_opened()
    {
        // Port 1 on loopback: were the server contacted, the error would be ServerUnreachable, not KeyRequired.
        var (exit, _, error) = await RunHostAsync("--store", "postgresql://ct@127.0.0.1:1/connectiontools", "--create");

        Assert.Equal(2, exit);
        Assert.Contains("ConnectionTools.Store.KeyRequired", error);
    }

    [Fact]
    public async Task A_private_host_with_a_public_url_is_refused_before_the_store_file_is_created()
    {
        using var folder = new TemporaryFolder();
        var store = Path.Combine(folder.Path, "store.db");

        var (exit, _, error) = await RunHostAsync("--store", store, "--private", "--public-url", "https://node.example.com/");

        Assert.Equal(2, exit);
        Assert.Contains("--public-url", error);
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path));
    }

    [Fact]
    public async Task A_peer_request_is_one_line_at_Information_with_the_details_at_Debug()
    {
        await using (var nodes = await TwoNodes.StartAsync(LogLevel.Information))
        {
            var code = nodes.Invite("crm-eu").InvitationCode;
            var before = nodes.Entries.Count;
            nodes.PrivateSide().Accept(code, null, null);
            var lines = await LinesAfterAsync(nodes, before, "/invitations/accept -> 200");

            var line = Assert.Single(lines);
            Assert.Equal(LogLevel.Information, line.Level);
            Assert.Matches(@"^POST /connectiontools/v1/invitations/accept -> 200 in \d+\.\d ms$", line.Text);
        }

        await using (var nodes = await TwoNodes.StartAsync(LogLevel.Debug))
        {
            var code = nodes.Invite("crm-eu").InvitationCode;
            var before = nodes.Entries.Count;
            nodes.PrivateSide().Accept(code, null, null);
            var lines = await LinesAfterAsync(nodes, before, "/invitations/accept -> 200");

            // The admin who asks for Debug gets ASP.NET Core's own lines about the request as well.
            Assert.Contains(lines, l => l.Category.StartsWith("Microsoft.AspNetCore.Hosting", StringComparison.Ordinal) && l.Text.Contains("/invitations/accept", StringComparison.Ordinal));
            Assert.Single(lines, l => l.Text.StartsWith("POST /connectiontools/v1/invitations/accept -> ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Malformed_peer_requests_get_400_or_415_and_one_log_line_without_a_stack_trace()
    {
        await using var nodes = await TwoNodes.StartAsync(LogLevel.Information);
        var invitation = InvitationCodec.Decode(nodes.Invite("crm-eu").InvitationCode);
        var exchange = new Uri(nodes.Url, PeerPaths.Exchange(invitation.ConnectionId));
        var accept = new Uri(nodes.Url, PeerPaths.Accept);
        var deep = "{\"status\":\"Active\",\"x\":" + new string('[', 200) + new string(']', 200) + "}";
        var cases = new (Uri Url, HttpContent Body, HttpStatusCode Expected)[]
        {
            (accept, Json("{\"connectionId\": "), HttpStatusCode.BadRequest),
            (exchange, Json("{not json at all"), HttpStatusCode.BadRequest),
            (exchange, new StringContent("{\"status\":\"Active\"}", Encoding.UTF8, "text/plain"), HttpStatusCode.UnsupportedMediaType),
            (accept, new ByteArrayContent(Encoding.UTF8.GetBytes("connectionId=1")) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded") } }, HttpStatusCode.UnsupportedMediaType),
            (exchange, Json(deep), HttpStatusCode.BadRequest),
            (exchange, JsonBytes([.. "{\"status\":\""u8, 0xff, 0xfe, 0xc3, .. "\"}"u8]), HttpStatusCode.BadRequest),
            (accept, JsonBytes([.. "{\"connectionId\":\""u8, 0xc0, 0xaf, .. "\",\"secret\":\"x\"}"u8]), HttpStatusCode.BadRequest),
            (accept, Json("null"), HttpStatusCode.BadRequest),
            (accept, Json("{\"connectionId\":\"" + invitation.ConnectionId + "\",\"secret\":\"" + ConnectionTools.Text.Base64Url.Encode(new byte[invitation.Secret.ToArray().Length]) + "\",\"node\":null}"), HttpStatusCode.BadRequest),
        };

        foreach (var (url, body, expected) in cases)
        {
            var before = nodes.Entries.Count;
            using var response = await ConnectionTools.Http.SharedHttp.Client.PostAsync(url, body);
            var text = await response.Content.ReadAsStringAsync();

            Assert.Equal(expected, response.StatusCode);
            Assert.StartsWith("ConnectionTools.", ErrorIdOf(text));
            var lines = await LinesAfterAsync(nodes, before, $" -> {(int)expected}");
            var line = Assert.Single(lines);
            Assert.DoesNotContain("\n", line.Text);
            Assert.DoesNotContain("   at ", line.Text);
            Assert.True(line.Level < LogLevel.Error, line.Text);
        }
    }

    [Fact]
    public async Task A_wrong_secret_for_a_known_connection_is_401_without_the_connection_name()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var invitation = InvitationCodec.Decode(nodes.Invite("secret-partner-name").InvitationCode);
        var wrong = RandomNumberGenerator.GetBytes(invitation.Secret.ToArray().Length);
        var body = "{\"connectionId\":\"" + invitation.ConnectionId + "\",\"secret\":\"" + ConnectionTools.Text.Base64Url.Encode(wrong)
            + "\",\"node\":{\"nodeId\":\"" + Guid.NewGuid() + "\",\"version\":\"1.0.0\",\"instanceName\":\"intruder\"}}";

        using var response = await ConnectionTools.Http.SharedHttp.Client.PostAsync(new Uri(nodes.Url, PeerPaths.Accept), Json(body));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(ErrorIds.InvitationWrongSecret, ErrorIdOf(text));
        Assert.DoesNotContain("secret-partner-name", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_store_failure_is_answered_without_the_store_path_and_logged_here()
    {
        await using var nodes = await TwoNodes.StartAsync();
        var invitation = nodes.Invite("crm-eu");
        var decoded = InvitationCodec.Decode(invitation.InvitationCode);
        nodes.PrivateSide().Accept(invitation.InvitationCode, null, null);
        var key = decoded.Secret.DeriveKey(PeerServer.PeerKeyPurpose, decoded.ConnectionId);

        // The store breaks under the running host (a table is gone), as a damaged or foreign store would.
        using (var db = new SqliteConnection($"Data Source={nodes.Public.Path_}"))
        {
            db.Open();
            using var command = db.CreateCommand();
            command.CommandText = "ALTER TABLE peer_keys RENAME TO peer_keys_gone;";
            command.ExecuteNonQuery();
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(nodes.Url, PeerPaths.Exchange(decoded.ConnectionId)))
        {
            Content = Json("{\"status\":\"Active\"}"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PeerToken.Create(key, nodes.Private.Store.NodeId, nodes.Public.Store.NodeId, decoded.ConnectionId, DateTimeOffset.UtcNow));
        using var response = await ConnectionTools.Http.SharedHttp.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(ErrorIds.StoreFailed, ErrorIdOf(text));
        Assert.DoesNotContain(nodes.Public.Folder, text.Replace("\\\\", "\\", StringComparison.Ordinal));
        Assert.DoesNotContain("store.db", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("peer_keys", text, StringComparison.Ordinal);
        Assert.Contains(nodes.Entries, l => l.Level == LogLevel.Error && l.Text.Contains(nodes.Public.Path_, StringComparison.Ordinal));
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    private static ByteArrayContent JsonBytes(byte[] bytes) => new(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };

    private static string? ErrorIdOf(string body) =>
        System.Text.Json.JsonDocument.Parse(body).RootElement.TryGetProperty("errorId", out var id) ? id.GetString() : null;

    private static async Task<List<LogEntry>> LinesAfterAsync(TwoNodes nodes, int before, string marker)
    {
        await WaitForAsync(nodes, before, marker);
        return nodes.Entries.Skip(before).ToList();
    }

    private static async Task WaitForAsync(TwoNodes nodes, int before, string marker)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!nodes.Entries.Skip(before).Any(l => l.Text.Contains(marker, StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no log line with '{marker}'");
            await Task.Delay(20);
        }

        // Lines written after the response (ASP.NET's "request finished") come within a moment.
        await Task.Delay(300);
    }

    private static async Task<(int Exit, string Output, string Error)> RunHostAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // A key file named by the runner's environment would stand in for the one a test leaves out.
        start.Environment.Remove("CONNECTIONTOOLS_KEY_FILE");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ConnectionTools.Node.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException("the node host did not exit within 60 s: " + string.Join(' ', args));
        }

        return (process.ExitCode, await output, await error);
    }

    private sealed class TemporaryFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("ct-node-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
