using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ConnectionTools.Emulators;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnectionTools.EmulatorProcess;

/// <summary>
/// serve DIRECTORY: starts the emulators the README's examples name and an HTTP CONNECT proxy on loopback that serves the
/// real provider hosts (TLS with a leaf certificate from a test CA made here) and tunnels each to its emulator; writes
/// DIRECTORY/ca.pem (the CA to trust: SSL_CERT_FILE), DIRECTORY/sf-jwt.pfx (the connected app's certificate, with a
/// password) and DIRECTORY/ready.json, and logs every tunnel and device-code approval to DIRECTORY/proxy.log. A person
/// on another device approves each device code shown (polled every 250 ms). Runs until standard input closes.
///
/// The test's own hands on the emulated systems, at ready.json's Control (plain HTTP on loopback, never through the proxy):
/// what a person does in the org or the environment, outside the API the product calls (see <see cref="ControlAsync"/>).
///
/// browse URL: the fake system browser (the xdg-open the tests put first on PATH): GETs the sign-in page through the proxy
/// named by HTTPS_PROXY, trusting the CA through SSL_CERT_FILE, exactly as the module's HttpClient does, and follows the
/// redirect to the loopback listener.
/// </summary>
internal static class Program
{
    public const string PfxPassword = "readme-Pfx-P@ss-2026";
    public const string SalesforceConsumerKey = "3MVG9...";               // the README's -ClientId, literally
    public const string SalesforceNodeDefaultKey = "3MVG9ReadmeNodeDefault"; // what the test sets as the node's default consumer key
    public const string SalesforceUser = "admin@contoso.com";
    public const string SalesforceIntegrationUser = "integration@contoso.com";
    public const string EntraUser = "admin@contoso.onmicrosoft.com";
    public const string EntraAppId = "0b7e6f2a-5d41-4c3e-9a8b-7f1e2d3c4b5a";
    public const string EntraSecret = "readme~Client.Secret_2026";
    // EntraAuthorizer.WellKnownPublicClientId: the public client the module signs in with when no -ClientId is given.
    public const string EntraPublicClient = "51f81489-12ee-4a9e-aaae-a2591f45987d";
    public const string DiscoveryHost = "globaldisco.crm.dynamics.com";
    // Routed from the start (the proxy's certificate names every host), for a test that gives the user a third environment.
    public const string SpareEnvironmentHost = "contoso-dev.crm.dynamics.com";

    private static readonly string[] SignInFirstHosts = [DiscoveryHost, SpareEnvironmentHost, "login.salesforce.com"];

