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
    private bool _rememberThrottledCallers = true;
    private readonly Dictionary<string, DateTimeOffset> _throttledUntil = new(StringComparer.Ordinal);
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

    /// <summary>
    /// How long the emulators' request patterns may take to match. Only a guard against a runaway pattern: a test machine under
    /// load can pause a thread for seconds, and a 1 s limit answered a plain query 500 in a loaded CI run.
    /// </summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(30);

    /// <summary>What a 429 answer asks for in Retry-After.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>Timer slack: a caller that comes back this much before Retry-After has passed still counts as having waited.</summary>
    public static readonly TimeSpan RetryAfterTolerance = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Share (0..1) of API requests answered 429 with Retry-After: 1. Drawn from a seeded Random. Setting 0 also forgets
    /// the remembered callers (see <see cref="RememberThrottledCallers"/>).
    /// </summary>
    public double TooManyRequestsRatio
    {
        get { lock (_switchGate) { return _tooManyRequestsRatio; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 0d);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1d);
            lock (_switchGate)
            {
                _tooManyRequestsRatio = value;
                if (value == 0)
                {
                    _throttledUntil.Clear();
                }
            }
        }
    }

    /// <summary>
    /// When on (the default), a caller answered 429 is remembered (by <see cref="ThrottleKey"/>) until Retry-After has passed:
    /// its requests before then are answered 429 again, and its first request after then is never throttled. So a client that
    /// honours Retry-After succeeds within 3 attempts, and one that does not keeps getting 429. Off: every request is an
    /// independent draw (to measure the ratio).
    /// </summary>
    public bool RememberThrottledCallers
    {
        get { lock (_switchGate) { return _rememberThrottledCallers; } }
        set
        {
            lock (_switchGate)
            {
                _rememberThrottledCallers = value;
                _throttledUntil.Clear();
            }
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
            if (IsThrottled(path) && NextIsThrottled(ThrottleKey(request, form ?? FormCollection.Empty, path)))
            {
                Interlocked.Increment(ref _throttledCount);
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
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

    private bool NextIsThrottled(string key)
    {
        lock (_switchGate)
        {
            if (_tooManyRequestsRatio <= 0)
            {
                return false;
            }
            var now = DateTimeOffset.UtcNow;
            if (_rememberThrottledCallers && _throttledUntil.TryGetValue(key, out var until))
            {
                if (now + RetryAfterTolerance < until)
                {
                    return true; // came back too early: still throttled
                }
                _throttledUntil.Remove(key);
                return false; // waited as asked: never throttled
            }
            if (_random.NextDouble() >= _tooManyRequestsRatio)
            {
                return false;
            }
            if (_rememberThrottledCallers)
            {
                if (_throttledUntil.Count > 10_000)
                {
                    foreach (var stale in _throttledUntil.Where(e => e.Value <= now).Select(e => e.Key).ToList())
                    {
                        _throttledUntil.Remove(stale);
                    }
                }
                _throttledUntil[key] = now + RetryAfter;
            }
            return true;
        }
    }

    /// <summary>
    /// Who is asking, for the throttle memory: the form's client_id plus the grant's subject (refresh_token, the assertion's
    /// iss/sub, username, code, device code or the token to revoke), else client_id plus grant_type; for requests without a form, the bearer token,
    /// else method and path. Hashed: the memory holds no tokens.
    /// </summary>
    protected virtual string ThrottleKey(HttpRequest request, IFormCollection form, string path)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(form);
        string key;
        if (form.Count > 0)
        {
            var subject = First(form, "refresh_token", "username", "code", "device_code", "token") ?? AssertionSubject(First(form, "assertion", "client_assertion"));
            key = $"form|{form["client_id"]}|{subject ?? "grant:" + form["grant_type"] + "|" + form["response_type"]}";
        }
        else
        {
            var bearer = BearerToken(request);
            key = bearer is null ? $"anon|{request.Method}|{path}" : "bearer|" + bearer;
        }
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)));

        static string? First(IFormCollection form, params string[] names) =>
            names.Select(n => form[n].ToString()).FirstOrDefault(v => v.Length > 0);
    }

    /// <summary>"iss sub" of a JWT's payload, read without validating it; null when it is not one.</summary>
    private static string? AssertionSubject(string? jwt)
    {
        var parts = jwt?.Split('.');
        if (parts is not { Length: 3 })
        {
            return null;
        }
        try
        {
            using var payload = JsonDocument.Parse(Jws.Base64UrlDecode(parts[1]));
            var root = payload.RootElement;
            return root.ValueKind == JsonValueKind.Object ? $"{Jws.GetString(root, "iss")} {Jws.GetString(root, "sub")}" : null;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return null;
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
