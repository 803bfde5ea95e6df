using ConnectionTools.Nodes;
using ConnectionTools.Peering;

namespace ConnectionTools.Node;

/// <summary>Runs Sync-Connection's exchange for every private-side connection, every interval, until the host stops.</summary>
internal sealed class PrivatePoller(ConnectionNode node, NodeOptions options, ILogger<PrivatePoller> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("Private node {NodeId}: exchanging every {Interval} s; not listening.", node.Store.NodeId, options.Interval.TotalSeconds);
        using var timer = new PeriodicTimer(options.Interval);
        do
        {
            // Sync blocks on HTTP; keep it off the timer's thread so shutdown stays responsive.
            await Task.Run(() => new PeerCommands(node, new LoggingHost(logger, stoppingToken)).Sync(null, passThru: false), stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
