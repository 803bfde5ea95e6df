using ConnectionTools.Nodes;
using ConnectionTools.Peering;

namespace ConnectionTools.Node;

/// <summary>Runs Sync-Connection's exchange for every private-side connection, every interval, until the host stops.</summary>
internal sealed class PrivatePoller(ConnectionNode node, NodeOptions options, NodeWorkGate gate, ILogger<PrivatePoller> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("Private node {NodeId}: exchanging every {Interval} s; not listening.", node.Store.NodeId, options.Interval.TotalSeconds);
        using var timer = new PeriodicTimer(options.Interval);
        do
        {
            // Sync blocks on HTTP; keep it off the timer's thread so shutdown stays responsive. Never beside a job poll: the
            // round applies what it received, which a retrieval must not read before the twins are stored (NodeWorkGate).
            using (await gate.EnterAsync(stoppingToken))
            {
                await Task.Run(() => new PeerCommands(node, new LoggingHost(logger, stoppingToken)).Sync(null, passThru: false), stoppingToken);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
