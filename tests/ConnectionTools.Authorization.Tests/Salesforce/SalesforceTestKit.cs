using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;

namespace ConnectionTools.Authorization.Tests;

/// <summary>A test certificate made once per run, as a password-protected PFX, a .cer without key, and in memory.</summary>
internal static class SalesforceCertificates
{
    public const string PfxPassword = "Pfx-P@ss-7f3c1e";

    private static readonly Lazy<(X509Certificate2 Certificate, string Directory)> Made = new(Make);

    public static X509Certificate2 Certificate => Made.Value.Certificate;

    public static string PfxPath => Path.Combine(Made.Value.Directory, "jwt.pfx");

    public static string CerPath => Path.Combine(Made.Value.Directory, "jwt.cer");

    public static string Directory => Made.Value.Directory;

    private static (X509Certificate2, string) Make()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=ConnectionTools Salesforce JWT test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var directory = Path.Combine(Path.GetTempPath(), "ct-sf-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var pfx = created.Export(X509ContentType.Pfx, PfxPassword);
        File.WriteAllBytes(Path.Combine(directory, "jwt.pfx"), pfx);
        File.WriteAllBytes(Path.Combine(directory, "jwt.cer"), created.Export(X509ContentType.Cert));
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                System.IO.Directory.Delete(directory, true);
            }
            catch (IOException)
            {
            }
        };
        return (X509CertificateLoader.LoadPkcs12(pfx, PfxPassword), directory);
    }
}

