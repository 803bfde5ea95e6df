using System.Diagnostics;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;

namespace ConnectionTools.Node;

/// <summary>Builds the two kinds of node host. Tests start them in-process on 127.0.0.1.</summary>
public static class NodeHost
{
    /// <summary>The public side: serves the peer endpoints and nothing else. It never calls out to a private side.</summary>
    public static WebApplication BuildPublic(string[] args, NodeOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder);
        var node = OpenNode(options);
        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton(options);
        if (options.RunJobs)
        {
            builder.Services.AddHostedService<JobScheduler>();
        }

        var app = builder.Build();
        var logger = app.Logger;
        if (options.PublicUrl != null)
        {
            new NodeCommands(node, new LoggingHost(logger, CancellationToken.None)).SetPublicUrl(options.PublicUrl, passThru: false);
        }

        app.Use(async (context, next) =>
        {
            // One line per request: method, path, status and time. Never headers or bodies, which carry tokens and secrets.
            var clock = Stopwatch.StartNew();
            await next(context);
            logger.LogInformation("{Method} {Path} -> {Status} in {Elapsed:0.0} ms", context.Request.Method, context.Request.Path, context.Response.StatusCode, clock.Elapsed.TotalMilliseconds);
        });

        var server = new PeerServer(node);
        app.MapPost(PeerPaths.Accept, async (HttpContext context) =>
        {
            var request = await context.Request.ReadFromJsonAsync(PeerJsonContext.Default.AcceptRequest);
            return Answer(() => server.Accept(request ?? new AcceptRequest()));
        });
        app.MapPost(PeerPaths.Prefix + "/connections/{id:guid}/exchange", async (Guid id, HttpContext context) =>
        {
            var message = await context.Request.ReadFromJsonAsync(PeerJsonContext.Default.ExchangeMessage);
            var authorization = context.Request.Headers.Authorization.ToString();
            var token = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization["Bearer ".Length..] : null;
            return Answer(() => server.Exchange(id, token, message ?? new ExchangeMessage()));
        });
        app.Lifetime.ApplicationStopped.Register(node.Dispose);
        return app;
    }

    /// <summary>The private side: exchanges status with every public node it has connections to, on an interval. It opens no socket to listen on.</summary>
    public static IHost BuildPrivate(string[] args, NodeOptions options)
    {
        var builder = Host.CreateApplicationBuilder(args);
        var node = OpenNode(options);
        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton(options);
        builder.Services.AddHostedService<PrivatePoller>();
        if (options.RunJobs)
        {
            builder.Services.AddHostedService<JobScheduler>();
        }

        var host = builder.Build();
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(node.Dispose);
        return host;
    }

    /// <summary>
    /// The one node of this host, shared by its endpoints, its job scheduler and its poller: one store per file per process.
    /// A damaged store is refused before anything is served from it.
    /// </summary>
    private static ConnectionNode OpenNode(NodeOptions options)
    {
        var node = ConnectionNode.Open(new StoreLocation(Path.GetFullPath(options.StorePath), StoreSource.Session, options.Create, "--store"), actor: "node-host");
        try
        {
            node.Store.EnsureIntact();
            return node;
        }
        catch
        {
            node.Dispose();
            throw;
        }
    }

    private static IResult Answer<T>(Func<T> handle)
    {
        try
        {
            return Results.Json(handle(), PeerJsonContext.Default.Options);
        }
        catch (ConnectionToolsException e)
        {
            return Results.Json(
                new PeerError { ErrorId = e.ErrorId, Message = e.Message, RecommendedAction = e.RecommendedAction, Kind = e.Kind.ToString() },
                PeerJsonContext.Default.Options,
                statusCode: PeerErrors.StatusCodeFor(e.ErrorId));
        }
    }
}
