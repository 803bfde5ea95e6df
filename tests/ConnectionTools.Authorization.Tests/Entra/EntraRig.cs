using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using ConnectionTools.Authorization.Entra;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// An Entra ID emulator reached under one cloud's real host names (login.microsoftonline.us, contoso.crm.microsoftdynamics.us, …)
/// through a <see cref="ProviderHostRouter"/>, with an app registration (secret and certificate), the well-known public
/// client and a user. The emulator serves only that cloud's authority host and the one registered environment.
/// </summary>
internal sealed partial class EntraRig : IAsyncDisposable
{
    public const string ConfidentialClient = "11111111-1111-1111-1111-111111111111";
    public const string Secret = "Xq8~s3cr3t.CLIENT-value_42";
    public const string CertificatePassword = "pfx-P@ssw0rd-7731";
    public const string User = "admin@contoso.onmicrosoft.com";

    public static readonly IReadOnlyDictionary<EnvironmentType, string> EnvironmentHosts = new Dictionary<EnvironmentType, string>
    {
        [EnvironmentType.Public] = "contoso.crm.dynamics.com",
        [EnvironmentType.GCC] = "contoso.crm9.dynamics.com",
        [EnvironmentType.GCCHigh] = "contoso.crm.microsoftdynamics.us",
        [EnvironmentType.DoD] = "contoso.crm.appsplatform.us",
        [EnvironmentType.China] = "contoso.crm.dynamics.cn",
    };

    public static readonly IReadOnlyDictionary<EnvironmentType, string> AuthorityHosts = new Dictionary<EnvironmentType, string>
    {
        [EnvironmentType.Public] = "login.microsoftonline.com",
        [EnvironmentType.GCC] = "login.microsoftonline.com",
        [EnvironmentType.GCCHigh] = "login.microsoftonline.us",
        [EnvironmentType.DoD] = "login.microsoftonline.us",
        [EnvironmentType.China] = "login.partner.microsoftonline.cn",
    };

    private readonly ConcurrentQueue<string> _verbose = new();
    private readonly ConcurrentQueue<string> _deviceMessages = new();
    private readonly List<string> _tempFiles = [];

    private EntraRig(EnvironmentType environment, EntraEmulator emulator, ClientCertificate certificate)
    {
        Environment = environment;
        Emulator = emulator;
        Certificate = certificate;
        AuthorityHost = AuthorityHosts[environment];
        EnvironmentHost = EnvironmentHosts[environment];
        InstanceUrl = new Uri($"https://{EnvironmentHost}/");
        Router = new ProviderHostRouter(emulator).Route(AuthorityHost, emulator).Route(EnvironmentHost, emulator);
        Http = new HttpClient(Router) { Timeout = TimeSpan.FromSeconds(60) };
        Context = new AuthorizationContext(Http)
        {
            Verbose = _verbose.Enqueue,
            ShowDeviceCode = ShowDeviceCode,
            OpenBrowser = FollowAuthorizeRedirectAsync,
            RequestTimeout = TimeSpan.FromSeconds(20),
            InteractionTimeout = TimeSpan.FromSeconds(60),
        };
    }

    public EnvironmentType Environment { get; }
    public EntraEmulator Emulator { get; }
    public ClientCertificate Certificate { get; }
    public string AuthorityHost { get; }
    public string EnvironmentHost { get; }
    public Uri InstanceUrl { get; }
    public ProviderHostRouter Router { get; }
    public HttpClient Http { get; }
    public AuthorizationContext Context { get; }
    public EntraAuthorizer Authorizer { get; } = new();
    public string Tenant => Emulator.TenantId.ToString("D");
    public SystemTarget Target => new(ConnectionType.Dynamics365, Environment, InstanceUrl);
    public IReadOnlyList<string> VerboseLines => [.. _verbose];
    public IReadOnlyList<string> DeviceMessages => [.. _deviceMessages];

    /// <summary>Who approves device codes; null leaves them pending.</summary>
    public string? DeviceCodeApprover { get; set; } = User;

    /// <summary>How many times the browser was opened.</summary>
    public int BrowserOpened;

