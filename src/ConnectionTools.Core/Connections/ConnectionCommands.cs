using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;
using ConnectionTools.Text;

namespace ConnectionTools.Connections
{
    /// <summary>
    /// What the lifecycle cmdlets do. Each method works through a list of targets, reports a failure on one target
    /// as a non-terminating error, and goes on with the next. Setup problems (the store cannot be opened) are thrown.
    /// </summary>
    public sealed partial class ConnectionCommands
    {
        private readonly ConnectionNode _node;
        private readonly IHostContext _host;
        private readonly PeerClient? _peers;

        /// <param name="peers">Lets removal on the private side of a private connection tell the public side; without it, the public side learns nothing.</param>
        public ConnectionCommands(ConnectionNode node, IHostContext host, PeerClient? peers = null)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
            _peers = peers;
        }

        /// <summary>
        /// Writes the connections that match, from one query and without any network call. A name without wildcards
        /// (or an id) that matches nothing is reported as ObjectNotFound; a wildcard that matches nothing is not an error.
        /// </summary>
        public void Get(ConnectionQuery query)
        {
            var names = (query.Names ?? Array.Empty<string>()).Where(n => !string.IsNullOrEmpty(n)).ToList();
            var exact = names.Where(n => !WildcardPattern.ContainsWildcards(n)).ToList();
            var patterns = names.Where(WildcardPattern.ContainsWildcards).Select(WildcardPattern.Parse).ToList();
            var ids = query.Ids ?? Array.Empty<Guid>();
            var showRemoved = query.IncludeRemoved || (query.Statuses?.Contains(ConnectionStatus.Removed) ?? false);

            var filter = new ConnectionFilter
            {
                // Exact names alone can be filtered in SQL; with a wildcard every row is matched here.
                ExactNames = patterns.Count == 0 && exact.Count > 0 ? exact : null,
                Ids = ids.Count > 0 ? ids : null,
                Statuses = query.Statuses?.Count > 0 ? query.Statuses : null,
                Types = query.Types?.Count > 0 ? query.Types : null,
                IncludeRemoved = showRemoved || ids.Count > 0,
            };

            var missingNames = new HashSet<string>(exact, StringComparer.OrdinalIgnoreCase);
            var missingIds = new HashSet<Guid>(ids);
            var sync = query.Types is { Count: > 0 } types && !types.Contains(ConnectionType.Private)
                ? (IReadOnlyDictionary<Guid, Sync.SyncCounts>)new Dictionary<Guid, Sync.SyncCounts>()
                : _node.Store.Read(SyncEventRows.CountByConnection);
            _node.Store.Scan(filter, connection =>
            {
                // An id asked for by the user finds a removed connection; a listing shows tombstones only when asked.
                var askedById = missingIds.Count > 0 && ids.Contains(connection.Id);
                if (connection.Status == ConnectionStatus.Removed && !showRemoved && !askedById)
                {
                    return;
                }

                if (names.Count > 0 && !missingNames.Remove(connection.Name) && !exact.Any(n => ConnectionNames.Same(n, connection.Name)) && !patterns.Any(p => p.IsMatch(connection.Name)))
                {
                    return;
                }

                missingIds.Remove(connection.Id);
                if (connection.Type == ConnectionType.Private)
                {
                    connection.SyncCounts = sync.TryGetValue(connection.Id, out var counts) ? counts : Sync.SyncCounts.None;
                }

                _host.WriteObject(connection);
            });

            foreach (var name in exact.Where(missingNames.Contains))
            {
                _host.WriteError(ConnectionStore.NotFound(name));
            }

            foreach (var id in ids.Where(missingIds.Contains))
            {
                _host.WriteError(ConnectionStore.NotFound(id.ToString()));
            }
        }

        public void Suspend(IEnumerable<ConnectionTarget> targets, bool passThru) => Transition(targets, LifecycleAction.Suspend, passThru);

        public void Resume(IEnumerable<ConnectionTarget> targets, bool passThru) => Transition(targets, LifecycleAction.Resume, passThru);

        /// <summary>Marks connections Removed. The row stays as a tombstone so that its history can still be read.</summary>
        public void Remove(IEnumerable<ConnectionTarget> targets, bool passThru) => Remove(targets, passThru, force: false);