/// <summary>Records every request and response body the authorizer exchanged, to harvest the secrets the scan looks for.</summary>
internal sealed class RecordingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    public ConcurrentQueue<string> Bodies { get; } = new();

    public ConcurrentQueue<string> Headers { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is not null)
        {
            Bodies.Enqueue(await request.Content.ReadAsStringAsync(cancellationToken));
        }
        if (request.Headers.Authorization is { } auth)
        {
            Headers.Enqueue(auth.Parameter ?? "");
        }
        var response = await base.SendAsync(request, cancellationToken);
        Bodies.Enqueue(await response.Content.ReadAsStringAsync(cancellationToken));
        return response;
    }

    /// <summary>Every value of a secret-bearing field seen on the wire.</summary>
    public IReadOnlyList<string> Secrets()
    {
        string[] names = ["access_token", "refresh_token", "assertion", "code_verifier", "code", "device_code", "token"];
        var found = new List<string>(Headers.Where(h => h.Length > 0));
        foreach (var body in Bodies)
        {
            if (body.StartsWith('{'))
            {
                using var json = JsonDocument.Parse(body);
                foreach (var name in names)
                {
                    if (json.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
                    {
                        found.Add(v.GetString()!);
                    }
                }
            }
            else
            {
                foreach (var pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
                {
                    var kv = pair.Split('=', 2);
                    if (kv.Length == 2 && names.Contains(kv[0]))
                    {
                        found.Add(Uri.UnescapeDataString(kv[1].Replace('+', ' ')));
                    }
                }
            }
        }
        return found.Where(s => s.Length >= 8).Distinct().ToList();
    }
}

/// <summary>
/// One emulated org reached the way production code reaches it: by its real My Domain host, routed to a loopback
/// SalesforceEmulator that answers 421 to any other host.
/// </summary>
internal sealed class SalesforceOrg : IAsyncDisposable
{
    public const string ConsumerKey = "3MVG9ConnectionTools.test.key";
    public const string Username = "integration@contoso.example";
    public const string ProductionOrgId = "00D5g000001AbCdEAK";
    public const string SandboxOrgId = "00D7x000000SbXyZAB";

    private SalesforceOrg(SalesforceEmulator emulator, bool sandbox)
    {
        Emulator = emulator;
        Sandbox = sandbox;
        Host = sandbox ? "contoso--uat.sandbox.my.salesforce.com" : "contoso.my.salesforce.com";
        Router = new ProviderHostRouter().Route(Host, emulator);
        Recorder = new RecordingHandler(Router);
        Http = new HttpClient(Recorder);
        BrowserRouter = new ProviderHostRouter().Route(Host, emulator);
        Browser = new HttpClient(BrowserRouter);
    }

    public SalesforceEmulator Emulator { get; }

    public bool Sandbox { get; }

    public string Host { get; }

    public Uri InstanceUrl => new($"https://{Host}/");

    public ConnectionType Type => Sandbox ? ConnectionType.SalesforceSandbox : ConnectionType.SalesforceProduction;

    public string OrgId => Sandbox ? SandboxOrgId : ProductionOrgId;

    public ProviderHostRouter Router { get; }

    public RecordingHandler Recorder { get; }

    private ProviderHostRouter BrowserRouter { get; }

    /// <summary>
    /// Serves <paramref name="host"/> too, for the authorizer and the browser alike: the login host of the org's kind (a
    /// sign-in without -InstanceUrl starts there), or another host the token answer may name.
    /// </summary>
    public SalesforceOrg AlsoServe(string host)
    {
        Router.Route(host, Emulator);
        BrowserRouter.Route(host, Emulator);
        Emulator.AlsoServeHosts(host);
        return this;
    }

    /// <summary>New-Connection's request for a system connection <paramref name="name"/> to this org by the interactive sign-in (the test browser allows at once).</summary>
    public ConnectionTools.SystemConnections.NewConnectionRequest InteractiveConnection(string name) => new()
    {
        Name = name,
        Type = Type.ToString(),
        InstanceUrl = InstanceUrl.AbsoluteUri,
        AcceptDataProcessingAgreement = true,
        ClientId = ConsumerKey,
        Interactive = true,
    };

    /// <summary>The login host of the org's kind: test.salesforce.com for a sandbox, login.salesforce.com otherwise.</summary>
    public string LoginHost => Sandbox ? "test.salesforce.com" : "login.salesforce.com";

    /// <summary>What the authorizer uses.</summary>
    public HttpClient Http { get; }

    /// <summary>The test's "browser": does not follow redirects.</summary>
    public HttpClient Browser { get; }

    /// <summary>What a node opened against this org is given: <see cref="Http"/>, and <see cref="BrowseAsync"/> as its browser.</summary>
    public ConnectionTools.Nodes.NodeClients NodeClients() => new() { ProviderHttp = Http, OpenBrowser = BrowseAsync };

    public ConcurrentQueue<string> Verbose { get; } = new();

    public ConcurrentQueue<Uri> Opened { get; } = new();

    public ConcurrentQueue<string> BrowserPages { get; } = new();

    public ConcurrentQueue<string> DeviceMessages { get; } = new();

    public SystemTarget Target => new(Type, EnvironmentType.Public, InstanceUrl);

    public static async Task<SalesforceOrg> StartAsync(bool sandbox = false, bool withCertificate = true)
    {
        var emulator = await SalesforceEmulator.StartNewAsync(
            sandbox ? InstanceUrls.SalesforceSandboxLogin : InstanceUrls.SalesforceProductionLogin,
            sandbox ? SandboxOrgId : ProductionOrgId);
        var org = new SalesforceOrg(emulator, sandbox);
        emulator.RegisterConnectedApp(ConsumerKey, null, withCertificate ? SalesforceCertificates.Certificate : null);
        emulator.RegisterUser(Username);
        emulator.ExpectedHost = org.Host;
        emulator.InstanceUrl = org.InstanceUrl;
        return org;
    }

    /// <summary>A context whose browser GETs the authorize URL, then GETs the redirect (the loopback listener): real HTTP end to end.</summary>
    public AuthorizationContext Context(Action<string, CancellationToken>? onDeviceCode = null) => new(Http)
    {
        RequestTimeout = TimeSpan.FromSeconds(10),
        InteractionTimeout = TimeSpan.FromSeconds(20),
        Redirect = new LoopbackRedirect(0),
        Verbose = Verbose.Enqueue,
        OpenBrowser = BrowseAsync,
        ShowDeviceCode = message =>
        {
            DeviceMessages.Enqueue(message);
            onDeviceCode?.Invoke(message, CancellationToken.None);
        },
    };

    /// <summary>Approves the device code from a background task, as the user on another device.</summary>
    public AuthorizationContext DeviceContext(string username = Username) => Context((message, token) =>
    {
        var userCode = System.Text.RegularExpressions.Regex.Match(message, "code ([A-Z0-9]{8})").Groups[1].Value;
        _ = Task.Run(async () =>
        {
            await Task.Delay(300);
            Assert.True(Emulator.ApproveDeviceCode(userCode, username));
        });
    });

    public async Task BrowseAsync(Uri url, CancellationToken cancellationToken)
    {
        Opened.Enqueue(url);
        using var authorize = await Browser.GetAsync(url, cancellationToken);
        if (authorize.StatusCode != HttpStatusCode.Found)
        {
            BrowserPages.Enqueue($"{(int)authorize.StatusCode} {await authorize.Content.ReadAsStringAsync(cancellationToken)}");
            return;
        }
        using var redirect = await Browser.GetAsync(authorize.Headers.Location!, cancellationToken);
        BrowserPages.Enqueue($"{(int)redirect.StatusCode} {await redirect.Content.ReadAsStringAsync(cancellationToken)}");
    }

    public AuthorizationSpec Spec(AuthorizationFlow flow, bool canInteract = true) => new()
    {
        Type = Type,
        InstanceUrl = InstanceUrl,
        Flow = flow,
        ClientId = ConsumerKey,
        Username = flow == AuthorizationFlow.JwtBearer ? Username : null,
        CertificatePath = flow == AuthorizationFlow.JwtBearer ? SalesforceCertificates.PfxPath : null,
        CertificatePassword = flow == AuthorizationFlow.JwtBearer ? SalesforceCertificates.PfxPassword : null,
        CanInteract = canInteract,
    };

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Browser.Dispose();
        await Emulator.DisposeAsync();
    }
}
