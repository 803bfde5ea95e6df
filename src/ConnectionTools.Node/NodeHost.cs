using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;

namespace ConnectionTools.Node;

/// <summary>Builds the two kinds of node host. Tests start them in-process on 127.0.0.1.</summary>
public static class NodeHost
{
    /// <summary>The public side: serves the peer endpoints and nothing else. It never calls out to a private side.</summary>
    public static WebApplication BuildPublic(string[] args, NodeOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(HostArguments(args));
        configure?.Invoke(builder);
        AddNode(builder.Services, options);
        if (options.RunJobs)
        {
            builder.Services.AddHostedService<JobScheduler>();
        }

        // ASP.NET Core's own request lines (request starting, endpoint executing, result written, request finished) are
        // details: shown at Debug, unless the configuration sets a level for them. The node logs one line per request.
        ILogger? appLogger = null;
        if (builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] is null && builder.Configuration["Logging:LogLevel:Microsoft"] is null)
        {
            builder.Logging.AddFilter("Microsoft.AspNetCore", level => level >= LogLevel.Warning || appLogger?.IsEnabled(LogLevel.Debug) == true);
        }

        var app = builder.Build();
        var node = OpenNode(app.Services, app);
        var logger = app.Logger;
        appLogger = logger;
        if (options.PublicUrl != null)
        {
            new NodeCommands(node, new LoggingHost(logger, CancellationToken.None)).SetPublicUrl(options.PublicUrl, passThru: false);
        }

        app.Use(async (context, next) =>
        {
            // One line per request at Information: method, path, status, the refusal's error id, time. Never headers or bodies,
            // which carry tokens and secrets. The details of a refusal are logged at Debug.
            var clock = Stopwatch.StartNew();
            await next(context);
            var refusal = context.Items[RefusalKey] as string;
            // Health probes come every few seconds from a service manager or load balancer: details, not news.
            logger.Log(
                NodeHealth.IsHealthPath(context.Request.Path) ? LogLevel.Debug : LogLevel.Information,
                "{Method} {Path} -> {Status}{Refusal} in {Elapsed:0.0} ms",
                context.Request.Method,
                context.Request.Path,
                context.Response.StatusCode,
                refusal is null ? "" : " " + refusal,
                clock.Elapsed.TotalMilliseconds);
        });

