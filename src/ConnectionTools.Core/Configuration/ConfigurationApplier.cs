using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;

namespace ConnectionTools.Configuration
{
    /// <summary>
    /// Carries out a plan, one connection at a time: ShouldProcess once per connection, then its steps through the same
    /// commands the cmdlets use (each step its own transaction). A connection that fails is reported with its error and the
    /// rest go on. Nothing is written for connections whose plan is None.
    /// </summary>
    internal sealed partial class ConfigurationApplier
    {
        /// <summary>Managed-connection records are written in batches; a crash before a batch is healed by adoption on the next run.</summary>
        private const int RecordBatch = 500;

        /// <summary>
        /// New public sides are written up to this many per store transaction. Each connection stays all-or-nothing: it is
        /// written (row, invitation, sync rules, audit entry and managed-by record) inside its own SAVEPOINT, and one that fails
        /// (its name taken meanwhile, say) is rolled back to that savepoint alone while the rest of the batch goes on. A crash
        /// before the batch commits leaves none of it, and a crash after leaves all of it, each recorded as managed; either
        /// way a re-run creates exactly what is missing. Results, invitation code files and messages come only after the
        /// commit, so nothing is reported that is not stored. Why: one transaction per connection spent most of its time
        /// committing (each commit appends every page it touched to the WAL, about ten per connection, and the WAL is
        /// checkpointed every thousand pages), so 10,000 creations took over 20 seconds; sharing a commit between a batch
        /// makes that cost a hundredth. Other writers wait at most one batch (tens of milliseconds) for the store.
        /// With -Confirm the questions for a batch are asked before it is written.
        /// </summary>
        private const int CreateBatch = 100;

        private readonly ConnectionNode _node;
        private readonly IHostContext _host;
        private readonly ISystemConnectionActions? _systems;
        private readonly PeerClient? _peers;
        private readonly IReadOnlyDictionary<ConnectionDeclaration, ResolvedSecrets> _secrets;
        private Uri? _publicUrl;
        private bool _publicUrlRead;

        public ConfigurationApplier(ConnectionNode node, IHostContext host, ISystemConnectionActions? systems, PeerClient? peers, IReadOnlyDictionary<ConnectionDeclaration, ResolvedSecrets> secrets)
        {
            _node = node;
            _host = host;
            _systems = systems;
            _peers = peers;
            _secrets = secrets;
        }

        public void Apply(ConnectionPlan plan)
        {
            var configuration = plan.Configuration.Name;
            var toRecord = new List<Guid>();
            var toAdopt = new List<Guid>();
            var changes = 0;
            foreach (var item in plan.Items)
            {
                if (item.Steps.Count > 0)
                {
                    changes++;
                }
            }

            var done = 0;
            var lastPercent = -1;
            void Progress(PlanItem item)
            {
                if (item.Steps.Count > 0)
                {
                    done++;
                    var percent = (int)(done * 100L / changes);
                    if (percent != lastPercent && changes >= 20)
                    {
                        lastPercent = percent;
                        _host.WriteProgress(new ProgressInfo(1, $"Applying configuration '{configuration}'", $"{done} of {changes}: {item.Action} '{item.Name}'", percent));
                    }
                }
            }

            void Emit(PlanItem item, ConnectionApplyResult result, bool recorded)
            {
                _host.WriteObject(result);
                if (result.Outcome == ApplyOutcome.Applied && item.Declaration != null && result.Connection != null)
                {
                    if (!recorded)
                    {
                        toRecord.Add(result.Connection.Id);
                    }
                }
                else if (result.Outcome == ApplyOutcome.Unchanged && item.Adopt && item.Current != null)
                {
                    toAdopt.Add(item.Current.Id);
                }

                if (toRecord.Count >= RecordBatch)
                {
                    Flush(configuration, toRecord);
                }
            }

            try
            {
                var items = plan.Items;
                var index = 0;
                while (index < items.Count)
                {
                    _host.CancellationToken.ThrowIfCancellationRequested();
                    var batch = new List<PlanItem>();
                    while (index + batch.Count < items.Count && batch.Count < CreateBatch && IsPlainCreation(items[index + batch.Count]))
                    {
                        batch.Add(items[index + batch.Count]);
                    }

                    if (batch.Count == 0)
                    {
                        var item = items[index++];
                        Progress(item);
                        Emit(item, ApplyOne(item), recorded: false);
                        continue;
                    }

                    var results = CreatePublicSides(configuration, batch);
                    for (var i = 0; i < results.Count; i++)
                    {
                        Progress(batch[i]);
                        Emit(batch[i], results[i], recorded: true);
                    }

                    index += results.Count;
                }
            }
            finally
            {
                Flush(configuration, toRecord);
                if (changes >= 20)
                {
                    _host.WriteProgress(new ProgressInfo(1, $"Applying configuration '{configuration}'", "Done", 100, completed: true));
                }
            }

            // Bookkeeping only, but still a write: -WhatIf must not make it.
            if (toAdopt.Count > 0 && _host.ShouldProcess($"{toAdopt.Count} existing connection(s) declared in '{configuration}'", $"Record as managed by configuration '{configuration}' (used by -Prune)"))
            {
                Flush(configuration, toAdopt);
            }
        }

