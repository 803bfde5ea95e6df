using ConnectionTools.Authorization;
using ConnectionTools.Core.Tests;
using ConnectionTools.Emulators;
using ConnectionTools.Jobs;
using ConnectionTools.Storage;
using Microsoft.Extensions.Logging;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Node.Tests;

/// <summary>The node host runs due retrieval jobs on its own: a real host process-in-test, the real store, the Salesforce emulator.</summary>
public sealed class JobSchedulerTests
{
    [Fact]
    public async Task The_node_host_runs_a_due_job_and_queues_every_changed_case()
    {
        await using var salesforce = await SalesforceEmulator.StartNewAsync();
        using var store = new TestStore();
        salesforce.AddCases(120, DateTimeOffset.UtcNow.AddHours(-2), TimeSpan.FromSeconds(30));
        JwtSalesforce.Connect(store, salesforce, "3MVG9node");

        var host = NodeHost.BuildPublic(
            new[] { "--urls", "http://127.0.0.1:0" },
            new NodeOptions(store.Path_, null, false, TimeSpan.FromSeconds(1)) { JobPollInterval = TimeSpan.FromMilliseconds(200) },
            builder => builder.Logging.ClearProviders());
        await host.StartAsync();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            JobRun? run = null;
            while (run is null && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
                var history = new RecordingHost();
                new JobCommands(store.Node, history).Get(new JobQuery { Connections = new[] { "support" } });
                run = history.OutputOf<JobRun>().FirstOrDefault(r => r.Status != JobRunStatus.Running);
            }

            Assert.NotNull(run);
            Assert.Equal((JobRunStatus.Succeeded, JobTrigger.Schedule, 120L), (run!.Status, run.Trigger, run.Records));
            Assert.Equal(120L, store.Store.Read(db => JobRows.QueueCount(db, run.ConnectionId)));
        }
        finally
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
    }
}