    private static readonly EmulatedEnvironment[] DefaultEnvironments =
    [
        new("Contoso Sales", "contoso", new Uri("https://contoso.crm.dynamics.com/"), "NA") { OrganizationId = Guid.Parse("6f1d2c3b-0a9e-4d8c-8b7a-1e2f3a4b5c6d") },
        new("Contoso Finance", "contosofin", new Uri("https://contoso-fin.crm4.dynamics.com/"), "EMEA") { OrganizationId = Guid.Parse("7a2e3d4c-1b0f-4e9d-9c8b-2f3a4b5c6d7e") },
    ];

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "serve")
        {
            return await ServeAsync(args[1]);
        }
        if (args.Length == 2 && args[0] == "browse")
        {
            return await BrowseAsync(new Uri(args[1]));
        }
        Console.Error.WriteLine("usage: ConnectionTools.EmulatorHost serve DIRECTORY | browse URL");
        return 2;
    }

    private static async Task<int> ServeAsync(string directory)
    {
        Directory.CreateDirectory(directory);
        var log = new Log(Path.Combine(directory, "proxy.log"));

        var contoso = await SalesforceEmulator.StartNewAsync();
        contoso.InstanceUrl = new Uri("https://contoso.my.salesforce.com/");
        contoso.ExpectedHost = "contoso.my.salesforce.com";
        contoso.RegisterConnectedApp(SalesforceNodeDefaultKey);
        contoso.RegisterConnectedApp(SalesforceConsumerKey);
        contoso.RegisterUser(SalesforceUser);
        contoso.AddCases(30, DateTimeOffset.UtcNow.AddDays(-2), TimeSpan.FromHours(1));
        contoso.AlsoServeHosts("login.salesforce.com"); // New-Connection without -InstanceUrl signs in there

        using var jwt = MakeJwtCertificate(Path.Combine(directory, "sf-jwt.pfx"));
        var batch = await SalesforceEmulator.StartNewAsync(organizationId: "00D5g000002BaTcHAB", seed: 4343);
        batch.InstanceUrl = new Uri("https://contoso-batch.my.salesforce.com/");
        batch.ExpectedHost = "contoso-batch.my.salesforce.com";
        batch.RegisterConnectedApp(SalesforceConsumerKey, certificate: X509CertificateLoader.LoadCertificate(jwt.Export(X509ContentType.Cert)));
        batch.RegisterUser(SalesforceIntegrationUser);

        var entra = await EntraEmulator.StartNewAsync();
        entra.AcceptAuthorityHosts("login.microsoftonline.com");
        entra.TenantDomain = "contoso.onmicrosoft.com";
        entra.RegisterResource("https://contoso.crm.dynamics.com");
        entra.RegisterResource("https://contoso-fin.crm4.dynamics.com");
        entra.SetOrganizationIdForHost("contoso.crm.dynamics.com", Guid.Parse("6f1d2c3b-0a9e-4d8c-8b7a-1e2f3a4b5c6d"));
        entra.SetOrganizationIdForHost("contoso-fin.crm4.dynamics.com", Guid.Parse("7a2e3d4c-1b0f-4e9d-9c8b-2f3a4b5c6d7e"));
        entra.RegisterClient(EntraPublicClient);
        entra.RegisterClient(EntraAppId, EntraSecret);
        entra.RegisterUser(EntraUser);
        // The Global Discovery Service of the Public cloud: the user reaches both environments until a test sets another list.
        entra.ServeDiscovery(DiscoveryHost);
        entra.SetEnvironments(EntraUser, DefaultEnvironments);

        var routes = new Dictionary<string, EmulatorHost>(StringComparer.OrdinalIgnoreCase)
        {
            ["contoso.my.salesforce.com"] = contoso,
            ["contoso-batch.my.salesforce.com"] = batch,
            ["login.microsoftonline.com"] = entra,
            ["contoso.crm.dynamics.com"] = entra,
            ["contoso-fin.crm4.dynamics.com"] = entra,
            [DiscoveryHost] = entra,
            [SpareEnvironmentHost] = entra,
            ["login.salesforce.com"] = contoso,
        };

        await using var proxy = ProviderProxy.Start(routes, Path.Combine(directory, "ca.pem"), log.Write);
        var (control, controlUrl) = await StartControlAsync(contoso, entra, log);
        await using var controlServer = control;
        using var stop = new CancellationTokenSource();
        var approving = ApproveDeviceCodesAsync(log, stop.Token, (contoso, SalesforceUser), (batch, SalesforceIntegrationUser), (entra, EntraUser));

        var ready = new Dictionary<string, object>
        {
            ["Proxy"] = proxy.ProxyUri.GetLeftPart(UriPartial.Authority),
            ["CaFile"] = Path.Combine(directory, "ca.pem"),
            ["PfxPath"] = Path.Combine(directory, "sf-jwt.pfx"),
            ["PfxPassword"] = PfxPassword,
            ["SalesforceConsumerKey"] = SalesforceConsumerKey,
            ["SalesforceNodeDefaultKey"] = SalesforceNodeDefaultKey,
            ["SalesforceOrganizationId"] = contoso.OrganizationId,
            ["SalesforceBatchOrganizationId"] = batch.OrganizationId,
            ["SalesforceUser"] = SalesforceUser,
            ["SalesforceCases"] = contoso.CaseCount,
            ["EntraAppId"] = EntraAppId,
            ["EntraSecret"] = EntraSecret,
            ["EntraUser"] = EntraUser,
            // The hosts the README's quick start reaches; the sign-in-first hosts are routed too, for ChooseEnvironment.Tests.
            ["Hosts"] = routes.Keys.Except(SignInFirstHosts).ToArray(),
            ["SignInFirstHosts"] = SignInFirstHosts,
            ["Control"] = controlUrl,
        };
        var readyPath = Path.Combine(directory, "ready.json");
        await File.WriteAllTextAsync(readyPath + ".tmp", JsonSerializer.Serialize(ready));
        File.Move(readyPath + ".tmp", readyPath, overwrite: true);
        Console.WriteLine("ready " + readyPath);

        // Until the test closes standard input (or kills the process).
        while (await Console.In.ReadLineAsync() is not null)
        {
        }

        await stop.CancelAsync();
        foreach (var emulator in new EmulatorHost[] { contoso, batch, entra })
        {
            foreach (var request in emulator.Requests)
            {
                log.Write($"served {request.Method} https://{request.Host}{request.Path} {request.GrantType} -> {request.StatusCode}");
            }
            await emulator.DisposeAsync();
        }
        try
        {
            await approving;
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        return 0;
    }

    /// <summary>The control endpoints on a loopback port of their own, and their base URL.</summary>
    private static async Task<(WebApplication App, string Url)> StartControlAsync(SalesforceEmulator salesforce, EntraEmulator entra, Log log)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(context => ControlAsync(context, salesforce, entra, log));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, $"http://127.0.0.1:{new Uri(address).Port}/");
    }

    /// <summary>
    /// One control request, JSON in and out:
    ///   POST  salesforce/cases          {"Subject":…,"Description":…,"Priority":…}  creates a case as a user; answers its fields
    ///   PATCH salesforce/cases/{id}     {field: value, …}                            edits it as a user; answers its fields
    ///   GET   salesforce/cases/{id}     the case's fields (the external id field ConnectionTools_Partner_Id__c included)
    ///   GET   salesforce/cases?externalId=X   the case whose external id is X, or 404
    ///   PATCH dataverse/incidents/{id}  {"title":…,"description":…,"prioritycode":…} edits an incident as a user; answers it
    ///   GET   dataverse/incidents/{id}  the incident's attributes (ct_partnerid and _customerid_value included)
    ///   GET   dataverse/incidents?partnerId=X   the incident whose alternate key ct_partnerid is X, or 404
    ///   POST  entra/grants/revoke       revokes every grant of the Entra user (the next refresh answers AADSTS50173)
    ///   POST  entra/grants/expire       expires every Entra grant (the next refresh answers AADSTS700082)
    ///   PUT   entra/environments        {"Environments":[…]} what the Global Discovery Service lists for the Entra user
    ///   POST  entra/discovery/refuse    {"Status":403} the discovery service refuses the Entra user (0 serves them again)
    /// A change the system would refuse answers 400 with its message; an unknown id 404.
    /// </summary>
    private static async Task ControlAsync(HttpContext context, SalesforceEmulator salesforce, EntraEmulator entra, Log log)
    {
        var method = context.Request.Method;
        var parts = (context.Request.Path.Value ?? "/").Trim('/').Split('/');
        try
        {
            var fields = method is "POST" or "PATCH" or "PUT" ? await ReadFieldsAsync(context) : [];
            object? answer = (method, parts) switch
            {
                ("POST", ["salesforce", "cases"]) => salesforce.ReadCase(salesforce.CreateCaseAsUser(Texts(fields))),
                ("PATCH", ["salesforce", "cases", var id]) => Do(() => salesforce.UpdateCaseAsUser(id, Texts(fields)), () => salesforce.ReadCase(id)),
                ("GET", ["salesforce", "cases", var id]) => salesforce.ReadCase(id),
                ("GET", ["salesforce", "cases"]) => salesforce.FindCaseByExternalId(context.Request.Query["externalId"].ToString()) is { } found ? salesforce.ReadCase(found) : null,
                ("PATCH", ["dataverse", "incidents", var id]) => Do(() => entra.UpdateIncidentAsUser(id, fields), () => entra.ReadIncident(id)),
                ("GET", ["dataverse", "incidents", var id]) => entra.ReadIncident(id),
                ("GET", ["dataverse", "incidents"]) => entra.FindIncidentByAlternateKey(context.Request.Query["partnerId"].ToString()) is { } found ? entra.ReadIncident(found) : null,
                ("POST", ["entra", "grants", "revoke"]) => new { Revoked = entra.RevokeGrantsForUser(EntraUser) },
                ("POST", ["entra", "grants", "expire"]) => Do(() => entra.ExpireTokens(EntraExpiryReason.Inactivity), () => new { Expired = true }),
                ("PUT", ["entra", "environments"]) => SetEnvironments(entra, fields),
                ("POST", ["entra", "discovery", "refuse"]) => Do(() => entra.RefuseDiscovery(EntraUser, fields.TryGetValue("Status", out var status) && status is JsonElement { ValueKind: JsonValueKind.Number } n ? n.GetInt32() : 403), () => new { Refused = true }),
                _ => throw new InvalidOperationException($"No control endpoint {method} {context.Request.Path}."),
            };
            if (method != "GET")
            {
                log.Write($"control {method} {context.Request.Path}");
            }
            context.Response.StatusCode = answer is null ? 404 : 200;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(answer ?? new { error = $"Nothing matches {context.Request.QueryString}." }));
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or InvalidOperationException or JsonException)
        {
            context.Response.StatusCode = e is KeyNotFoundException ? 404 : 400;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new { error = e.Message }));
        }

        static object Do(Action change, Func<object> then)
        {
            change();
            return then();
        }
    }

    /// <summary>
    /// PUT entra/environments {"Environments":[{"FriendlyName","UniqueName","Url","Region"}]}: what the discovery service lists for
    /// the Entra user from now on. Each URL's host must be one the proxy serves (contoso, contoso-fin.crm4, contoso-dev).
    /// </summary>
    private static object SetEnvironments(EntraEmulator entra, Dictionary<string, object?> fields)
    {
        if (!fields.TryGetValue("Environments", out var value) || value is not JsonElement { ValueKind: JsonValueKind.Array } list)
        {
            throw new ArgumentException("The body needs Environments, an array of {FriendlyName, UniqueName, Url, Region}.");
        }
        var environments = list.EnumerateArray().Select(e =>
        {
            string Text(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new ArgumentException($"An environment lacks {name}.");
            var url = new Uri(Text("Url"));
            var known = DefaultEnvironments.FirstOrDefault(d => d.Url.Host == url.Host);
            if (known is null && url.Host != SpareEnvironmentHost)
            {
                throw new ArgumentException($"{url.Host} is not a host the proxy serves.");
            }
            return new EmulatedEnvironment(Text("FriendlyName"), Text("UniqueName"), url, e.TryGetProperty("Region", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "NA")
            {
                OrganizationId = known?.OrganizationId ?? Guid.Parse("8b3f4e5d-2c1a-4f0e-8d9c-3a4b5c6d7e8f"),
            };
        }).ToList();
        var ids = entra.SetEnvironments(EntraUser, environments);
        return environments.Select((e, i) => new { e.FriendlyName, e.UniqueName, Url = e.Url.AbsoluteUri, e.Region, OrganizationId = ids[i].OrganizationId }).ToList();
    }

    /// <summary>Salesforce fields are text: a JSON string as it is, null as null, anything else as its JSON.</summary>
    private static Dictionary<string, string?> Texts(Dictionary<string, object?> fields) =>
        fields.ToDictionary(f => f.Key, f => f.Value switch
        {
            null or JsonElement { ValueKind: JsonValueKind.Null } => null,
            JsonElement { ValueKind: JsonValueKind.String } e => e.GetString(),
            JsonElement e => e.GetRawText(),
            var other => other.ToString(),
        });

    /// <summary>The body's JSON object; an empty body is an empty object.</summary>
    private static async Task<Dictionary<string, object?>> ReadFieldsAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        return string.IsNullOrWhiteSpace(body) ? [] : JsonSerializer.Deserialize<Dictionary<string, object?>>(body) ?? throw new JsonException("The body is not a JSON object.");
    }

    /// <summary>The person on another device: enters every device code shown and allows access.</summary>
    private static async Task ApproveDeviceCodesAsync(Log log, CancellationToken cancellationToken, params (EmulatorHost Emulator, string User)[] emulators)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var (emulator, user) in emulators)
            {
                var (pending, approve) = emulator switch
                {
                    SalesforceEmulator s => (s.PendingUserCodes, (Func<string, bool>)(code => s.ApproveDeviceCode(code, user))),
                    EntraEmulator e => (e.PendingUserCodes, code => e.ApproveDeviceCode(code, user)),
                    _ => ((IReadOnlyList<string>)[], _ => false),
                };
                foreach (var code in pending)
                {
                    if (approve(code))
                    {
                        log.Write($"approved device code {code} as {user} at {emulator.BaseUri}");
                    }
                }
            }
            await Task.Delay(250, cancellationToken);
        }
    }

    private static async Task<int> BrowseAsync(Uri url)
    {
        // The handler's defaults, as in the module: the proxy from HTTPS_PROXY/HTTP_PROXY, the roots from SSL_CERT_FILE.
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        using var signIn = await http.GetAsync(url);
        Console.WriteLine($"GET {url.GetLeftPart(UriPartial.Path)} -> {(int)signIn.StatusCode}");
        if (signIn.StatusCode != HttpStatusCode.Found || signIn.Headers.Location is null)
        {
            Console.WriteLine(await signIn.Content.ReadAsStringAsync());
            return 1;
        }
        var back = signIn.Headers.Location;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var redirected = await http.GetAsync(back);
                Console.WriteLine($"GET {back.GetLeftPart(UriPartial.Path)} -> {(int)redirected.StatusCode}");
                return redirected.IsSuccessStatusCode ? 0 : 1;
            }
            catch (HttpRequestException e) when (attempt < 50)
            {
                Console.WriteLine($"the loopback listener is not there yet ({e.Message})");
                await Task.Delay(200);
            }
        }
    }

    /// <summary>The connected app's certificate for the JWT bearer flow, saved as a password-protected PFX.</summary>
    private static X509Certificate2 MakeJwtCertificate(string pfxPath)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=contoso-batch JWT bearer (README test)", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var pfx = created.Export(X509ContentType.Pfx, PfxPassword);
        File.WriteAllBytes(pfxPath, pfx);
        return X509CertificateLoader.LoadPkcs12(pfx, PfxPassword);
    }

    private sealed class Log(string path)
    {
        private readonly object _gate = new();

        public void Write(string line)
        {
            lock (_gate)
            {
                File.AppendAllText(path, $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {line}\n");
            }
        }
    }
}
