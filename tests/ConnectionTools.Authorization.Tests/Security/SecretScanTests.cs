using System.Text;
using System.Text.Json;
using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Jobs;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// Every token, code, verifier and assertion that crossed the wire during a connection's life (create, test, re-authorize,
/// a job run, removal) is searched for in the store's files and in everything the commands wrote to the host.
/// </summary>
// Child processes open the store by its file path, and the scan reads the SQLite files.
[Trait("Store", "SqliteFile")]
public sealed class SecretScanTests : IAsyncLifetime
{
    private TestStore _store = null!;
    private readonly RecordingHost _host = new();
    private SalesforceOrg _org = null!;

    public async Task InitializeAsync()
    {
        _org = await SalesforceOrg.StartAsync();
        _store = new TestStore(clients: _org.NodeClients());
    }

    public async Task DisposeAsync()
    {
        _store.Dispose();
        await _org.DisposeAsync();
    }

    [Fact]
    public async Task No_token_or_secret_reaches_the_store_files_or_any_output_stream()
    {
        _host.Verbose.Clear();
        var commands = new SystemConnectionCommands(_store.Node, _host);
        commands.New(_org.InteractiveConnection("sf"));
        _org.Emulator.AddCases(300, DateTimeOffset.UtcNow.AddDays(-1), TimeSpan.FromMinutes(1));
        var target = new[] { ConnectionTarget.ByName("sf") };
        commands.Test(target, new TestAuthorizationRequest());
        commands.Update(target, new UpdateAuthorizationRequest { Interactive = true });
        var run = await new RetrievalRunner(_store.Node).RunAsync(_store.Get("sf"), JobTrigger.Manual, _host.Verbose.Add, CancellationToken.None);
        Assert.Equal(300, run.Records);
        _org.Emulator.RevokeGrantsForUser(SalesforceOrg.Username);
        commands.Test(target, new TestAuthorizationRequest());
        _store.Commands(_host).Remove(target, passThru: false);

        var secrets = _org.Recorder.Secrets();
        Assert.True(secrets.Count >= 6, $"only {secrets.Count} secrets seen on the wire");
        var streams = new StringBuilder();
        foreach (var value in _host.Output)
        {
            streams.AppendLine(JsonSerializer.Serialize(value, value.GetType())).AppendLine(value.ToString());
        }

        foreach (var error in _host.Errors)
        {
            streams.AppendLine(error.ToString()).AppendLine(error.RecommendedAction);
        }

        streams.AppendJoin('\n', _host.Warnings).AppendJoin('\n', _host.Verbose);
        _store.Node.Dispose();
        var files = Directory.GetFiles(_store.Folder).Select(f => (f, Encoding.Latin1.GetString(File.ReadAllBytes(f)))).ToList();
        Assert.Contains(files, f => f.f.EndsWith("store.db", StringComparison.Ordinal));
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, streams.ToString(), StringComparison.Ordinal);
            foreach (var (file, bytes) in files)
            {
                Assert.False(bytes.Contains(secret, StringComparison.Ordinal), $"a secret of {secret.Length} characters is in {Path.GetFileName(file)}");
            }
        }
    }
}
