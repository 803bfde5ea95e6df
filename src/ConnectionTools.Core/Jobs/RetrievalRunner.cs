using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Jobs.Retrieval;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Jobs
{
    /// <summary>
    /// Runs a connection's retrieval job: pages through the cases changed since the watermark and commits each page with the
    /// watermark it reaches, in one transaction. A failure keeps everything committed so far, so the next run resumes from
    /// there; records seen twice are stored once. A refused grant makes the connection Inactive, which puts the job on Holding.
    /// </summary>
    public sealed class RetrievalRunner
    {
        /// <summary>
        /// How long a run holds its job without committing a page. Each committed page renews it, in the transaction that checks
        /// the run still holds it; a host that stops (on any machine, on a shared store) loses the job once it runs out, and
        /// another host's run resumes from the watermark. A host on this machine whose process ended loses it at once.
        /// </summary>
        public static readonly TimeSpan JobLease = TimeSpan.FromMinutes(2);

        public const int DefaultPageSize = 2000;

        /// <summary>Records per page asked of the provider (Salesforce takes 200 to 2,000).</summary>
        public int PageSize { get; set; } = DefaultPageSize;

        private readonly ConnectionNode _node;

        public RetrievalRunner(ConnectionNode node)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
        }

        /// <summary>Runs every job that is due now, up to <paramref name="parallelism"/> at a time. For the node host's scheduler.</summary>
        public async Task<IReadOnlyList<JobRun>> RunDueAsync(int parallelism, Action<string> log, CancellationToken cancellationToken)
        {
            var due = _node.Store.Read(db => JobRows.Due(db, _node.Clock(), 1000));
            var runs = new List<JobRun>();
            using (var gate = new SemaphoreSlim(Math.Max(1, parallelism)))
            {
                var tasks = due.Select(async id =>
                {
                    await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        var connection = _node.Store.Find(id);
                        if (connection is null || connection.Status != ConnectionStatus.Active)
                        {
                            return null;
                        }

                        return await RunAsync(connection, JobTrigger.Schedule, log, cancellationToken).ConfigureAwait(false);
                    }
                    catch (JobFailedException e)
                    {
                        log($"Job of '{e.Run.ConnectionName}' failed: {e.Error.ErrorId}: {e.Error.Message}");
                        return e.Run;
                    }
                    catch (ConnectionToolsException e)
                    {
                        log($"Job of connection {id}: {e.ErrorId}: {e.Message}");
                        return null;
                    }
                    finally
                    {
                        gate.Release();
                    }
                }).ToList();
                foreach (var run in await Task.WhenAll(tasks).ConfigureAwait(false))
                {
                    if (run != null)
                    {
                        runs.Add(run);
                    }
                }
            }

            return runs;
        }

        /// <summary>Runs the job of one connection now. Throws for a connection whose job cannot run (paused, holding, removed, running).</summary>
        public async Task<JobRun> RunAsync(Connection connection, JobTrigger trigger, Action<string> verbose, CancellationToken cancellationToken)
        {
            if (connection is null)
            {
                throw new ArgumentNullException(nameof(connection));
            }

            var (runId, watermark) = Claim(connection, trigger);
            verbose($"Retrieving cases of '{connection.Name}' changed since {(watermark is null ? "the beginning" : watermark.Value.ToString("u"))} (run {runId}).");
            var refusedReason = (InactiveReason?)null;
            try
            {
                var entity = connection.Type == ConnectionType.Dynamics365 ? "incident" : "Case";

                // Each page is read after this time (a page is requested once the one before is committed): what a case read in
                // it shows may predate an apply that committed since (OutgoingEvents.IsReadBeforeApply).
                var readFrom = _node.Clock();
                await RetrieveAsync(
                    connection,
                    watermark,
                    (page, ct) =>
                    {
                        var rows = page.Select(r => (r.Id, r.ModifiedAt, r.Payload)).ToList();
                        var reached = page.Where(r => r.WatermarkAt != null).Select(r => r.WatermarkAt!.Value).DefaultIfEmpty().Max();
                        _node.Store.Write(tx =>
                        {
                            if (!ProcessClaims.Renew(tx, RunClaim(connection.Id), RunOwner(runId), _node.Clock() + JobLease))
                            {
                                throw LeaseLost(connection);
                            }

                            JobRows.CommitPage(tx, connection.Id, runId, entity, rows, readFrom, page.Any(r => r.WatermarkAt != null) ? reached : (DateTimeOffset?)null);
                            return 0;
                        });
                        readFrom = _node.Clock();
                        return Task.CompletedTask;
                    },
                    verbose,
                    reason => refusedReason = reason,
                    cancellationToken).ConfigureAwait(false);

                // The cases just queued become outgoing sync events for every private connection bound to this system.
                Sync.OutgoingEvents.Produce(_node, connection, verbose);
                return Finish(runId, JobRunStatus.Succeeded, null);
            }
            catch (ConnectionToolsException e) when (!Hosting.PerItem.IsStoreWide(e))
            {
                var run = Finish(runId, JobRunStatus.Failed, e);
                throw new JobFailedException(run, e, refusedReason);
            }
            catch (OperationCanceledException)
            {
                Finish(runId, JobRunStatus.Failed, new ConnectionToolsException(ErrorIds.JobCancelled, ErrorKind.OperationStopped, "The run was stopped.", connection.Name, null));
                throw;
            }
        }

        /// <summary>Why this connection has no job, in its own terms: the fix differs for each reason.</summary>
        /// <summary>
        /// Pages through the system's cases changed since <paramref name="since"/> (all when null), handing each page to
        /// <paramref name="onPage"/>. A refused grant makes the connection Inactive (reported through <paramref name="refused"/>)
        /// and ends the retrieval with the provider's error. Used by the retrieval job and by a sync's initial load.
        /// </summary>
        internal async Task RetrieveAsync(
            Connection connection,
            DateTimeOffset? since,
            Func<IReadOnlyList<CaseRecord>, CancellationToken, Task> onPage,
            Action<string> verbose,
            Action<InactiveReason> refused,
            CancellationToken cancellationToken)
        {
            var access = await SystemAccess.OpenAsync(_node, connection, verbose, refused, cancellationToken).ConfigureAwait(false);
            var source = connection.Type == ConnectionType.Dynamics365
                ? (ICaseSource)new DataverseCaseSource(_node.Providers.Http, access.Target.InstanceUrl, access.AccessTokenAsync, access.RequestTimeout)
                : new SalesforceCaseSource(_node.Providers.Http, access.ApiUrl, access.AccessTokenAsync, access.RequestTimeout);
            await source.RetrieveAsync(new CaseQuery { Since = since, PageSize = PageSize }, onPage, cancellationToken).ConfigureAwait(false);
        }

        internal static ConnectionToolsException NoJob(Connection connection, bool hasGrant)
        {
            if (connection.Type == ConnectionType.Private)
            {
                return new ConnectionToolsException(ErrorIds.JobNotFound, ErrorKind.InvalidArgument,
                    $"'{connection.Name}' is a private connection; it has no retrieval job.", connection.Name, "Use Sync-Connection to exchange with its peer now.");
            }

            if (!hasGrant || connection.InstanceUrl is null)
            {
                return new ConnectionToolsException(ErrorIds.JobNotFound, ErrorKind.ObjectNotFound,
                    $"'{connection.Name}' is a {connection.Type} connection that was never authorized (it was not created by New-Connection and has no {(connection.InstanceUrl is null ? "instance URL" : "grant")}), so it has no retrieval job and cannot reach an org.",
                    connection.Name,
                    $"Remove it (Remove-Connection -Name '{connection.Name}'), then create it with New-Connection -Name '{connection.Name}' -Type {connection.Type} -InstanceUrl <url>, which signs in to the org and creates its job.");
            }

            return new ConnectionToolsException(ErrorIds.JobNotFound, ErrorKind.ObjectNotFound,
                $"'{connection.Name}' is a {connection.Type} connection stored by a version without retrieval jobs, so it has none yet.",
                connection.Name,
                $"Remove it (Remove-Connection -Name '{connection.Name}'), then create it again with New-Connection; a new connection to the same org reuses its settings.");
        }

        private (long RunId, DateTimeOffset? Watermark) Claim(Connection connection, JobTrigger trigger) => _node.Store.Write(tx =>
        {
            var latest = _node.Store.FindInTransaction(tx, connection.Id) ?? throw ConnectionStore.NotFound(connection.Name);
            var job = JobRows.Find(tx, latest.Id);
            if (job is null)
            {
                throw NoJob(latest, GrantRows.Find(tx, latest.Id) != null);
            }

            switch (job.Value.State)
            {
                case JobState.Paused:
                    throw new ConnectionToolsException(ErrorIds.JobConnectionPaused, ErrorKind.InvalidOperation,
                        $"Connection '{latest.Name}' is paused, so it retrieves nothing. Nothing was run.", latest.Name, $"Resume it first: Resume-Connection -Name '{latest.Name}'.");
                case JobState.Holding:
                    throw new ConnectionToolsException(ErrorIds.JobHolding, ErrorKind.InvalidOperation,
                        $"The job of '{latest.Name}' is Holding: the connection is Inactive ({latest.InactiveReason}). Nothing was run; the next run after re-authorization catches up.", latest.Name,
                        $"Re-authorize it: Update-ConnectionAuthorization -Name '{latest.Name}'.");
                case JobState.Cancelled:
                    throw new ConnectionToolsException(ErrorIds.ConnectionRemoved, ErrorKind.InvalidOperation,
                        $"Connection '{latest.Name}' is removed; its job is cancelled and only its history remains.", latest.Name, $"See it with Get-ConnectionJob -Connection '{latest.Name}'.");
            }

            var now = _node.Clock();

            // A run is in progress while its lease lasts, unless the process running it has ended (killed: its run stays Running).
            var key = RunClaim(latest.Id);
            if (ProcessClaims.Lease(tx, key) is { } lease && lease.ExpiresAt > now && !ProcessClaims.HolderGone(lease.Owner))
            {
                throw new ConnectionToolsException(ErrorIds.JobAlreadyRunning, ErrorKind.ResourceBusy,
                    $"The job of '{latest.Name}' is already running. Nothing was started.", latest.Name, "Wait for it to finish; Get-ConnectionJob shows its progress.");
            }

            var runId = JobRows.StartRun(tx, latest, trigger, now, job.Value.Watermark);
            ProcessClaims.Hold(tx, key, RunOwner(runId), now + JobLease);
            return (runId, job.Value.Watermark);
        });

        private static ConnectionToolsException LeaseLost(Connection connection) => new ConnectionToolsException(ErrorIds.JobLeaseLost, ErrorKind.ResourceBusy,
            $"This run of the job of '{connection.Name}' committed no page for {JobLease.TotalMinutes:0} minutes and another host took the job over; it resumes from the last page committed. Nothing of this page was stored.",
            connection.Name,
            "Nothing to do: the other host's run goes on (Get-ConnectionJob shows it). If this repeats, the system answers a page more slowly than the lease allows.");

        /// <summary>The claim that names the process running a connection's job (beside the apply claims, keyed apart).</summary>
        private static string RunClaim(Guid connectionId) => "job:" + ConnectionStore.FormatId(connectionId);

        private static string RunOwner(long runId) => ProcessClaims.Current + "|run " + runId.ToString(System.Globalization.CultureInfo.InvariantCulture);

        private JobRun Finish(long runId, JobRunStatus status, ConnectionToolsException? error) => _node.Store.Write(tx =>
        {
            JobRows.FinishRun(tx, runId, status, _node.Clock(), error?.ErrorId, error?.Message);
            var run = JobRows.FindRun(tx, runId);
            ProcessClaims.Release(tx, RunClaim(run.ConnectionId), RunOwner(runId));
            return run;
        });
    }

    /// <summary>A run that ended in failure; carries the recorded run and the error to report.</summary>
    public sealed class JobFailedException : Exception
    {
        public JobFailedException(JobRun run, ConnectionToolsException error, InactiveReason? reason)
            : base(error?.Message, error)
        {
            Run = run;
            Error = error!;
            InactiveReason = reason;
        }

        public JobRun Run { get; }

        public ConnectionToolsException Error { get; }

        public InactiveReason? InactiveReason { get; }
    }
}