        /// <summary>
        /// As <see cref="Remove(IEnumerable{ConnectionTarget}, bool)"/>. A system connection that private connections are bound to is
        /// refused, naming them, unless <paramref name="force"/>: then they are unbound in the same transaction (they keep exchanging
        /// status) and their queued outgoing sync events are dropped, which each one's history records.
        /// </summary>
        public void Remove(IEnumerable<ConnectionTarget> targets, bool passThru, bool force) => Transition(targets, LifecycleAction.Remove, passThru, force);

        /// <summary>Renames a connection or changes its description. A stale object from the pipeline is refused, never overwritten.</summary>
        public void Set(IEnumerable<ConnectionTarget> targets, ConnectionEdit edit, bool passThru) => ConnectionTargets.ForEach(_host, _node.Store, targets, target =>
        {
            var current = ConnectionTargets.Resolve(_node.Store, target);
            if (current.Status == ConnectionStatus.Removed)
            {
                throw new ConnectionToolsException(
                    ErrorIds.ConnectionRemoved,
                    ErrorKind.InvalidOperation,
                    $"Connection '{current.Name}' is removed and can no longer be changed.",
                    current.Name,
                    "Removed connections are kept only for their history.");
            }

            var newName = edit.NewName is null ? current.Name : ConnectionNames.Validate(edit.NewName);
            var description = edit.Description is null ? current.Description : ConnectionNames.ValidateDescription(edit.Description, newName);
            var mode = edit.Mode is null ? current.Mode : DecideMode(current, edit.Mode);
            var interval = edit.RetrievalInterval is null ? current.RetrievalInterval : DecideInterval(current, edit.RetrievalInterval.Value);
            var customer = edit.DefaultCustomer is null ? current.DefaultCustomer : DecideCustomer(current, edit.DefaultCustomer);
            Connection? system = null;
            if (edit.System != null)
            {
                SystemBinding.EnsurePrivate(current);
                system = _node.Store.Read(db => SystemBinding.Resolve(db, edit.System, current.Name));
                SystemBinding.EnsureRebindAllowed(current, system);
            }

            var proposed = current.With(c => { c.Name = newName; c.Description = description; c.Mode = mode; c.RetrievalInterval = interval; c.DefaultCustomer = customer; });
            var binding = edit.System != null && proposed.SystemConnectionId != system?.Id ? SystemBinding.Describe(current, system) : null;
            if (edit.System != null)
            {
                proposed = SystemBinding.Bind(proposed, system);
            }

            CheckVersion(target, current);
            if (!ConnectionNames.Same(newName, current.Name) && _node.Store.FindByName(newName) is { } taken)
            {
                throw ConnectionStore.NameInUse(taken, newName);
            }

            if (proposed == current)
            {
                _host.WriteVerbose($"Connection '{current.Name}' already has these values; nothing to change.");
                WriteIf(passThru, current);
                return;
            }

            // The upgrade to Script mode cannot be undone, so it asks as a ConfirmImpact High change does; the rest is Medium.
            var upgrade = proposed.Mode == PrivateConnectionMode.Script && current.Mode != PrivateConnectionMode.Script;
            var action = "Set: " + ConnectionStore.Summarize(current, proposed) + (upgrade ? " (one way: Script mode cannot go back to Basic)" : "") + (binding is null ? "" : $" ({binding})");
            if (!(upgrade ? HighImpact.ShouldProcess(_host, Describe(current), action) : _host.ShouldProcess(Describe(current), action)))
            {
                return;
            }

            Connection? Next(Connection latest)
            {
                CheckVersion(target, latest);
                var next = latest.With(c =>
                {
                    c.Name = newName;
                    c.Description = description;
                    c.Mode = edit.Mode is null ? latest.Mode : DecideMode(latest, edit.Mode);
                    c.RetrievalInterval = edit.RetrievalInterval is null ? latest.RetrievalInterval : interval;
                    c.DefaultCustomer = edit.DefaultCustomer is null ? latest.DefaultCustomer : customer;
                });
                if (edit.System != null)
                {
                    // Again on the row as it is now: it may have been resumed since the check above.
                    SystemBinding.EnsureRebindAllowed(latest, system);
                    next = SystemBinding.Bind(next, system);
                }

                return next == latest ? null : next;
            }

            var dropped = 0;
            ChangeOutcome outcome;
            if (edit.System is null)
            {
                outcome = _node.Store.Change(current.Id, LifecycleAction.Edit, Next, _node.ActorName);
            }
            else
            {
                (outcome, dropped) = _node.Store.Write(tx => SystemBinding.ChangeIn(_node.Store, tx, current.Id, LifecycleAction.Edit, Next, _node.ActorName, null));
            }

            Report(outcome, LifecycleAction.Edit);
            if (outcome.Changed && binding != null)
            {
                _host.WriteVerbose($"Connection '{outcome.After.Name}': {binding}" + (system is null ? $" ({dropped} dropped)." : "."));
            }

            WriteIf(passThru, outcome.After);
        }, edit.NewName is null ? null : (Action<string, IReadOnlyList<Connection>>)RefuseRenamingMany(edit.NewName));

