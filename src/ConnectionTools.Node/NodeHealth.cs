using System.Net;
using System.Net.Sockets;
using ConnectionTools.Errors;
using ConnectionTools.NodeHosting;
using ConnectionTools.Nodes;

namespace ConnectionTools.Node;

/// <summary>
/// /healthz and /readyz for service managers and load balancers. No authentication, and nothing about connections in the
/// answers: a status word and, when not ready, a reason that names no connection, path or setting value.
/// </summary>
internal static class NodeHealth
{
    public const string Alive = "/healthz";
    public const string Ready = "/readyz";

    public static bool IsHealthPath(PathString path) => path == Alive || path == Ready;

    /// <param name="requirePublicUrl">The public side is ready only with a URL private sides can reach; the private side needs none.</param>
    public static void Map(WebApplication app, ConnectionNode node, ILogger logger, bool requirePublicUrl)
    {
        // Alive: the process answers HTTP. It says nothing about the store, so a busy store never gets the host restarted.
        app.MapGet(Alive, () => Results.Json(new HealthAnswer { Status = "alive" }, PeerJsonContext.Default.HealthAnswer));

        // Ready: the store was opened, checked and migrated at startup and still answers a read (the URL's read does that even in
        // private mode), and on the public side private sides have a URL to reach.
        app.MapGet(Ready, () =>
        {
            string? reason = null;
            try
            {
                if (node.PublicUrl is null && requirePublicUrl)
                {
                    reason = "no public URL is set: start the host with --public-url, or set it with Set-ConnectionNode -PublicUrl";
                }
            }
            catch (ConnectionToolsException e)
            {
                logger.LogWarning("Not ready: {ErrorId}: {Message}", e.ErrorId, e.Message);
                reason = "the store cannot be read; the node host's log has the reason";
            }

            return reason is null
                ? Results.Json(new HealthAnswer { Status = "ready" }, PeerJsonContext.Default.HealthAnswer)
                : Results.Json(new HealthAnswer { Status = "not ready", Reason = reason }, PeerJsonContext.Default.HealthAnswer, statusCode: StatusCodes.Status503ServiceUnavailable);
        });
    }

    /// <summary>
    /// Refuses --urls whose port another program already listens on, before the store is opened. Host names other than
    /// localhost (which Kestrel binds on every address) and port 0 are left to Kestrel.
    /// </summary>
    public static void EnsureListenable(string[] args)
    {
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] != "--urls")
            {
                continue;
            }

            foreach (var url in args[i + 1].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var candidate = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
                if (!Uri.TryCreate(candidate, UriKind.Absolute, out var parsed))
                {
                    continue; // Validate reports it.
                }

                var address = parsed.IsLoopback && !IPAddress.TryParse(parsed.DnsSafeHost, out _) ? IPAddress.Loopback
                    : IPAddress.TryParse(parsed.DnsSafeHost, out var ip) ? ip : IPAddress.Any;
                if (address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                {
                    NodeHostSettings.EnsurePortFree(address, parsed.Port, "--urls");
                }
            }
        }
    }
}

/// <summary>The body of /healthz and /readyz.</summary>
internal sealed class HealthAnswer
{
    public string Status { get; set; } = "";

    public string? Reason { get; set; }
}