        private void Flush(string configuration, List<Guid> ids)
        {
            ManagedConnections.Record(_node.Store, configuration, ids, _node.Clock());
            ids.Clear();
        }

        private ConnectionApplyResult ApplyOne(PlanItem item)
        {
            if (item.Refusal != null)
            {
                _host.WriteError(item.Refusal);
                return Result(item, ApplyOutcome.Failed, item.Current, item.Refusal);
            }

            if (item.Steps.Count == 0)
            {
                return Result(item, ApplyOutcome.Unchanged, item.Current, null);
            }

            var what = item.Current is null ? $"Connection '{item.Name}' ({item.Type}, not on this node)" : $"Connection '{item.Name}' ({item.Type}, {item.Current.Status})";
            var why = item.DifferingProperties.Count > 0 ? $" [differs: {string.Join(", ", item.DifferingProperties)}]" : "";
            if (!_host.ShouldProcess(what, item.Describe() + why))
            {
                return Result(item, ApplyOutcome.Skipped, item.Current, null);
            }

            var connection = item.Current;
            try
            {
                foreach (var step in item.Steps)
                {
                    connection = Run(step, item, connection);
                }

                _host.WriteVerbose($"{item.Describe()}: connection '{item.Name}' is now {connection?.Status.ToString() ?? "absent"}.");
                return Result(item, ApplyOutcome.Applied, connection, null);
            }
            catch (ConnectionToolsException e) when (!PerItem.IsStoreWide(e))
            {
                _host.WriteError(e);

                // Some steps may have been made (created, then not paused): report where the connection really is.
                var now = connection is null ? _node.Store.FindByName(item.Name) : _node.Store.Find(connection.Id);
                return Result(item, ApplyOutcome.Failed, now, e);
            }
        }

        private Connection? Run(PlanAction step, PlanItem item, Connection? connection)
        {
            var declaration = item.Declaration;
            switch (step)
            {
                case PlanAction.Create when declaration is SystemConnectionDeclaration system:
                    return Systems().Create(system, SecretsOf(system), new CapturingHost(_host));
                case PlanAction.Create when declaration is PrivateConnectionDeclaration publicSide:
                    return CreatePublicSide(publicSide);
                case PlanAction.Accept when declaration is PrivateConnectionDeclaration privateSide:
                    return Accept(privateSide);
                case PlanAction.Authorize when declaration is SystemConnectionDeclaration system:
                    return Systems().Authorize(connection!, system, SecretsOf(system), new CapturingHost(_host));
                case PlanAction.Update when declaration is SystemConnectionDeclaration system:
                    return Systems().Update(connection!, system, new CapturingHost(_host));
                case PlanAction.Update when declaration is PrivateConnectionDeclaration publicSide:
                    return UpdatePublicSide(publicSide, item, connection!);
                case PlanAction.Suspend:
                    return Lifecycle(connection!, (commands, targets) => commands.Suspend(targets, passThru: true));
                case PlanAction.Resume:
                    return Lifecycle(connection!, (commands, targets) => commands.Resume(targets, passThru: true));
                case PlanAction.Remove:
                    return Lifecycle(connection!, (commands, targets) => commands.Remove(targets, passThru: true));
                default:
                    throw new InvalidOperationException($"No way to {step} a {item.Type} connection.");
            }
        }

