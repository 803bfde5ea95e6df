using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using ConnectionTools.Emulators;
using ConnectionTools.Jobs.Retrieval;

/// <summary>
/// Issue 5's figure: 50,000 changed cases retrieved through each emulator, 2,000 per page, with an onPage that only counts.
/// Target: under 10 s end to end, and memory flat (one page at a time). The emulator runs in this process, so the working set
/// and the allocations include its side (Kestrel, JSON writing) too.
/// </summary>
public static class RetrievalBenchmark
{
    private const int Cases = 50_000;
    private const int PageSize = 2_000;
    private const string SalesforceHost = "contoso.my.salesforce.com";
    private const string DataverseHost = "contoso.crm.dynamics.com";
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    public static async Task RunAsync()
    {
        await using (var sf = await SalesforceEmulator.StartNewAsync())
        {
            sf.RegisterConnectedApp("3MVG9bench", "secret");
            sf.RegisterUser("bench@contoso.com");
            sf.AddCases(Cases, Start, TimeSpan.FromSeconds(1));
            using var http = new HttpClient(new ProviderHostRouter(sf).Route(SalesforceHost, sf));
            var token = await SalesforceTokenAsync(http, sf);
            await MeasureAsync("Salesforce", () => new SalesforceCaseSource(http, new Uri($"https://{SalesforceHost}/"), (_, _) => Task.FromResult(token), TimeSpan.FromSeconds(30)));
        }

        await using (var entra = await EntraEmulator.StartNewAsync())
        {
            entra.RegisterResource("https://" + DataverseHost);
            entra.RegisterClient("55555555-5555-5555-5555-555555555555", "bench~secret");
            entra.AddCases(Cases, Start, TimeSpan.FromSeconds(1));
            using var http = new HttpClient(new ProviderHostRouter(entra).Route(DataverseHost, entra));
            var body = await PostAsync(http, entra.TokenEndpoint, ("grant_type", "client_credentials"), ("client_id", "55555555-5555-5555-5555-555555555555"),
                ("client_secret", "bench~secret"), ("scope", $"https://{DataverseHost}/.default"));
            var token = body.GetProperty("access_token").GetString()!;
            await MeasureAsync("Dataverse", () => new DataverseCaseSource(http, new Uri($"https://{DataverseHost}/"), (_, _) => Task.FromResult(token), TimeSpan.FromSeconds(30)));
        }
    }

    private static async Task MeasureAsync(string provider, Func<ICaseSource> source)
    {
        Console.WriteLine($"Retrieval, {provider} emulator: {Cases:N0} cases, {PageSize:N0} per page, onPage only counts");
        // Runs 1-4 retrieve all 50,000; run 5 only the newest 10,000 (a watermark), to show the peak does not grow with the count.
        var tail = Start.AddSeconds((Cases - 10_000) - ((Cases - 10_000) / 4));
        for (var run = 1; run <= 5; run++)
        {
            var query = new CaseQuery { PageSize = PageSize, Since = run == 5 ? tail : null };
            var expected = run == 5 ? 10_000 : Cases;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var process = Process.GetCurrentProcess();
            var peakBefore = process.PeakWorkingSet64;
            var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var gen2Before = GC.CollectionCount(2);

            // Samples the managed heap while the run goes on (not from onPage, which only counts).
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
                    try { await Task.Delay(5, stop.Token); } catch (OperationCanceledException) { }
                }
            });

            long records = 0;
            var pages = 0;
            var clock = Stopwatch.StartNew();
            await source().RetrieveAsync(query, (page, _) =>
            {
                records += page.Count;
                pages++;
                return Task.CompletedTask;
            }, CancellationToken.None);
            clock.Stop();
            var gen2 = GC.CollectionCount(2) - gen2Before;
            await stop.CancelAsync();
            await sampler;

            var heapAfterRun = GC.GetTotalMemory(forceFullCollection: false);
            var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
            process.Refresh();
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            Console.WriteLine(
                $"  run {run}{(run == 1 ? " (cold)" : run == 5 ? " (newest 10,000 only)" : "")}: {clock.Elapsed.TotalSeconds:0.00} s, {records:N0} records in {pages} pages " +
                $"({records / clock.Elapsed.TotalSeconds:N0} records/s) (target: under 10 s)");
            Console.WriteLine(
                $"    GC.GetTotalMemory before {Mb(heapBefore)}, max during run {Mb(maxHeap)}, after run {Mb(heapAfterRun)}, after full GC {Mb(heapAfter)}; " +
                $"allocated {Mb(allocated)} (client and emulator); gen2 collections during run {gen2}");
            Console.WriteLine($"    Process.PeakWorkingSet64 before {Mb(peakBefore)}, after {Mb(process.PeakWorkingSet64)}; working set now {Mb(process.WorkingSet64)}");
            if (records < expected || records > expected + 1)
            {
                throw new InvalidOperationException($"Retrieved {records} records, expected {expected}.");
            }
        }
    }

    private static string Mb(long bytes) => $"{bytes / (1024.0 * 1024.0):0.0} MB";

    private static async Task<string> SalesforceTokenAsync(HttpClient http, SalesforceEmulator sf)
    {
        const string Redirect = "http://127.0.0.1:7777/callback";
        var verifier = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var challenge = Convert.ToBase64String(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var code = sf.CreateAuthorizationCode("3MVG9bench", Redirect, "bench@contoso.com", challenge);
        var body = await PostAsync(http, sf.TokenEndpoint, ("grant_type", "authorization_code"), ("code", code), ("client_id", "3MVG9bench"),
            ("redirect_uri", Redirect), ("code_verifier", verifier));
        return body.GetProperty("access_token").GetString()!;
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, Uri uri, params (string Key, string Value)[] form)
    {
        using var content = new FormUrlEncodedContent(form.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));
        using var response = await http.PostAsync(uri, content);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"Token request answered {(int)response.StatusCode}.");
        }
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }
}
