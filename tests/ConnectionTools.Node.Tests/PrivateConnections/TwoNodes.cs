using System.Collections.Concurrent;
using ConnectionTools.Core.Tests;
using ConnectionTools.Invitations;
using ConnectionTools.Node;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnectionTools.Node.Tests;

/// <summary>A public node host on 127.0.0.1 (a real Kestrel server on its own store) and a private store that only makes requests.</summary>
internal sealed class TwoNodes : IAsyncDisposable
{
    private TwoNodes(WebApplication host, Uri url, TestStore publicStore, ConcurrentQueue<string> log, ConcurrentQueue<LogEntry> entries)
    {
        Host = host;
        Url = url;
        Public = publicStore;
        Log = log;
        Entries = entries;
    }

    public TestStore Public { get; }

    public TestStore Private { get; } = new();

    public RecordingHost PublicAdmin { get; } = new();

    public RecordingHost PrivateAdmin { get; } = new();

    /// <summary>Every line the public node host logged.</summary>
    public ConcurrentQueue<string> Log { get; }

    /// <summary>The same lines with their level and category.</summary>
    public ConcurrentQueue<LogEntry> Entries { get; }

    public WebApplication Host { get; }

    public Uri Url { get; }

    /// <summary>Starts the public node host, logging at <paramref name="minimumLevel"/> and above (the host's own filters apply).</summary>
    public static async Task<TwoNodes> StartAsync(LogLevel minimumLevel = LogLevel.Debug)
    {
        var log = new ConcurrentQueue<string>();
        var entries = new ConcurrentQueue<LogEntry>();
        var publicStore = new TestStore();
        var host = NodeHost.BuildPublic(
            new[] { "--urls", "http://127.0.0.1:0" },
            new NodeOptions(publicStore.Path_, null, false, TimeSpan.FromSeconds(1)),
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.AddProvider(new RecordingLoggerProvider(log, entries));
                builder.Logging.SetMinimumLevel(minimumLevel);
            });
        await host.StartAsync();
        var nodes = new TwoNodes(host, new Uri(host.Urls.First().TrimEnd('/') + "/"), publicStore, log, entries);
        new NodeCommands(nodes.Public.Node, nodes.PublicAdmin).SetPublicUrl(nodes.Url.ToString(), passThru: false);
        return nodes;
    }

    public PrivateConnectionInvitation Invite(string name = "crm-eu", TimeSpan? lifetime = null)
    {
        new InvitationCommands(Public.Node, PublicAdmin).New(new NewPrivateConnectionRequest
        {
            Name = name,
            LocalInstanceName = "contoso-public",
            InvitationLifetime = lifetime ?? NewPrivateConnectionRequest.DefaultLifetime,
        });
        Assert.Empty(PublicAdmin.Errors);
        return PublicAdmin.OutputOf<PrivateConnectionInvitation>().Last();
    }

    public PeerCommands PrivateSide(TimeSpan? timeout = null) =>
        new(Private.Node, PrivateAdmin, new PeerClient(ConnectionTools.Http.SharedHttp.Client, timeout ?? TimeSpan.FromSeconds(10)));

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        await Host.DisposeAsync();
        Public.Dispose();
        Private.Dispose();
    }

    private sealed class RecordingLoggerProvider(ConcurrentQueue<string> lines, ConcurrentQueue<LogEntry> entries) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new RecordingLogger(lines, entries, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class RecordingLogger(ConcurrentQueue<string> lines, ConcurrentQueue<LogEntry> entries, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = formatter(state, exception) + (exception is null ? "" : " " + exception);
            lines.Enqueue(text);
            entries.Enqueue(new LogEntry(logLevel, category, text));
        }
    }
}

/// <summary>One line the node host logged.</summary>
internal sealed record LogEntry(LogLevel Level, string Category, string Text);
