using System.Collections.Concurrent;
using System.Diagnostics;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;

/// <summary>
/// Update-ConnectionAuthorization -Status Inactive over 1,000 Dynamics 365 connections (client credentials through MSAL,
/// Dataverse WhoAmI), against the Entra ID emulator over HTTPS on loopback: with 50 ms of token latency at the default
/// throttle and sequentially, and under a 429 storm (30% of requests answered 429 with Retry-After: 1).
/// </summary>
public static class ReauthorizeBenchmark
{
    private const int Connections = 1000;

    public static async Task RunAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "ct-bench-reauth-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        await using var entra = await EntraEmulator.StartNewAsync(seed: 2026);
        try
        {
            var router = new ProviderHostRouter(entra).Route("login.microsoftonline.com", entra).Route("*.crm.dynamics.com", entra);
            router.RecordSent = false;
            var attempts = new AttemptCounter(router);
            using var http = new HttpClient(attempts);
            using var node = ConnectionNode.Open(new StoreLocation(Path.Combine(folder, "store.db"), StoreSource.Session, create: true), actor: "bench", clients: new NodeClients { ProviderHttp = http });

            var clock = Stopwatch.StartNew();
            for (var i = 0; i < Connections; i++)
            {
                var host = $"env{i:D4}.crm.dynamics.com";
                entra.RegisterClient($"client-{i:D4}", Secrets.GetOrAdd(i, n => $"secret-{n:D4}-{Guid.NewGuid():N}"));
                entra.RegisterResource($"https://{host}");
                entra.SetOrganizationIdForHost(host, Guid.NewGuid());
            }

            var seeding = new BenchHost();
            var commands = new SystemConnectionCommands(node, seeding);
            for (var i = 0; i < Connections; i++)
            {
                commands.New(new NewConnectionRequest
                {
                    Name = $"crm-{i:D4}",
                    Type = "Dynamics365",
                    InstanceUrl = $"https://env{i:D4}.crm.dynamics.com",
                    AcceptDataProcessingAgreement = true,
                    TenantId = entra.TenantId.ToString(),
                    ClientId = $"client-{i:D4}",
                    ClientSecret = SecretOf(entra, i),
                });
            }

            Console.WriteLine($"Re-authorization: created {Connections:N0} Dynamics 365 connections (client credentials) in {clock.Elapsed.TotalSeconds:0.0} s; errors: {seeding.Errors.Count}");

            entra.Latency = TimeSpan.FromMilliseconds(50);
            var parallel = Reauthorize(node, attempts, SystemConnectionCommands.DefaultThrottleLimit);
            Console.WriteLine($"  1,000 inactive -> Active, 50 ms token latency, -ThrottleLimit {SystemConnectionCommands.DefaultThrottleLimit}: {parallel.Elapsed.TotalSeconds:0.00} s (target: under 10 s); {parallel.Summary}");
            var sequential = Reauthorize(node, attempts, 1);
            Console.WriteLine($"  the same, sequentially (-ThrottleLimit 1): {sequential.Elapsed.TotalSeconds:0.00} s; {sequential.Summary}");

            entra.Latency = TimeSpan.Zero;
            entra.TooManyRequestsRatio = 0.3;
            var storm = Reauthorize(node, attempts, SystemConnectionCommands.DefaultThrottleLimit);
            Console.WriteLine($"  429 storm (30% answered 429, Retry-After: 1): {storm.Elapsed.TotalSeconds:0.00} s; {storm.Summary}; 429 answers: {entra.ThrottledCount:N0}");
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

    private static readonly ConcurrentDictionary<int, string> Secrets = new();

    private static string SecretOf(EntraEmulator entra, int i) => Secrets.GetOrAdd(i, _ => throw new InvalidOperationException("secret not registered"));

    private sealed record Phase(TimeSpan Elapsed, string Summary);

    private static Phase Reauthorize(ConnectionNode node, AttemptCounter attempts, int throttle)
    {
        foreach (var connection in node.Store.List(new ConnectionFilter { Statuses = new[] { ConnectionStatus.Active } }))
        {
            SystemConnectionLifecycle.Deactivate(node, connection, InactiveReason.Expired, "benchmark");
        }

        attempts.Reset();
        var host = new BenchHost();
        var commands = new SystemConnectionCommands(node, host);
        var clock = Stopwatch.StartNew();
        commands.Update(commands.SelectByStatus(new[] { ConnectionStatus.Inactive }), new UpdateAuthorizationRequest { ThrottleLimit = throttle });
        clock.Stop();
        var counts = node.Store.CountByStatus();
        var active = counts.TryGetValue(ConnectionStatus.Active, out var a) ? a : 0;
        return new Phase(clock.Elapsed,
            $"Active: {active:N0} of {Connections:N0}, results: {host.Results:N0}, errors: {host.Errors.Count}{(host.Errors.Count > 0 ? " (" + host.Errors[0].ErrorId + ")" : "")}, " +
            $"most attempts of one call: token {attempts.MaxToken}, WhoAmI {attempts.MaxWhoAmI}");
    }

    /// <summary>Counts requests per connection and call: token requests by client id, WhoAmI by environment host.</summary>
    private sealed class AttemptCounter(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private ConcurrentDictionary<string, int> _token = new();
        private ConcurrentDictionary<string, int> _whoAmI = new();

        public int MaxToken => _token.IsEmpty ? 0 : _token.Values.Max();

        public int MaxWhoAmI => _whoAmI.IsEmpty ? 0 : _whoAmI.Values.Max();

        public void Reset()
        {
            _token = new();
            _whoAmI = new();
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            if (uri.AbsolutePath.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal) && request.Content is not null)
            {
                var form = await request.Content.ReadAsStringAsync(cancellationToken);
                var clientId = form.Split('&').Select(Uri.UnescapeDataString).FirstOrDefault(p => p.StartsWith("client_id=", StringComparison.Ordinal)) ?? "?";
                _token.AddOrUpdate(clientId, 1, (_, n) => n + 1);
            }
            else if (uri.AbsolutePath.EndsWith("/WhoAmI", StringComparison.OrdinalIgnoreCase) || uri.AbsolutePath.EndsWith("/WhoAmI()", StringComparison.OrdinalIgnoreCase))
            {
                _whoAmI.AddOrUpdate(uri.Host, 1, (_, n) => n + 1);
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class BenchHost : IHostContext
    {
        public List<ConnectionToolsException> Errors { get; } = new();

        public int Results { get; private set; }

        public CancellationToken CancellationToken => CancellationToken.None;

        public void WriteObject(object value) => Results++;

        public void WriteError(ConnectionToolsException error) => Errors.Add(error);

        public void WriteWarning(string message)
        {
        }

        public void WriteVerbose(string message)
        {
        }

        public void WriteProgress(ProgressInfo progress)
        {
        }

        public bool ShouldProcess(string target, string action) => true;
    }
}
