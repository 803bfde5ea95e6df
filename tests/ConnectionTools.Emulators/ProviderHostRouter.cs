using System.Collections.Concurrent;
using System.Net.Security;

namespace ConnectionTools.Emulators;

/// <summary>
/// An HttpMessageHandler that sends requests for real provider hosts (login.microsoftonline.us, contoso.my.salesforce.com, …)
/// to loopback emulators, keeping the original Host header so the emulator sees, and can check, which host the client chose.
/// Production code builds the real URLs; only the transport differs in tests. Unmapped hosts fail: nothing reaches the internet.
/// </summary>
public sealed class ProviderHostRouter : DelegatingHandler
{
    private readonly ConcurrentDictionary<string, Uri> _routes = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<Uri> _sent = new();

    /// <param name="trusted">Emulator certificates to trust (self-signed, made at run time).</param>
    public ProviderHostRouter(params EmulatorHost[] trusted)
        : base(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    errors == SslPolicyErrors.None || (certificate is not null && trusted.Any(t => t.IsServing(certificate))),
            },
        })
    {
    }

    /// <summary>Routes <paramref name="host"/> (any port) to <paramref name="emulator"/>.</summary>
    public ProviderHostRouter Route(string host, EmulatorHost emulator)
    {
        ArgumentNullException.ThrowIfNull(emulator);
        _routes[host] = emulator.BaseUri;
        return this;
    }

    /// <summary>A route for "*.suffix" serves every host under that suffix, for benchmarks with many environments.</summary>
    private bool TryWildcard(string host, out Uri target)
    {
        var dot = host.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0 && _routes.TryGetValue("*" + host[dot..], out var found))
        {
            target = found;
            return true;
        }

        target = null!;
        return false;
    }

    /// <summary>Whether <see cref="Sent"/> records (off for long benchmarks).</summary>
    public bool RecordSent { get; set; } = true;

    /// <summary>Every URL the client asked for, before routing, in order.</summary>
    public IReadOnlyList<Uri> Sent => _sent.ToList();

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var original = request.RequestUri!;
        if (RecordSent)
        {
            _sent.Enqueue(original);
        }

        if (original.IsLoopback)
        {
            return base.SendAsync(request, cancellationToken);
        }

        if (!_routes.TryGetValue(original.Host, out var target) && !TryWildcard(original.Host, out target))
        {
            throw new HttpRequestException($"No emulator routed for host '{original.Host}' (tests never reach the internet).");
        }

        request.Headers.Host = original.Host;
        request.RequestUri = new UriBuilder(original) { Scheme = target.Scheme, Host = target.Host, Port = target.Port }.Uri;
        return base.SendAsync(request, cancellationToken);
    }
}
