using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;
using ConnectionTools.Jobs;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;

/// <summary>
/// Issue 5's figure end to end: Start-ConnectionJob's runner retrieving 50,000 changed cases, 2,000 per page, from each
/// emulator, authorized unattended, every page committed to the real store's outbound queue with its watermark.
/// </summary>
public static class JobsBenchmark
{
    private const int Cases = 50_000;
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    public static async Task RunAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "ct-bench-jobs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            await using (var sf = await SalesforceEmulator.StartNewAsync())
            {
                using var rsa = RSA.Create(2048);
                using var certificate = new CertificateRequest("CN=bench", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
                    .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
                var pfx = Path.Combine(folder, "jwt.pfx");
                File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pfx, "bench"));
                sf.RegisterConnectedApp("3MVG9bench", null, certificate);
                sf.RegisterUser("bench@contoso.com");
                sf.InstanceUrl = new Uri("https://contoso.my.salesforce.com/");
                sf.AddCases(Cases, Start, TimeSpan.FromSeconds(1));
                using var http = new HttpClient(new ProviderHostRouter(sf).Route("contoso.my.salesforce.com", sf));
                await MeasureAsync("Salesforce", folder, http, new NewConnectionRequest
                {
                    Name = "sf",
                    Type = "SalesforceProduction",
                    InstanceUrl = "https://contoso.my.salesforce.com",
                    ClientId = "3MVG9bench",
                    Username = "bench@contoso.com",
                    CertificatePath = pfx,
                    CertificatePassword = "bench",
                });
            }

            await using (var entra = await EntraEmulator.StartNewAsync())
            {
                entra.RegisterResource("https://contoso.crm.dynamics.com");
                entra.RegisterClient("55555555-5555-5555-5555-555555555555", "bench~secret");
                entra.AddCases(Cases, Start, TimeSpan.FromSeconds(1));
                using var http = new HttpClient(new ProviderHostRouter(entra).Route("login.microsoftonline.com", entra).Route("contoso.crm.dynamics.com", entra));
                await MeasureAsync("Dataverse", folder, http, new NewConnectionRequest
                {
                    Name = "crm",
                    Type = "Dynamics365",
                    InstanceUrl = "https://contoso.crm.dynamics.com",
                    ClientId = "55555555-5555-5555-5555-555555555555",
                    TenantId = entra.TenantId.ToString(),
                    ClientSecret = "bench~secret",
                });
            }
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task MeasureAsync(string provider, string folder, HttpClient http, NewConnectionRequest request)
    {
        using var node = ConnectionNode.Open(new ConnectionTools.Storage.StoreLocation(Path.Combine(folder, provider + ".db"), StoreSource.Session, create: true), actor: "bench", clients: new NodeClients { ProviderHttp = http });
        request.AcceptDataProcessingAgreement = true;
        var host = new CountingHost();
        new SystemConnectionCommands(node, host).New(request);
        var connection = node.Store.FindByName(request.Name!)!;

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long maxHeap = heapBefore;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var now = GC.GetTotalMemory(forceFullCollection: false);
                if (now > Interlocked.Read(ref maxHeap))
                {
                    Interlocked.Exchange(ref maxHeap, now);
                }

                try
                {
                    await Task.Delay(5, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        var clock = Stopwatch.StartNew();
        var run = await new RetrievalRunner(node).RunAsync(connection, JobTrigger.Manual, _ => { }, CancellationToken.None);
        clock.Stop();
        await stop.CancelAsync();
        await sampler;
        var queued = node.Store.Read(db => JobRows.QueueCount(db, connection.Id));
        Console.WriteLine($"Job run end to end, {provider} emulator: {run.Records:N0} cases in {run.Pages} pages, {queued:N0} queued, {clock.Elapsed.TotalSeconds:0.00} s (target: under 10 s); " +
            $"managed heap {heapBefore / 1048576.0:0} MB before, {Interlocked.Read(ref maxHeap) / 1048576.0:0} MB at most; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:0} MB (emulator in-process)");
    }
}