        /// <summary>A new name can go to one connection only: a -Name pattern that matches several is refused before any is renamed.</summary>
        private static Action<string, IReadOnlyList<Connection>> RefuseRenamingMany(string newName) => (pattern, matches) =>
        {
            if (matches.Count > 1)
            {
                throw new ConnectionToolsException(
                    ErrorIds.ConnectionAmbiguousName,
                    ErrorKind.InvalidArgument,
                    $"'{pattern}' matches {matches.Count} connections ({string.Join(", ", matches.Take(5).Select(c => c.Name))}{(matches.Count > 5 ? ", ..." : "")}), and -NewName '{newName}' can name only one. Nothing was renamed.",
                    pattern,
                    "Give the name of the one connection to rename, without wildcards.");
            }
        };

        /// <summary>Writes the audit entries of each target, oldest first. Removed connections keep theirs.</summary>
        public void History(IEnumerable<ConnectionTarget> targets) => History(targets, null, null, null);

        /// <summary>
        /// The audit, oldest first: of the connections named, each in turn, or of the whole node when <paramref name="targets"/> is null;
        /// from <paramref name="since"/> on; then only the first or the last so many (of each connection, or of the node).
        /// </summary>
        public void History(IEnumerable<ConnectionTarget>? targets, DateTimeOffset? since, int? first, int? last)
        {
            if (targets == null)
            {
                foreach (var entry in _node.Store.History(null, since, first, last))
                {
                    _host.WriteObject(entry);
                }

                return;
            }

            ConnectionTargets.ForEach(_host, _node.Store, targets, target =>
            {
                foreach (var connection in ResolveIncludingRemoved(target))
                {
                    foreach (var entry in _node.Store.History(connection.Id, since, first, last))
                    {
                        _host.WriteObject(entry);
                    }
                }
            });
        }

