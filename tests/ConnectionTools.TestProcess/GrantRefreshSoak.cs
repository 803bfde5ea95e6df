using System.Diagnostics;
using System.Globalization;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;

/// <summary>
/// grant-refresh STORE LEASE-SECONDS LOG NAME:ITEM,NAME:ITEM,...: one of the processes of the Salesforce rotation soak
/// (tests/ConnectionTools.Authorization.Tests/SalesforceRotationSoakTests.cs). Opens the store as a node of its own and, for
/// each scheduled item, refreshes the named connection's grant through the product's Test-ConnectionAuthorization code
/// (SystemConnectionCommands.Test). The provider is reached under its real host name through HTTPS_PROXY, trusting the
/// test CA through SSL_CERT_FILE, with the same default handler the module uses (proxy and roots from the environment).
/// Appends "start ITEM NAME" before and "done ITEM NAME RESULT ERRORID" after each item to LOG, so the test can tell which
/// item a killed process was in. The only test hook is this process's own: an answer carrying the emulator's header
/// X-Emulator-Kill-Client kills this process on the spot (the emulator sends it on userinfo, after the token answer arrived
/// and was saved). LEASE-SECONDS: the node's refresh-claim lease (a real setting; shortened so a killed claimer's claim
/// expires within the soak).
/// </summary>
internal static class GrantRefreshSoak
{
    public static int Run(string storePath, string leaseSeconds, string logPath, string items)
    {
        var http = new HttpClient(new KillSwitch(new SocketsHttpHandler())) { Timeout = Timeout.InfiniteTimeSpan };
        using var node = ConnectionNode.Open(new StoreLocation(storePath, StoreSource.Session, create: false), null, $"refresher-{Environment.ProcessId}", new NodeClients { ProviderHttp = http });
        node.GrantRefreshLease = TimeSpan.FromSeconds(double.Parse(leaseSeconds, CultureInfo.InvariantCulture));
        using var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        foreach (var item in items.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = item.Split(':');
            var (name, number) = (parts[0], parts[1]);
            log.WriteLine($"start {number} {name} {DateTime.UtcNow:HH:mm:ss.fff} pid {Environment.ProcessId}");
            var host = new ResultHost();
            try
            {
                new SystemConnectionCommands(node, host).Test([ConnectionTarget.ByName(name)], new TestAuthorizationRequest());
            }
            catch (ConnectionToolsException e)
            {
                host.Errors.Add(e.ErrorId);
            }

            var result = host.Results.SingleOrDefault();
            log.WriteLine($"done {number} {name} {result?.Result.ToString() ?? "None"} {result?.ErrorId ?? host.Errors.FirstOrDefault() ?? "-"} {result?.Status} {DateTime.UtcNow:HH:mm:ss.fff}");
        }

        return 0;
    }

    private sealed class KillSwitch(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.Headers.Contains("X-Emulator-Kill-Client"))
            {
                Process.GetCurrentProcess().Kill();
            }

            return response;
        }
    }

    private sealed class ResultHost : IHostContext
    {
        public List<AuthorizationResult> Results { get; } = [];

        public List<string> Errors { get; } = [];

        public CancellationToken CancellationToken => CancellationToken.None;

        public void WriteObject(object value)
        {
            if (value is AuthorizationResult result)
            {
                Results.Add(result);
            }
        }

        public void WriteError(ConnectionToolsException error) => Errors.Add(error.ErrorId);

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
