using System.Diagnostics;
using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Emulators;
using ConnectionTools.Errors;
using ConnectionTools.Jobs;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;
using ConnectionTools.Testing;

namespace ConnectionTools.Node.Tests;

/// <summary>
/// Two node host processes on one store, both running jobs: one claims the retrieval job; it is killed with kill -9 after it
/// committed a page; the other takes the job over and resumes from the watermark, and every case is queued once.
/// </summary>
public sealed class JobLeaseProcessTests
{
    [Fact]
    public async Task When_the_host_running_a_job_is_killed_the_other_host_resumes_it_from_the_watermark()
    {
        await using var salesforce = await SalesforceEmulator.StartNewAsync();
        using var store = new TestStore();
        salesforce.AddCases(5000, DateTimeOffset.UtcNow.AddHours(-3), TimeSpan.FromSeconds(1));
        JwtSalesforce.Connect(store, salesforce, "3MVG9lease");
        var support = store.Get("support");

        // A run takes several seconds (three pages of 2,000, each answered after a second), and the job is due every second.
        salesforce.Latency = TimeSpan.FromSeconds(1);
        store.Store.Change(support.Id, LifecycleAction.Edit, c => c.With(x => x.RetrievalInterval = TimeSpan.FromSeconds(1)), "test");

        var hosts = new[] { Start(store.Path_), Start(store.Path_) };
        try
        {
            // The run of whichever host claimed the job, once it committed a page; then that host is killed.
            var claim = "job:" + ConnectionStore.FormatId(support.Id);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            JobRun? first = null;
            while (first is null)
            {
                Assert.True(DateTime.UtcNow < deadline, "no host committed a page of the job within 60 s");
                await Task.Delay(20);
                first = store.Store.Read(db => JobRows.Runs(db, support.Id, null, null)).FirstOrDefault(r => r.Status == JobRunStatus.Running && r.Pages >= 1);
            }

            var owner = store.Store.Read(db => ProcessClaims.Lease(db, claim))!.Value.Owner;
            var pid = int.Parse(owner.Split('|')[1], System.Globalization.CultureInfo.InvariantCulture);
            var killed = Assert.Single(hosts, h => h.Process.Id == pid);
            killed.Process.Kill(); // SIGKILL: no shutdown, the run stays Running and the claim stays held

            JobRun? resumed = null;
            while (resumed is null)
            {
                Assert.True(DateTime.UtcNow < deadline.AddSeconds(30), "the other host did not finish the job after the kill");
                await Task.Delay(50);
                resumed = store.Store.Read(db => JobRows.Runs(db, support.Id, null, null)).FirstOrDefault(r => r.Id > first.Id && r.Status == JobRunStatus.Succeeded);
            }

            var runs = store.Store.Read(db => JobRows.Runs(db, support.Id, null, null));
            var interrupted = runs.Single(r => r.Id == first.Id);
            Assert.Equal((JobRunStatus.Failed, ErrorIds.JobInterrupted), (interrupted.Status, interrupted.ErrorId));
            Assert.True(resumed.Records < 5000, $"the run after the kill retrieved {resumed.Records} cases: it did not resume from the watermark");
            Assert.Equal(5000L, store.Store.Read(db => JobRows.QueueCount(db, support.Id)));
            Assert.Equal("ok", store.Store.Read(db => db.Scalar("PRAGMA integrity_check;") as string));
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    private static Host Start(string store)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "ConnectionTools.Node.dll"), "--store", store, "--urls", "http://127.0.0.1:0", "--job-poll", "0.2" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Host(process);
    }

    private sealed class Host(Process process) : IAsyncDisposable
    {
        public Process Process { get; } = process;

        public async ValueTask DisposeAsync()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }

            await Process.WaitForExitAsync();
            Process.Dispose();
        }
    }
}
