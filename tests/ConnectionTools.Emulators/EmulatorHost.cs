using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnectionTools.Emulators;

/// <summary>One request as the emulator saw it. Never holds secrets, tokens or assertions.</summary>
public sealed record EmulatorRequest(DateTimeOffset At, string Method, string Path, string? GrantType, int StatusCode, string Host = "");

/// <summary>Kestrel on 127.0.0.1:0 plus the switches shared by every emulator. All members are thread-safe.</summary>
public abstract class EmulatorHost : IAsyncDisposable, IDisposable
{
    /// <summary>Upper bound on <see cref="Latency"/>, so no request can wait without end.</summary>
    public static readonly TimeSpan MaxLatency = TimeSpan.FromSeconds(30);
    private const int MaxLogEntries = 100_000;

    private readonly object _switchGate = new();
    private readonly List<EmulatorRequest> _log = [];
    private readonly Random _random;
    private readonly X509Certificate2? _serverCertificate;
    private WebApplication? _app;
    private TimeSpan _latency;
    private double _tooManyRequestsRatio;
    private int _requestCount;
    private int _throttledCount;

    /// <summary>Guards each emulator's OAuth state.</summary>
    protected object StateGate { get; } = new();

    protected EmulatorHost(int seed, X509Certificate2? serverCertificate)
    {
        _random = new Random(seed);
        _serverCertificate = serverCertificate;
    }

    /// <summary>Root of the emulator, ending in '/'. Valid after <see cref="StartAsync"/>.</summary>
    /// <summary>Whether <paramref name="certificate"/> is the one this emulator serves HTTPS with.</summary>
    public bool IsServing(System.Security.Cryptography.X509Certificates.X509Certificate certificate) =>
        _serverCertificate is not null && certificate is not null && certificate.GetCertHashString() == _serverCertificate.GetCertHashString();

    public Uri BaseUri { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Delay added to token calls (0 .. <see cref="MaxLatency"/>).</summary>
    public TimeSpan Latency
    {
        get { lock (_switchGate) { return _latency; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxLatency);
            lock (_switchGate) { _latency = value; }
        }
    }

    /// <summary>Share (0..1) of API requests answered 429 with Retry-After: 1. Drawn from a seeded Random.</summary>
    public double TooManyRequestsRatio
    {
        get { lock (_switchGate) { return _tooManyRequestsRatio; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 0d);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1d);
            lock (_switchGate) { _tooManyRequestsRatio = value; }
        }
    }

    /// <summary>Every request received (including throttled ones).</summary>
    public int RequestCount => Volatile.Read(ref _requestCount);

    /// <summary>Requests answered 429.</summary>
    public int ThrottledCount => Volatile.Read(ref _throttledCount);

    /// <summary>Snapshot of the request log (method, path, grant_type, status; no secrets).</summary>
    public IReadOnlyList<EmulatorRequest> Requests
    {
        get { lock (_log) { return [.. _log]; } }
    }

    /// <summary>Clears the request log and counters.</summary>
    public void ResetRequestLog()
    {
        lock (_log)
        {
            _log.Clear();
            Interlocked.Exchange(ref _requestCount, 0);
            Interlocked.Exchange(ref _throttledCount, 0);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("Already started.");
        }
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AllowSynchronousIO = false;
            k.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (_serverCertificate is not null)
                {
                    listen.UseHttps(_serverCertificate);
                }
            });
        });
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        BaseUri = new Uri($"{(_serverCertificate is null ? "http" : "https")}://127.0.0.1:{port}/");
        _app = app;
        OnStarted();
    }

    /// <summary>Called once BaseUri is known.</summary>
    protected virtual void OnStarted()
    {
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requestCount);
        var request = context.Request;
        IFormCollection? form = null;
        if (HttpMethods.IsPost(request.Method) && request.HasFormContentType)
        {
            form = await request.ReadFormAsync(context.RequestAborted);
        }
        var grantType = form?["grant_type"].ToString();
        var path = request.Path.Value ?? "/";
        try
        {
            if (IsThrottled(path) && NextIsThrottled())
            {
                Interlocked.Increment(ref _throttledCount);
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = "1";
                await context.Response.WriteAsJsonAsync(new { error = "too_many_requests", error_description = "Rate limit exceeded." }, context.RequestAborted);
                return;
            }
            if (IsTokenCall(path))
            {
                var delay = Latency;
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, context.RequestAborted);
                }
            }
            await HandleCoreAsync(context, path, form ?? FormCollection.Empty);
        }
        finally
        {
            lock (_log)
            {
                if (_log.Count < MaxLogEntries)
                {
                    _log.Add(new EmulatorRequest(DateTimeOffset.UtcNow, request.Method, path,
                        string.IsNullOrEmpty(grantType) ? null : grantType, context.Response.StatusCode, request.Host.Host));
                }
            }
        }
    }

    private bool NextIsThrottled()
    {
        lock (_switchGate)
        {
            return _tooManyRequestsRatio > 0 && _random.NextDouble() < _tooManyRequestsRatio;
        }
    }

    /// <summary>Releases emulator-specific resources after Kestrel has stopped.</summary>
    protected virtual void OnDisposed()
    {
    }

    /// <summary>Whether the 429 switch applies to this path (API calls, not metadata).</summary>
    protected abstract bool IsThrottled(string path);

    /// <summary>Whether <see cref="Latency"/> applies to this path.</summary>
    protected abstract bool IsTokenCall(string path);

    protected abstract Task HandleCoreAsync(HttpContext context, string path, IFormCollection form);

    protected static Task WriteJsonAsync(HttpContext context, int status, object body)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
        return context.Response.WriteAsJsonAsync(body, body.GetType(), (JsonSerializerOptions?)null, context.RequestAborted);
    }

    protected static string? BearerToken(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var header = request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        return header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? header[prefix.Length..].Trim() : null;
    }

    public async ValueTask DisposeAsync()
    {
        var app = Interlocked.Exchange(ref _app, null);
        if (app is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await app.StopAsync(cts.Token);
            }
            finally
            {
                await app.DisposeAsync();
            }
        }
        _serverCertificate?.Dispose();
        OnDisposed();
        GC.SuppressFinalize(this);
    }

    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
