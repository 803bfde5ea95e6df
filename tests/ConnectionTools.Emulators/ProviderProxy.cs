using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ConnectionTools.Emulators;

/// <summary>
/// An HTTP CONNECT proxy on loopback that serves the real provider hosts (TLS with a leaf certificate from a test CA made
/// here) and tunnels each to its emulator. Another process reaches the emulators under the real host names with
/// HTTPS_PROXY=<see cref="ProxyUri"/> and SSL_CERT_FILE=<see cref="CaFile"/> (the CA, written by <see cref="Start"/>).
/// Used by tests/ConnectionTools.EmulatorHost (serve) and by the multi-process grant soak.
/// </summary>
public sealed class ProviderProxy : IAsyncDisposable
{
    private readonly Dictionary<string, EmulatorHost> _routes;
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _serverCertificate;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Action<string> _log;
    private Task _accepting = Task.CompletedTask;

    private ProviderProxy(Dictionary<string, EmulatorHost> routes, string caFile, Action<string> log)
    {
        _routes = routes;
        _log = log;
        CaFile = caFile;
        _ca = MakeCertificateAuthority();
        _serverCertificate = MakeServerCertificate(_ca, routes.Keys);
        _listener = new TcpListener(IPAddress.Loopback, 0);
    }

    /// <summary>http://127.0.0.1:port, for HTTPS_PROXY.</summary>
    public Uri ProxyUri => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    /// <summary>The PEM file of the test CA, for SSL_CERT_FILE.</summary>
    public string CaFile { get; }

    public IReadOnlyCollection<string> Hosts => _routes.Keys;

    /// <summary>Writes the CA to <paramref name="caFile"/> and starts accepting CONNECTs to the routed hosts.</summary>
    public static ProviderProxy Start(IReadOnlyDictionary<string, EmulatorHost> routes, string caFile, Action<string>? log = null)
    {
        var proxy = new ProviderProxy(new Dictionary<string, EmulatorHost>(routes, StringComparer.OrdinalIgnoreCase), caFile, log ?? (_ => { }));
        File.WriteAllText(caFile, proxy._ca.ExportCertificatePem() + "\n");
        proxy._listener.Start();
        proxy._accepting = proxy.AcceptAsync(proxy._stop.Token);
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        _stop.Dispose();
        _serverCertificate.Dispose();
        _ca.Dispose();
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(cancellationToken);
            _ = Task.Run(() => TunnelAsync(client, cancellationToken), cancellationToken);
        }
    }

    /// <summary>One CONNECT: answers 200, serves TLS as the provider host, and pipes the plain HTTP to the emulator.</summary>
    private async Task TunnelAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using (client)
        {
            try
            {
                await TunnelCoreAsync(client, cancellationToken);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException
                or System.Security.Authentication.AuthenticationException)
            {
                // A client that went away (a killed process) or a stopping proxy: nothing to answer.
            }
        }
    }

    private async Task TunnelCoreAsync(TcpClient client, CancellationToken cancellationToken)
    {
        var stream = client.GetStream();
        var head = await ReadHeadAsync(stream, cancellationToken);
        var requestLine = head.Split("\r\n")[0];
        var words = requestLine.Split(' ');
        if (words.Length != 3 || words[0] != "CONNECT")
        {
            _log($"refused '{requestLine}' (only CONNECT to an emulated host)");
            await WriteAsync(stream, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", cancellationToken);
            return;
        }
        var authority = words[1];
        var host = authority.Split(':')[0];
        if (!_routes.TryGetValue(host, out var emulator) || !authority.EndsWith(":443", StringComparison.Ordinal))
        {
            _log($"refused CONNECT {authority} (no emulator: nothing reaches the internet)");
            await WriteAsync(stream, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", cancellationToken);
            return;
        }
        _log($"CONNECT {authority} -> {emulator.BaseUri}");
        await WriteAsync(stream, "HTTP/1.1 200 Connection Established\r\n\r\n", cancellationToken);
        using var tls = new SslStream(stream, leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _serverCertificate,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
            }, cancellationToken);
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            _log($"TLS with the client failed for {host}: {e.Message}");
            return;
        }

        using var upstreamClient = new TcpClient();
        await upstreamClient.ConnectAsync(IPAddress.Loopback, emulator.BaseUri.Port, cancellationToken);
        Stream upstream = upstreamClient.GetStream();
        if (emulator.BaseUri.Scheme == Uri.UriSchemeHttps)
        {
            var upstreamTls = new SslStream(upstream, false, (_, certificate, _, _) => certificate is not null && emulator.IsServing(certificate));
            await upstreamTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [SslApplicationProtocol.Http11],
            }, cancellationToken);
            upstream = upstreamTls;
        }
        await using (upstream)
        {
            var up = tls.CopyToAsync(upstream, cancellationToken);
            var down = upstream.CopyToAsync(tls, cancellationToken);
            await Task.WhenAny(up, down);
        }
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (bytes.Count < 16 * 1024)
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                throw new IOException("closed before the request head ended");
            }
            bytes.Add(one[0]);
            if (bytes.Count >= 4 && bytes[^1] == '\n' && bytes[^2] == '\r' && bytes[^3] == '\n' && bytes[^4] == '\r')
            {
                break;
            }
        }
        return Encoding.ASCII.GetString(bytes.ToArray());
    }

    private static Task WriteAsync(Stream stream, string text, CancellationToken cancellationToken) =>
        stream.WriteAsync(Encoding.ASCII.GetBytes(text), cancellationToken).AsTask();

    private static X509Certificate2 MakeCertificateAuthority()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=ConnectionTools README test CA", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static X509Certificate2 MakeServerCertificate(X509Certificate2 ca, IEnumerable<string> hosts)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=ConnectionTools README emulated providers", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var host in hosts)
        {
            san.AddDnsName(host);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-30), DateTimeOffset.UtcNow.AddDays(1), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
    }
}
