using System;
using System.Collections.Generic;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Sync.Apply;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Sync
{
    /// <summary>
    /// Checks, before case sync starts, that the system a private connection is bound to can take partner cases: Salesforce's
    /// Case has the External ID field and the connected user may create and edit cases and write that field; Dataverse's
    /// incident has an active alternate key on its column. Nothing is written to the system or the store, except that a grant the
    /// provider refuses makes the system connection Inactive (as every use of it does).
    /// </summary>
    public sealed class SyncCheckCommands
    {
        private readonly ConnectionNode _node;
        private readonly IHostContext _host;

        public SyncCheckCommands(ConnectionNode node, IHostContext host)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
        }

        /// <summary>
        /// Writes one <see cref="SyncCheckResult"/> per connection; when one is not ready, also its error as a non-terminating error
        /// (a connection that does not exist gets the error only).
        /// </summary>
        public void Test(IEnumerable<ConnectionTarget> targets) => ConnectionTargets.ForEach(_host, _node.Store, targets, target =>
        {
            var connection = ConnectionTargets.Resolve(_node.Store, target);
            var result = new SyncCheckResult { Name = connection.Name, Id = connection.Id };
            try
            {
                var system = InitialLoadCommands.BoundSystem(_node, connection, "so there is no system to write partner cases to");
                var dataverse = system.Type == ConnectionType.Dynamics365;
                result.System = system.Name;
                result.SystemType = system.Type;
                result.Field = dataverse ? DataverseCaseWriter.DefaultAlternateKey : SalesforceCaseWriter.DefaultExternalIdField;

                // The answers arrive on the thread pool: host calls go through the worker, carried out on this (the pipeline's) thread.
                var problem = ParallelWork.RunOne(_host, async (worker, cancellationToken) =>
                {
                    var access = await SystemAccess.OpenAsync(_node, system, worker.WriteVerbose, _ => { }, cancellationToken).ConfigureAwait(false);
                    switch (CaseWriters.For(_node, access))
                    {
                        case SalesforceCaseWriter salesforce:
                            worker.WriteVerbose($"Reading the Case describe of '{system.Name}' for the External ID field {salesforce.ExternalIdField}.");
                            return await salesforce.CheckAsync(cancellationToken).ConfigureAwait(false);
                        case DataverseCaseWriter dynamics:
                            worker.WriteVerbose($"Reading the incident alternate keys of '{system.Name}' for one on {dynamics.AlternateKey}.");
                            return await dynamics.CheckAsync(cancellationToken).ConfigureAwait(false);
                        default:
                            throw new InvalidOperationException("A case writer without a check.");
                    }
                });
                if (problem != null)
                {
                    throw problem;
                }

                result.Ready = true;
                result.Message = dataverse
                    ? $"incident has an active alternate key on {result.Field} alone."
                    : $"Case has the External ID field {result.Field}, and the connected user may create and edit cases and that field.";
                if (system.Status != ConnectionStatus.Active)
                {
                    result.Message += $" '{system.Name}' is {system.Status}: received cases wait until it is Active again.";
                }

                _host.WriteObject(result);
            }
            catch (ConnectionToolsException e) when (!PerItem.IsStoreWide(e))
            {
                result.ErrorId = e.ErrorId;
                result.Message = e.RecommendedAction is null ? e.Message : $"{e.Message} {e.RecommendedAction}";
                _host.WriteObject(result);
                throw;
            }
        });
    }
}