        NodeHealth.Map(app, node, logger, requirePublicUrl: true);
        var server = new PeerServer(node);
        app.MapPost(PeerPaths.Accept, (Func<HttpContext, Task<IResult>>)(context =>
            Handle(context, logger, PeerJsonContext.Default.AcceptRequest, request => server.Accept(request))));
        app.MapPost(PeerPaths.Prefix + "/connections/{id:guid}/exchange", (Guid id, HttpContext context) =>
        {
            var token = BearerToken(context);
            return Handle(context, logger, PeerJsonContext.Default.ExchangeMessage, message => server.Exchange(id, token, message));
        });
        app.MapPost(PeerPaths.Prefix + "/connections/{id:guid}/sync", (Guid id, HttpContext context) =>
            Handle(context, logger, PeerJsonContext.Default.SyncRequest, request => server.Sync(id, BearerToken(context), request)));
        app.Lifetime.ApplicationStopped.Register(node.Dispose);
        return app;
    }

    /// <summary>The private side: exchanges status with every public node it has connections to, on an interval. It opens no socket to listen on.</summary>
    public static IHost BuildPrivate(string[] args, NodeOptions options)
    {
        var hostArguments = HostArguments(args);
        if (hostArguments.Length > 0)
        {
            return BuildPrivateWithHealth(hostArguments, options);
        }

        var builder = Host.CreateApplicationBuilder(hostArguments);
        AddNode(builder.Services, options);
        builder.Services.AddHostedService<PrivatePoller>();
        if (options.RunJobs)
        {
            builder.Services.AddHostedService<JobScheduler>();
        }

        var host = builder.Build();
        var node = OpenNode(host.Services, host);
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(node.Dispose);
        return host;
    }

    /// <summary>
    /// The private side given --urls: the same poller and jobs, and a listener that serves /healthz and /readyz only (for a
    /// container orchestrator or load balancer); no peer endpoint, so nothing reaches the store through it.
    /// </summary>
    private static WebApplication BuildPrivateWithHealth(string[] hostArguments, NodeOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder(hostArguments);
        AddNode(builder.Services, options);
        builder.Services.AddHostedService<PrivatePoller>();
        if (options.RunJobs)
        {
            builder.Services.AddHostedService<JobScheduler>();
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        var app = builder.Build();
        var node = OpenNode(app.Services, app);
        NodeHealth.Map(app, node, app.Logger, requirePublicUrl: false);
        app.Lifetime.ApplicationStopped.Register(node.Dispose);
        return app;
    }

    /// <summary>
    /// The arguments that are ASP.NET's own (--urls and its value). The configuration's command-line reader takes the word after
    /// any --name as its value, so our switches (--create, --private, --no-jobs) would swallow the option after them.
    /// </summary>
    private static string[] HostArguments(string[] args)
    {
        var kept = new List<string>();
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--urls")
            {
                kept.Add(args[i]);
                kept.Add(args[++i]);
            }
        }

        return kept.ToArray();
    }

    private static string? BearerToken(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization["Bearer ".Length..] : null;
    }

    /// <summary>The names of the node's two HTTP clients in the client factory.</summary>
    internal const string ProviderClient = "ConnectionTools.Providers";

    internal const string PeerClient = "ConnectionTools.Peers";

    /// <summary>
    /// Registers the node, its options and its HTTP clients. The clients come from the factory (AddHttpClient) but live as long
    /// as the node, so their handler is never rotated: the handler's own PooledConnectionLifetime picks up DNS changes instead.
    /// Core applies its retry policy and a timeout per call, so the clients have neither.
    /// </summary>
    private static void AddNode(IServiceCollection services, NodeOptions options)
    {
        foreach (var name in new[] { ProviderClient, PeerClient })
        {
            services.AddHttpClient(name, client => client.Timeout = Timeout.InfiniteTimeSpan)
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
                .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        }

        // Under systemd (Type=notify) or the Windows service manager: readiness and stop signals, and logs to the journal or the
        // event log. Each does nothing when the process was not started by that service manager.
        services.AddSystemd();
        services.AddWindowsService();
        services.AddSingleton(options);
        services.AddSingleton<NodeWorkGate>();
        services.AddSingleton(provider =>
        {
            var http = provider.GetRequiredService<IHttpClientFactory>();
            var clients = new NodeClients { ProviderHttp = http.CreateClient(ProviderClient), PeerHttp = http.CreateClient(PeerClient) };
            var node = ConnectionNode.Open(options.Location(), actor: "node-host", clients: clients);
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
        });
    }

    /// <summary>
    /// The one node of this host, shared by its endpoints, its job scheduler and its poller: one store per file per process.
    /// Opened as soon as the host is built, so a damaged store is refused before anything is served from it (the host is then
    /// disposed, unstarted).
    /// </summary>
    private static ConnectionNode OpenNode(IServiceProvider services, IDisposable host)
    {
        try
        {
            return services.GetRequiredService<ConnectionNode>();
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>The HttpContext item that carries a refusal's error id to the request's log line.</summary>
    private const string RefusalKey = "ConnectionTools.Refusal";

    /// <summary>
    /// Checks that the request is arguments the handlers can be given. Everything here is known without the store, so a bad
    /// argument is refused before the store file is created or opened.
    /// </summary>
    public static void Validate(NodeOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.StorePath))
        {
            throw new ArgumentException("--store needs a path: the store file this node serves.");
        }

        if (options.IsDatabase)
        {
            if (options.KeyFile is { } keyFile && Directory.Exists(keyFile))
            {
                throw new ArgumentException($"--key-file '{keyFile}' is a folder; give the path of the store's key file.");
            }
        }
        else if (options.KeyFile != null)
        {
            throw new ArgumentException("--key-file is for a PostgreSQL store; a store file's key sits beside it.");
        }
        else if (Directory.Exists(options.StorePath))
        {
            throw new ArgumentException($"--store '{options.StorePath}' is a folder; give the path of the store file (the one the module uses).");
        }

        if (options.Private && options.PublicUrl != null)
        {
            throw new ArgumentException("--public-url is for the public side; a --private node reaches its public nodes at the URLs in their invitation codes.");
        }

        if (!(options.Interval > TimeSpan.Zero) || options.Interval > TimeSpan.FromDays(1))
        {
            throw new ArgumentException($"--interval must be more than 0 seconds and at most a day; it was {options.Interval.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        }

        if (!(options.JobPollInterval > TimeSpan.Zero) || options.JobPollInterval > TimeSpan.FromDays(1))
        {
            throw new ArgumentException($"--job-poll must be more than 0 seconds and at most a day; it was {options.JobPollInterval.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        }

        if (options.PublicUrl != null)
        {
            try
            {
                PeerUrls.ValidatePublicUrl(options.PublicUrl);
            }
            catch (ConnectionToolsException e)
            {
                throw new ArgumentException($"--public-url: {e.Message} {e.RecommendedAction}", e);
            }
        }

        for (var i = 0; args != null && i < args.Length - 1; i++)
        {
            if (args[i] == "--urls")
            {
                foreach (var url in args[i + 1].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    // Kestrel also takes http://*:PORT and http://+:PORT, which are not URIs.
                    var candidate = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
                    if (!Uri.TryCreate(candidate, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
                    {
                        throw new ArgumentException($"--urls '{url}' is not an http:// or https:// URL to listen on, such as http://127.0.0.1:5080.");
                    }
                }
            }
        }
    }

    /// <summary>
    /// Reads a peer request's JSON body and answers it. What the caller sent wrong is answered 400 (or 415 for a body that
    /// is not JSON) with one log line, never a stack trace. Refusals keep their own status and error id; a failure on this
    /// side is answered without its message, which may name the store's path, and logged in full here.
    /// </summary>
    private static async Task<IResult> Handle<TRequest, TResponse>(HttpContext context, ILogger logger, JsonTypeInfo<TRequest> requestType, Func<TRequest, TResponse> handle)
        where TRequest : class
    {
        if (!context.Request.HasJsonContentType())
        {
            return Refuse(context, logger, StatusCodes.Status415UnsupportedMediaType, PeerErrors.Protocol($"the body must be JSON (Content-Type: application/json), not '{context.Request.ContentType}'"));
        }

        TRequest? request;
        try
        {
            request = await context.Request.ReadFromJsonAsync(requestType, context.RequestAborted);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or DecoderFallbackException or ArgumentException)
        {
            return Refuse(context, logger, StatusCodes.Status400BadRequest, PeerErrors.Protocol("the body is not valid JSON (" + OneLine(e.Message) + ")"));
        }
        catch (BadHttpRequestException e)
        {
            return Refuse(context, logger, e.StatusCode, PeerErrors.Protocol("the body could not be read (" + OneLine(e.Message) + ")"));
        }

        if (request is null)
        {
            return Refuse(context, logger, StatusCodes.Status400BadRequest, PeerErrors.Protocol("the body is empty or null"));
        }

        try
        {
            return Results.Json(handle(request), PeerJsonContext.Default.Options);
        }
        catch (ConnectionToolsException e) when (PeerErrors.IsPeerRefusal(e.ErrorId))
        {
            return Refuse(context, logger, PeerErrors.StatusCodeFor(e.ErrorId), e);
        }
        catch (ConnectionToolsException e)
        {
            // A problem on this side (the store busy or damaged, say): the caller learns that, not its details.
            logger.LogError("{ErrorId}: {Message}", e.ErrorId, e.Message);
            return Answer(context, e.Kind == ErrorKind.ResourceUnavailable ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError, new PeerError
            {
                ErrorId = e.ErrorId,
                Message = "The public node could not handle the request; its administrator can find the reason in the node host's log.",
                RecommendedAction = "Try again later. If it persists, ask the public side's administrator.",
                Kind = e.Kind.ToString(),
            });
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "The peer request failed on this node.");
            return Answer(context, StatusCodes.Status500InternalServerError, new PeerError
            {
                ErrorId = ErrorIds.PeerUnreachable,
                Kind = ErrorKind.ConnectionError.ToString(),
                Message = "The public node could not handle the request; its administrator can find the reason in the node host's log.",
                RecommendedAction = "Try again later. If it persists, ask the public side's administrator.",
            });
        }
    }

    private static IResult Refuse(HttpContext context, ILogger logger, int status, ConnectionToolsException e)
    {
        logger.LogDebug("Refused with {ErrorId}: {Message}", e.ErrorId, e.Message);
        return Answer(context, status, new PeerError { ErrorId = e.ErrorId, Message = e.Message, RecommendedAction = e.RecommendedAction, Kind = e.Kind.ToString() });
    }

    private static IResult Answer(HttpContext context, int status, PeerError error)
    {
        context.Items[RefusalKey] = error.ErrorId;
        return Results.Json(error, PeerJsonContext.Default.Options, statusCode: status);
    }

    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length > 200 ? line[..200] + "..." : line;
    }
}