        private void Transition(IEnumerable<ConnectionTarget> targets, LifecycleAction action, bool passThru, bool force = false) => ConnectionTargets.ForEach(_host, _node.Store, targets, target =>
        {
            var current = ConnectionTargets.Resolve(_node.Store, target);
            if (Lifecycle.IsNoOp(current.Status, action))
            {
                _host.WriteVerbose($"Connection '{current.Name}' is already {current.Status}; nothing to {action.ToString().ToLowerInvariant()}.");
                WriteIf(passThru, current);
                return;
            }

            // Refuse before asking, so -WhatIf never promises an illegal change.
            Lifecycle.Decide(current, action);
            var removesSystem = action == LifecycleAction.Remove && SystemConnectionTypes.All.Contains(current.Type);
            var bound = removesSystem ? _node.Store.ListBoundTo(current.Id) : Array.Empty<Connection>();
            if (bound.Count > 0 && !force)
            {
                throw SystemBinding.InUse(current, bound);
            }

            var unbinding = bound.Count == 0 ? "" : $", unbinding {SystemBinding.Names(bound)} (they keep exchanging status; their queued outgoing sync events are dropped)";
            if (!_host.ShouldProcess(Describe(current), $"{action} ({current.Status} -> {Lifecycle.TargetOf(action)}){unbinding}"))
            {
                return;
            }

            var now = _node.Clock();
            byte[]? removedGrant = null;
            var dropped = 0;
            var unbound = new List<(ChangeOutcome Outcome, int Dropped)>();
            var outcome = _node.Store.Change(
                current.Id,
                action,
                latest =>
                {
                    var to = Lifecycle.Decide(latest, action);
                    return to is null
                        ? null
                        : latest.With(c =>
                        {
                            c.Status = to.Value;
                            c.InactiveReason = null;
                            c.RemovedAt = to == ConnectionStatus.Removed ? now : latest.RemovedAt;
                            c.InvitationExpiresAt = to == ConnectionStatus.Removed ? null : latest.InvitationExpiresAt;
                        });
                },
                _node.ActorName,
                (tx, after) =>
                {
                    if (after.Status == ConnectionStatus.Removed)
                    {
                        // A pending connection's code (kept encrypted for Get-InvitationCode) has no use any more.
                        InvitationRows.Retire(tx, after.Id, InvitationOutcome.Withdrawn, now);

                        // A tombstone keeps its history, not its grant; the grant is revoked at the provider once the removal is saved.
                        removedGrant = GrantRows.Find(tx, after.Id);
                        GrantRows.Delete(tx, after.Id);

                        // Its sync queues go with it (the history stays): nothing of it is sent or applied any more.
                        dropped = SyncTransportRows.DropQueues(tx, after.Id);
                        if (removesSystem)
                        {
                            // Read again in this transaction: a connection bound since the check above is refused or unbound too.
                            unbound.Clear();
                            var boundNow = ConnectionRows.ListLiveBoundTo(tx, after.Id);
                            if (boundNow.Count > 0 && !force)
                            {
                                throw SystemBinding.InUse(after, boundNow);
                            }

                            foreach (var privateConnection in boundNow)
                            {
                                unbound.Add(SystemBinding.ChangeIn(_node.Store, tx, privateConnection.Id, LifecycleAction.Edit, c => SystemBinding.Bind(c, null), _node.ActorName, $"system connection '{after.Name}' removed with -Force"));
                            }
                        }
                    }
                });
            if (dropped > 0)
            {
                _host.WriteVerbose($"Dropped {dropped} queued sync event(s) of '{outcome.After.Name}'.");
            }

            Report(outcome, action);
            foreach (var (unbindOutcome, droppedOfBound) in unbound)
            {
                _host.WriteVerbose($"Connection '{unbindOutcome.After.Name}' is no longer bound to '{current.Name}': it exchanges status only; dropped {droppedOfBound} queued outgoing sync event(s).");
            }

            var result = outcome.After;
            if (action == LifecycleAction.Remove && outcome.Changed)
            {
                result = TellPublicSideAboutRemoval(result);
                if (removedGrant != null)
                {
                    new SystemConnectionCommands(_node, _host).RevokeAfterRemoval(result, removedGrant);
                }
            }

            WriteIf(passThru, result);
        });

        /// <summary>
        /// The public side cannot call the private side, so the private side says goodbye itself. Best effort: the connection
        /// is removed here either way, and a failure is a warning.
        /// </summary>
        private Connection TellPublicSideAboutRemoval(Connection removed)
        {
            if (_peers is null || removed.Side != PrivateConnectionSide.Private || removed.PeerStatus == ConnectionStatus.Removed)
            {
                return removed;
            }

            try
            {
                return new PeerCommands(_node, _host, _peers).Exchange(removed, ConnectionStatus.Removed);
            }
            catch (ConnectionToolsException e)
            {
                _host.WriteWarning($"Connection '{removed.Name}' is removed here, but the public side could not be told ({e.ErrorId}: {e.Message}). Its admin can remove it there too.");
                return removed;
            }
        }

        private void Report(ChangeOutcome outcome, LifecycleAction action)
        {
            _host.WriteVerbose(outcome.Changed
                ? $"{action}: connection '{outcome.After.Name}': {ConnectionStore.Summarize(outcome.Before, outcome.After)} (version {outcome.After.Version})."
                : $"Connection '{outcome.After.Name}' was already {outcome.After.Status}; nothing to {action.ToString().ToLowerInvariant()}.");
        }

        private void WriteIf(bool passThru, Connection connection)
        {
            if (passThru)
            {
                _host.WriteObject(connection);
            }
        }

        private static void CheckVersion(ConnectionTarget target, Connection current)
        {
            if (target.Connection != null && target.Connection.Version != current.Version)
            {
                throw ConnectionStore.Conflict(target.Connection, current);
            }
        }

        private static string Describe(Connection c) => $"Connection '{c.Name}' ({c.Type}, {c.Status})";

        private IReadOnlyList<Connection> ResolveIncludingRemoved(ConnectionTarget target)
        {
            if (target.Name is null)
            {
                return new[] { ConnectionTargets.Resolve(_node.Store, target) };
            }

            // A name may belong to a live connection and to earlier, removed ones: show them all.
            var all = _node.Store.List(new ConnectionFilter { ExactNames = new[] { target.Name }, IncludeRemoved = true });
            return all.Count > 0 ? all : throw ConnectionStore.NotFound(target.Name);
        }
    }
}
