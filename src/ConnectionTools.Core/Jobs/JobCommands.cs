using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Text;

namespace ConnectionTools.Jobs
{
    /// <summary>Get-ConnectionJob and Start-ConnectionJob. History is read by connection name, so removed connections keep theirs.</summary>
    public sealed class JobCommands
    {
        private readonly ConnectionNode _node;
        private readonly IHostContext _host;

        public JobCommands(ConnectionNode node, IHostContext host)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
        }

        public void Get(JobQuery query)
        {
            if (query is null)
            {
                throw new ArgumentNullException(nameof(query));
            }

            var connections = ResolveIncludingRemoved(query.Connections);
            if (query.Schedule)
            {
                foreach (var job in Schedules(connections))
                {
                    _host.WriteObject(job);
                }

                return;
            }

            foreach (var run in Runs(connections, query))
            {
                _host.WriteObject(run);
            }
        }

        /// <summary>Runs each connection's retrieval job now, in this process, and writes the run. A failed run is written and reported as an error.</summary>
        public void Start(IEnumerable<ConnectionTarget> targets) => ConnectionTargets.ForEach(_host, _node.Store, targets, target =>
        {
            var connection = ConnectionTargets.Resolve(_node.Store, target);
            if (connection.Type == ConnectionType.Private && target.Pattern != null)
            {
                _host.WriteVerbose($"'{connection.Name}' matches '{target.Pattern}' but is a private connection, which has no retrieval job; skipped.");
                return;
            }

            if (connection.Type == ConnectionType.Private)
            {
                throw new ConnectionToolsException(ErrorIds.JobNotFound, ErrorKind.InvalidArgument,
                    $"'{connection.Name}' is a private connection; it has no retrieval job.", connection.Name, "Use Sync-Connection to exchange with its peer now.");
            }

            if (!_host.ShouldProcess($"Connection '{connection.Name}' ({connection.Type}, {connection.Status})", "Run the retrieval job now"))
            {
                return;
            }

            try
            {
                _host.WriteObject(ParallelWork.RunOne(_host, (worker, ct) => new RetrievalRunner(_node).RunAsync(connection, JobTrigger.Manual, worker.WriteVerbose, ct)));
            }
            catch (JobFailedException failed)
            {
                _host.WriteObject(failed.Run);
                throw failed.Error;
            }
        });

        /// <summary>The connections the names (wildcards allowed) select, removed ones included; a plain name that matches nothing is reported.</summary>
        private IReadOnlyList<Connection> ResolveIncludingRemoved(IReadOnlyList<string>? names)
        {
            var all = _node.Store.List(new ConnectionFilter { IncludeRemoved = true, Types = SystemConnectionTypes.All });
            if (names is null || names.Count == 0)
            {
                return all;
            }

            var selected = new List<Connection>();
            foreach (var name in names)
            {
                var pattern = WildcardPattern.Parse(name);
                var matches = all.Where(c => pattern.IsMatch(c.Name)).ToList();
                if (matches.Count == 0 && !WildcardPattern.ContainsWildcards(name))
                {
                    _host.WriteError(new ConnectionToolsException(
                        ErrorIds.ConnectionNotFound,
                        ErrorKind.ObjectNotFound,
                        $"No Salesforce or Dynamics 365 connection '{name}' exists or existed on this node.",
                        name,
                        "Run Get-Connection -IncludeRemoved to see the connections; only system connections have retrieval jobs."));
                }

                selected.AddRange(matches);
            }

            return selected.Distinct().ToList();
        }

        private List<ConnectionJob> Schedules(IReadOnlyList<Connection> connections) => _node.Store.Read(db =>
        {
            var jobs = new List<ConnectionJob>();
            foreach (var connection in connections)
            {
                var job = JobRows.Find(db, connection.Id);
                if (job is null)
                {
                    continue;
                }

                var last = JobRows.LastRun(db, connection.Id);
                jobs.Add(new ConnectionJob
                {
                    ConnectionName = connection.Name,
                    ConnectionId = connection.Id,
                    State = job.Value.State,
                    Interval = connection.RetrievalInterval ?? JobRows.DefaultInterval,
                    NextRunAt = job.Value.State == JobState.Scheduled ? job.Value.NextRunAt : (DateTimeOffset?)null,
                    Watermark = job.Value.Watermark,
                    LastRunStatus = last?.Status,
                    LastRunAt = last?.StartedAt,
                });
            }

            return jobs;
        });

        /// <summary>Newest first, as an admin reads history; -Last counts per connection.</summary>
        private List<JobRun> Runs(IReadOnlyList<Connection> connections, JobQuery query) => _node.Store.Read(db =>
        {
            var runs = new List<JobRun>();
            foreach (var connection in connections)
            {
                runs.AddRange(JobRows.Runs(db, connection.Id, query.Statuses, query.Last));
            }

            return runs.OrderByDescending(r => r.StartedAt).ThenByDescending(r => r.Id).ToList();
        });
    }
}
