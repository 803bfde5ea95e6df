using ConnectionTools.Jobs;
using ConnectionTools.Nodes;
using ConnectionTools.Sync;

namespace ConnectionTools.Node;

/// <summary>
/// Runs the retrieval jobs that are due, checking every few seconds. Jobs that are Paused, Holding or Cancelled are never
/// due; a run that fails is recorded and the job stays on its schedule (or goes to Holding when its grant was refused).
/// </summary>
internal sealed class JobScheduler(ConnectionNode node, NodeOptions options, NodeWorkGate gate, ILogger<JobScheduler> logger) : BackgroundService
{
    private const int Parallelism = 4;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var runner = new RetrievalRunner(node);
        using var timer = new PeriodicTimer(options.JobPollInterval);
        do
        {
            // Never beside the private side's sync round (NodeWorkGate).
            using var work = await gate.EnterAsync(stoppingToken);
            foreach (var run in await runner.RunDueAsync(Parallelism, message => logger.LogDebug("{Message}", message), stoppingToken))
            {
                logger.LogInformation("Job of {Connection}: {Status}, {Records} records in {Pages} pages {ErrorId}", run.ConnectionName, run.Status, run.Records, run.Pages, run.ErrorId);
            }

            // The partner's cases that arrived in sync rounds since the last poll are written to the bound systems. A failure is
            // logged and tried again on the next poll: the host keeps serving the private sides whatever one apply does.
            try
            {
                await IncomingApply.RunPublicSideAsync(
                    node,
                    message => logger.LogInformation("{Message}", message),
                    (connection, error) => logger.LogWarning("Applying the incoming sync events of {Connection} failed: {ErrorId}: {Message}", connection.Name, error.ErrorId, error.Message),
                    stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(e, "Applying incoming sync events failed; the next poll tries again.");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