        private ISystemConnectionActions Systems() => _systems ?? throw new ConnectionToolsException(
            ErrorIds.ConfigurationSystemConnectionsUnavailable,
            ErrorKind.InvalidOperation,
            "This version of ConnectionTools does not create or authorize system connections from a configuration yet.",
            null,
            null);

        private ResolvedSecrets SecretsOf(ConnectionDeclaration declaration) => _secrets.TryGetValue(declaration, out var secrets) ? secrets : ResolvedSecrets.None;

        internal static NewPrivateConnectionRequest Request(PrivateConnectionDeclaration d) => new NewPrivateConnectionRequest
        {
            Name = d.Name,
            LocalInstanceName = d.LocalInstanceName ?? "",
            RemoteInstanceName = d.RemoteInstanceName,
            Description = d.Description,
            Mode = d.Mode,
            System = d.System,
        };

        /// <summary>A plan item that only creates the public side of a private connection: these are written in batches.</summary>
        private static bool IsPlainCreation(PlanItem item) =>
            item.Refusal is null
            && item.Steps.Count == 1
            && item.Steps[0] == PlanAction.Create
            && item.Declaration is PrivateConnectionDeclaration { Side: PrivateConnectionSide.Public };

        private static bool Differs(PlanItem item, string key) => item.DifferingProperties.Any(p => p == key);

        private Connection Accept(PrivateConnectionDeclaration d)
        {
            var code = SecretsOf(d).InvitationCode ?? throw new InvalidOperationException("The invitation code was not resolved.");
            var peers = _peers ?? _node.Peers;
            var host = new CapturingHost(_host);
            new PeerCommands(_node, host, peers).Accept(code, d.Name, d.LocalInstanceName, d.System);
            return host.Single<Connection>();
        }

        private Connection Lifecycle(Connection connection, Action<ConnectionCommands, ConnectionTarget[]> act)
        {
            var host = new CapturingHost(_host);
            act(new ConnectionCommands(_node, host, _peers), new[] { ConnectionTarget.ById(connection.Id) });
            return host.Single<Connection>();
        }

        private static ConnectionApplyResult Result(PlanItem item, ApplyOutcome outcome, Connection? after, ConnectionToolsException? error)
        {
            var afterState = after is null ? new Dictionary<string, string?> { ["state"] = null } : ConfigurationPlanner.ActualOf(after, null, item.DesiredState.ContainsKey("description"), item.DesiredState.ContainsKey("system"));
            if (after != null && outcome == ApplyOutcome.Applied && item.Declaration is SystemConnectionDeclaration)
            {
                // The system engine applied the declared settings; show them rather than reading them back.
                foreach (var pair in item.DesiredState)
                {
                    if (pair.Key != "state" && !afterState.ContainsKey(pair.Key))
                    {
                        afterState[pair.Key] = pair.Value;
                    }
                }
            }
            else if (after != null)
            {
                foreach (var pair in item.ActualState)
                {
                    if (!afterState.ContainsKey(pair.Key))
                    {
                        afterState[pair.Key] = pair.Value;
                    }
                }
            }

            return new ConnectionApplyResult
            {
                Name = item.Name,
                Type = item.Type,
                Action = item.Action,
                Steps = item.Steps,
                Outcome = outcome,
                StatusBefore = item.Current?.Status,
                StatusAfter = after?.Status,
                BeforeState = item.ActualState,
                AfterState = afterState,
                ChangedProperties = outcome == ApplyOutcome.Applied ? item.DifferingProperties : Array.Empty<string>(),
                Connection = after,
                ErrorId = error?.ErrorId,
                ErrorMessage = error?.Message,
            };
        }
    }
}