    public static async Task<EntraRig> StartAsync(EnvironmentType environment, int seed = 4242)
    {
        var emulator = await EntraEmulator.StartNewAsync(seed: seed);
        var certificate = ClientCertificate.Create();
        var rig = new EntraRig(environment, emulator, certificate);
        emulator.AcceptAuthorityHosts(rig.AuthorityHost);
        emulator.RegisterResource("https://" + rig.EnvironmentHost);
        emulator.RegisterClient(ConfidentialClient, Secret, certificate.PublicOnly);
        emulator.RegisterClient(EntraAuthorizer.WellKnownPublicClientId);
        emulator.RegisterUser(User);
        return rig;
    }

    public AuthorizationSpec Spec(AuthorizationFlow flow, bool canInteract = true) => new()
    {
        Type = ConnectionType.Dynamics365,
        InstanceUrl = InstanceUrl,
        EnvironmentType = Environment,
        Flow = flow,
        CanInteract = canInteract,
        TenantId = flow is AuthorizationFlow.ClientSecret or AuthorizationFlow.ClientCertificate ? Tenant : null,
        ClientId = flow is AuthorizationFlow.ClientSecret or AuthorizationFlow.ClientCertificate ? ConfidentialClient : null,
        ClientSecret = flow == AuthorizationFlow.ClientSecret ? Secret : null,
        Certificate = flow == AuthorizationFlow.ClientCertificate ? Certificate.WithKey : null,
        CertificatePath = flow == AuthorizationFlow.ClientCertificate ? Certificate.PfxPath : null,
        CertificatePassword = flow == AuthorizationFlow.ClientCertificate ? CertificatePassword : null,
    };

    public Task<AuthorizationOutcome> AuthorizeAsync(AuthorizationSpec spec) => Authorizer.AuthorizeAsync(spec, Context, CancellationToken.None);

    public Task<AuthorizationOutcome> RefreshAsync(GrantMaterial grant) => Authorizer.RefreshAsync(Target, grant, Context, CancellationToken.None);

    /// <summary>What a test must never find in a message or verbose line.</summary>
    public static void AssertNoSecrets(string? text, params string?[] secrets)
    {
        text ??= "";
        foreach (var secret in secrets.Append(Secret).Append(CertificatePassword))
        {
            if (!string.IsNullOrEmpty(secret))
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }
        }
        // Entra ID style token prefixes the emulator uses for access and refresh tokens.
        Assert.DoesNotContain("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("1.AXoA", text, StringComparison.Ordinal);
    }

    public void AssertVerboseClean(params string?[] secrets)
    {
        foreach (var line in VerboseLines)
        {
            AssertNoSecrets(line, secrets);
        }
    }

    private void ShowDeviceCode(string message)
    {
        _deviceMessages.Enqueue(message);
        var code = DeviceCodePattern().Match(message).Groups[1].Value;
        if (DeviceCodeApprover is not null)
        {
            Assert.True(Emulator.ApproveDeviceCode(code, DeviceCodeApprover), "the device code shown is pending at the emulator");
        }
    }

    /// <summary>The last browser run: its failure, if any, shows in the test.</summary>
    public Task? Browser { get; private set; }

    /// <summary>
    /// The person's browser, like the system browser: OpenBrowser returns at once (MSAL starts its loopback listener only
    /// after it returns); in the background the "browser" GETs the authorize URL, then follows the redirect to the listener.
    /// </summary>
    /// <summary>
    /// Waits until MSAL's loopback listener listens, and a moment longer: .NET's HttpListener on Linux fails its own Start
    /// (ArgumentNullException in HttpEndPointListener.ProcessAccept, dotnet/corefx#35191) when a connection arrives between
    /// its listen and its first accept, which a browser that retries at once can hit and a person's never does.
    /// </summary>
    private static async Task UntilListeningAsync(Uri? redirect, CancellationToken cancellationToken)
    {
        if (redirect is null || !OperatingSystem.IsLinux())
        {
            await Task.Delay(300, cancellationToken);
            return;
        }

        // /proc/net/tcp{,6}: local address as hex IP:PORT, state 0A is LISTEN.
        var port = ":" + redirect.Port.ToString("X4", System.Globalization.CultureInfo.InvariantCulture) + " ";
        bool Listening() => new[] { "/proc/net/tcp", "/proc/net/tcp6" }.Any(table => File.Exists(table) &&
            File.ReadLines(table).Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Any(f => f.Length > 3 && (f[1] + " ").EndsWith(port, StringComparison.Ordinal) && f[3] == "0A"));
        for (var waited = 0; waited < 30_000 && !Listening(); waited += 20)
        {
            await Task.Delay(20, cancellationToken);
        }

        await Task.Delay(200, cancellationToken);
    }

