using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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
        using var rsa = RSA.Create(2048);
        using var certificate = new CertificateRequest("CN=node-test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var pfx = Path.Combine(store.Folder, "jwt.pfx");
        File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pfx, "node-test"));
        salesforce.RegisterConnectedApp("3MVG9node", null, certificate);
        salesforce.RegisterUser("jobs@contoso.example");
        salesforce.AddCases(120, DateTimeOffset.UtcNow.AddHours(-2), TimeSpan.FromSeconds(30));
        var admin = new RecordingHost();

        // A loopback instance URL: the host's own HTTP client reaches the emulator without any routing.
        new SystemConnectionCommands(store.Node, admin).New(new NewConnectionRequest
        {
            Name = "support",
            Type = "SalesforceProduction",
            InstanceUrl = salesforce.BaseUri.AbsoluteUri,
            AcceptDataProcessingAgreement = true,
            ClientId = "3MVG9node",
            Username = "jobs@contoso.example",
            CertificatePath = pfx,
            CertificatePassword = "node-test",
        });
        Assert.Empty(admin.Errors);

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
