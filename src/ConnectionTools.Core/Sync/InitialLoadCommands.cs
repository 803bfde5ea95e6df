using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Jobs;
using ConnectionTools.Nodes;

namespace ConnectionTools.Sync
{
    /// <summary>
    /// The first sync of a new partner: the existing cases of the bound system (all, or changed since a date), read from the org
    /// and queued as outgoing events for that one connection, through its outgoing rule. Other connections bound to the same
    /// system get nothing, and the retrieval job's watermark does not move.
    /// </summary>
    public sealed class InitialLoadCommands
    {
        private readonly ConnectionNode _node;
        private readonly IHostContext _host;

        public InitialLoadCommands(ConnectionNode node, IHostContext host)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
        }

        public void Start(IEnumerable<ConnectionTarget> targets, DateTimeOffset? since, bool passThru) => ConnectionTargets.ForEach(_host, _node.Store, targets, target =>
        {
            var connection = ConnectionTargets.Resolve(_node.Store, target);
            var system = BoundSystem(_node, connection, "so it has no cases to load");
            if (since > _node.Clock())
            {
                // Nothing has changed since a moment still to come: a mistyped year or day order, not a request to queue nothing.
                throw new ConnectionToolsException(ErrorIds.SyncSinceInFuture, ErrorKind.InvalidArgument,
                    $"-Since {since.Value.UtcDateTime:u} is in the future, so no case of '{system.Name}' has changed since then; nothing was queued for '{connection.Name}'.",
                    connection.Name,
                    "Give a moment in the past, e.g. -Since (Get-Date).AddDays(-30), or leave -Since out to queue every case.");
            }
            var what = since is null ? "every case" : $"the cases changed since {since.Value:u}";
            if (!_host.ShouldProcess($"Connection '{connection.Name}'", $"Queue {what} of '{system.Name}' for its first sync (read from the org)"))
            {
                return;
            }

            var queued = 0;
            var failed = 0;
            // The pages arrive on the thread pool: host calls go through the worker, carried out on this (the pipeline's) thread.
            ParallelWork.RunOne(_host, async (worker, cancellationToken) =>
            {
                await new RetrievalRunner(_node).RetrieveAsync(
                    system,
                    since,
                    (page, ct) =>
                    {
                        var (count, failures) = OutgoingEvents.QueueFor(_node, system, connection, page);
                        queued += count;
                        failed += failures;
                        worker.WriteVerbose($"Queued {queued} case(s) of '{system.Name}' for '{connection.Name}' so far.");
                        return Task.CompletedTask;
                    },
                    worker.WriteVerbose,
                    _ => { },
                    cancellationToken).ConfigureAwait(false);
                return 0;
            });
            _host.WriteVerbose($"Queued {queued} case(s) of '{system.Name}' for '{connection.Name}'" +
                (failed > 0 ? $"; the outgoing rule failed for {failed} (Failed events)." : "."));
            if (failed > 0)
            {
                _host.WriteWarning($"The outgoing rule of '{connection.Name}' failed for {failed} of the {queued} case(s) queued; those events wait as Failed until the rule is fixed and they are retried.");
            }

            if (passThru)
            {
                _host.WriteObject(_node.Store.Find(connection.Id) ?? connection);
            }
        });

        /// <summary>
        /// The live system connection <paramref name="connection"/> is bound to, or the <see cref="ErrorIds.SyncNotBound"/> error when it
        /// is not a private connection, is removed, or is bound to nothing live; <paramref name="consequence"/> ends that message.
        /// </summary>
        internal static Connection BoundSystem(ConnectionNode node, Connection connection, string consequence)
        {
            if (connection.Type != ConnectionType.Private || connection.Status == ConnectionStatus.Removed)
            {
                throw new ConnectionToolsException(ErrorIds.SyncNotBound, ErrorKind.InvalidOperation,
                    $"Connection '{connection.Name}' ({connection.Type}, {connection.Status}) is not a private connection that syncs cases.", connection.Name,
                    "Run it on a private connection bound to a Salesforce or Dynamics 365 connection.");
            }

            var system = connection.SystemConnectionId is Guid id ? node.Store.Find(id) : null;
            if (system is null || system.Status == ConnectionStatus.Removed)
            {
                throw new ConnectionToolsException(ErrorIds.SyncNotBound, ErrorKind.InvalidOperation,
                    $"Connection '{connection.Name}' is not bound to a system connection, {consequence}.", connection.Name,
                    $"Bind it first: Set-Connection -Name '{connection.Name}' -System <name of a Salesforce or Dynamics 365 connection>.");
            }

            return system;
        }
    }
}