    private Task FollowAuthorizeRedirectAsync(Uri authorize, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref BrowserOpened);
        Browser = Task.Run(async () =>
        {
            using var signIn = await Http.GetAsync(authorize, cancellationToken);
            HttpRequestMessage Back()
            {
                if (signIn.StatusCode == System.Net.HttpStatusCode.Redirect)
                {
                    AuthorizeRedirects.Enqueue(signIn.Headers.Location!);
                    return new HttpRequestMessage(HttpMethod.Get, signIn.Headers.Location!);
                }

                // response_mode=form_post: the page's form, submitted as a browser would.
                Assert.Equal(System.Net.HttpStatusCode.OK, signIn.StatusCode);
                var html = signIn.Content.ReadAsStringAsync(cancellationToken).GetAwaiter().GetResult();
                var action = new Uri(System.Net.WebUtility.HtmlDecode(FormAction().Match(html).Groups[1].Value));
                AuthorizeRedirects.Enqueue(action);
                var fields = FormInput().Matches(html).Select(m => new KeyValuePair<string, string>(
                    System.Net.WebUtility.HtmlDecode(m.Groups[1].Value), System.Net.WebUtility.HtmlDecode(m.Groups[2].Value))).ToList();
                FormPosts.Enqueue(fields.Select(f => f.Key).ToList());
                return new HttpRequestMessage(HttpMethod.Post, action) { Content = new FormUrlEncodedContent(fields) };
            }

            await UntilListeningAsync(signIn.StatusCode == System.Net.HttpStatusCode.Redirect ? signIn.Headers.Location! : null, cancellationToken);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    using var request = Back();
                    using var back = await Http.SendAsync(request, cancellationToken);
                    back.EnsureSuccessStatusCode();
                    return;
                }
                catch (HttpRequestException) when (attempt < 50)
                {
                    // MSAL's loopback listener starts after OpenBrowser returned.
                    await Task.Delay(100, cancellationToken);
                }
            }
        }, cancellationToken);
        return Task.CompletedTask;
    }

    /// <summary>The field names of each form the browser posted back.</summary>
    public ConcurrentQueue<List<string>> FormPosts { get; } = new();

    [GeneratedRegex("<form[^>]*action=\"([^\"]*)\"")]
    private static partial Regex FormAction();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]*)\" value=\"([^\"]*)\"")]
    private static partial Regex FormInput();

    /// <summary>Where the authorize endpoint sent the browser (MSAL's loopback listener, with the code or an error).</summary>
    public ConcurrentQueue<Uri> AuthorizeRedirects { get; } = new();

    [GeneratedRegex(@"enter the code (\S+)")]
    private static partial Regex DeviceCodePattern();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Certificate.Dispose();
        await Emulator.DisposeAsync();
    }
}

/// <summary>The app registration's certificate: with its key (in memory and as a password-protected PFX file), and public only.</summary>
internal sealed class ClientCertificate : IDisposable
{
    private ClientCertificate(X509Certificate2 withKey, X509Certificate2 publicOnly, string pfxPath)
    {
        WithKey = withKey;
        PublicOnly = publicOnly;
        PfxPath = pfxPath;
    }

    public X509Certificate2 WithKey { get; }
    public X509Certificate2 PublicOnly { get; }
    public string PfxPath { get; }

    public static ClientCertificate Create(string subject = "CN=ConnectionTools Entra test app")
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var pfx = created.Export(X509ContentType.Pfx, EntraRig.CertificatePassword);
        var path = Path.Combine(Path.GetTempPath(), $"ct-entra-{Guid.NewGuid():N}.pfx");
        File.WriteAllBytes(path, pfx);
        return new ClientCertificate(
            X509CertificateLoader.LoadPkcs12(pfx, EntraRig.CertificatePassword),
            X509CertificateLoader.LoadCertificate(created.RawData),
            path);
    }

    public void Dispose()
    {
        WithKey.Dispose();
        PublicOnly.Dispose();
        try
        {
            File.Delete(PfxPath);
        }
        catch (IOException)
        {
        }
    }
}
