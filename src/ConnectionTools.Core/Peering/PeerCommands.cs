using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Sync;
using ConnectionTools.Sync.Apply;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Peering
{
    /// <summary>The private side of a private connection: accepting an invitation and exchanging status. Every request starts here.</summary>
    public sealed class PeerCommands
    {
        private readonly ConnectionNode _node;
        private readonly IHostContext _host;
        private readonly PeerClient _client;

        /// <param name="client">Null: the node's own <see cref="ConnectionNode.Peers"/>. Tests give one with a shorter timeout.</param>
        public PeerCommands(ConnectionNode node, IHostContext host, PeerClient? client = null)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
            _client = client ?? node.Peers;
        }

        /// <summary>
        /// Every check <see cref="Accept"/> makes before it asks the public side: the code decodes and has not expired, the
        /// names are valid and free on this node. What a plan runs to tell, before anything is applied, that accepting would fail.
        /// </summary>
        internal (Invitation Invitation, string ConnectionName, string Instance, Connection? System) CheckAccept(string invitationCode, string? name, string? localInstanceName, string? system = null)
        {
            var invitation = InvitationCodec.Decode(invitationCode);
            var connectionName = ConnectionNames.Validate(name ?? invitation.ConnectionName);
            var instance = ConnectionNames.ValidateInstanceName(localInstanceName ?? Environment.MachineName, "-LocalInstanceName", connectionName);
            if (invitation.IsExpired(_node.Clock()))
            {
                throw new ConnectionToolsException(
                    ErrorIds.InvitationExpired,
                    ErrorKind.InvalidOperation,
                    $"The invitation code for '{invitation.ConnectionName}' expired at {invitation.ExpiresAt:u}.",
                    invitation.ConnectionName,
                    $"Ask the public side's admin for a new one: Get-InvitationCode -Name '{invitation.ConnectionName}' -Renew");
            }

            PeerUrls.ValidatePublicUrl(invitation.PublicNodeUrl.AbsoluteUri);
            if (_node.Store.Find(invitation.ConnectionId) is { } existing && existing.Status != ConnectionStatus.Removed)
            {
                throw new ConnectionToolsException(
                    ErrorIds.InvitationAlreadyUsed,
                    ErrorKind.ResourceExists,
                    $"This node already has the connection of this invitation, as '{existing.Name}' ({existing.Status}).",
                    existing.Name,
                    "Nothing to do; see it with Get-Connection.");
            }

            if (_node.Store.FindByName(connectionName) is { } clash)
            {
                throw new ConnectionToolsException(
                    ErrorIds.ConnectionNameInUse,
                    ErrorKind.ResourceExists,
                    $"A connection named '{clash.Name}' already exists on this node (status {clash.Status}).",
                    connectionName,
                    "Accept under another name with -Name.");
            }

            var bound = system is null || SystemBinding.IsUnbind(system) ? null : _node.Store.Read(db => SystemBinding.Resolve(db, system, connectionName));
            return (invitation, connectionName, instance, bound);
        }

        /// <summary>
        /// Approve-ConnectionInvitation's pipeline: each code as <see cref="Accept"/>, where one that fails is written as that
        /// item's error and the others are still accepted. A store that cannot be used ends the command.
        /// </summary>
        public void AcceptEach(IEnumerable<string> invitationCodes, string? name, string? localInstanceName, string? system = null)
        {
            foreach (var code in invitationCodes ?? throw new ArgumentNullException(nameof(invitationCodes)))
            {
                PerItem.Run(_host, () => Accept(code, name, localInstanceName, system));
            }
        }

        /// <summary>
        /// Accepts an invitation code. Everything that can be checked locally (format, checksum, expiry, URL, name) is checked
        /// before any network call; the connection is created here only after the public node has accepted.
        /// </summary>
        /// <param name="system">The Salesforce or Dynamics 365 connection whose cases it syncs; null or empty: status only.</param>
        public void Accept(string invitationCode, string? name, string? localInstanceName, string? system = null)
        {
            var (invitation, connectionName, instance, bound) = CheckAccept(invitationCode, name, localInstanceName, system);
            var binding = bound is null ? "" : $", syncing the cases of system '{bound.Name}'";
            if (!_host.ShouldProcess($"Invitation to '{invitation.ConnectionName}' from {invitation.InitiatorInstanceName} at {invitation.PublicNodeUrl}", $"Accept as private connection '{connectionName}'{binding}"))
            {
                return;
            }

            // Everything local that can fail is done first, and the public side is asked while this store's write transaction
            // is open: if it refuses, nothing is saved here; if it accepts, only the commit is left. So neither side is left
            // Active while the other has nothing.
            var peerKey = _node.Secrets.Protect(invitation.Secret.DeriveKey(PeerServer.PeerKeyPurpose, invitation.ConnectionId));
            AcceptResponse? response = null;
            var created = _node.Store.Create(
                new Connection
                {
                    Id = invitation.ConnectionId,
                    Name = connectionName,
                    Type = ConnectionType.Private,
                    Status = ConnectionStatus.Active,
                    Mode = invitation.Mode,
                    Side = PrivateConnectionSide.Private,
                    LocalInstanceName = instance,
                    RemoteInstanceName = invitation.InitiatorInstanceName,
                    PeerNodeId = invitation.PublicNodeId,
                    PeerNodeVersion = invitation.PublicNodeVersion,
                    PeerUri = invitation.PublicNodeUrl,
                    PeerStatus = ConnectionStatus.Active,
                    LastExchangeAt = _node.Clock(),
                    SystemConnectionId = bound?.Id,
                    System = bound?.Name,
                },
                _node.ActorName,
                tx =>
                {
                    // Before the public side is asked: a system removed since the check refuses the whole acceptance.
                    SystemBinding.EnsureStillLive(tx, new Connection { Name = connectionName, SystemConnectionId = bound?.Id, System = bound?.Name });
                    PeerRows.SaveKey(tx, invitation.ConnectionId, peerKey);
                    SyncRuleRows.InsertBasic(tx, invitation.ConnectionId);

                    // Once accepted, never again: if the store retries this unit of work, the answer is reused.
                    response ??= Wait(_client.AcceptAsync(
                        invitation.PublicNodeUrl,
                        new AcceptRequest
                        {
                            ConnectionId = invitation.ConnectionId.ToString("D"),
                            Secret = Text.Base64Url.Encode(invitation.Secret.ToArray()),
                            Node = new PeerNodeDescription { NodeId = _node.Store.NodeId.ToString("D"), Version = ConnectionNode.Version, InstanceName = instance },
                        },
                        _host.CancellationToken));
                });

            // The public node may have been upgraded since it issued the code: record what it says now.
            if (response!.Node.Version != created.PeerNodeVersion || response.Node.InstanceName != created.RemoteInstanceName)
            {
                created = _node.Store.Change(
                    created.Id,
                    LifecycleAction.Edit,
                    c => c.With(c => { c.PeerNodeVersion = response.Node.Version; c.RemoteInstanceName = response.Node.InstanceName; }),
                    _node.ActorName).After;
            }

            _host.WriteVerbose($"Accepted: '{created.Name}' is Active on both sides, with {created.RemoteInstanceName} (node {created.PeerNodeId}, version {created.PeerNodeVersion}){(created.System is null ? "; it exchanges status only" : $"; it syncs the cases of '{created.System}'")}.");
            _host.WriteObject(created);
        }

        /// <summary>
        /// Runs one status exchange per private-side connection: sends this side's status and records the public side's.
        /// With no targets, every private-side connection that is not removed.
        /// </summary>
        public void Sync(IEnumerable<ConnectionTarget>? targets, bool passThru)
        {
            var list = targets?.ToList();
            if (list is null || list.Count == 0)
            {
                list = _node.Store.List(new ConnectionFilter { Types = new[] { ConnectionType.Private } })
                    .Where(c => c.Side == PrivateConnectionSide.Private)
                    .Select(ConnectionTarget.ByObject)
                    .ToList();
            }

            ConnectionTargets.ForEach(_host, _node.Store, list, target =>
            {
                var connection = ConnectionTargets.Resolve(_node.Store, target);
                if (connection.Type != ConnectionType.Private || connection.Side != PrivateConnectionSide.Private || connection.PeerUrl is null || connection.PeerNodeId is null)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.PeerNotPrivateSide,
                        ErrorKind.InvalidOperation,
                        $"Connection '{connection.Name}' is not the private side of a private connection; only the private side starts exchanges.",
                        connection.Name,
                        "Run Sync-Connection on the node that accepted the invitation.");
                }

                if (_host.ShouldProcess($"Connection '{connection.Name}' with {connection.RemoteInstanceName} at {connection.PeerUrl}", $"Exchange status (sends {connection.Status}) and sync events"))
                {
                    var key = PeerKey(connection);
                    var after = Exchange(connection, connection.Status, key);
                    if (after.Status != ConnectionStatus.Removed && after.PeerStatus != ConnectionStatus.Removed)
                    {
                        var moved = SyncRounds.Run(_node, _client, after, key, _host.CancellationToken);
                        _host.WriteVerbose($"'{connection.Name}': sent {moved.Sent} and received {moved.Received} sync event(s) in {moved.Rounds} round(s).");

                        // What arrived is written to the bound system now; the writes' awaits resume on the thread pool, so
                        // host calls go through the worker (PowerShell takes them on the pipeline's thread only).
                        var applied = ParallelWork.RunOne(_host, (worker, cancellationToken) =>
                            IncomingApply.RunAsync(_node, after, access => CaseWriters.For(_node, access), worker.WriteVerbose, cancellationToken));
                        if (applied.Skipped != null && _node.Store.Read(db => SyncEventRows.Count(db, after.Id, SyncDirection.Incoming)) > 0)
                        {
                            _host.WriteVerbose($"'{connection.Name}': incoming sync events wait: {applied.Skipped}.");
                        }
                    }

                    WriteIf(passThru, after);
                }
            });
        }

        /// <summary>Tells the public side this side's status, and records the answer. Used by Sync and on removal.</summary>
        internal Connection Exchange(Connection connection, ConnectionStatus ownStatus) => Exchange(connection, ownStatus, PeerKey(connection));

        /// <summary>The connection's peer key, unprotected: read once per command, for the status exchange and the sync rounds.</summary>
        private byte[] PeerKey(Connection connection) =>
            _node.Secrets.Unprotect(_node.Store.Read(db => PeerRows.FindKey(db, connection.Id)) ?? throw PeerErrors.UnknownConnection(connection.Id));

        private Connection Exchange(Connection connection, ConnectionStatus ownStatus, byte[] key)
        {
            ConnectionStatus peerStatus;
            try
            {
                var answer = Wait(_client.ExchangeAsync(
                    connection.PeerUri!,
                    connection.Id,
                    () => PeerToken.Create(key, _node.Store.NodeId, connection.PeerNodeId!.Value, connection.Id, _node.Clock()),
                    new ExchangeMessage { Status = ownStatus.ToString() },
                    _host.CancellationToken));
                peerStatus = PeerServer.ParsePeerStatus(answer.Status);
            }
            catch (ConnectionToolsException e) when (e.ErrorId == ErrorIds.InvitationConnectionRemoved)
            {
                peerStatus = ConnectionStatus.Removed;
            }

            var now = _node.Clock();
            var outcome = PeerStatusRecord.Save(_node, connection.Id, peerStatus);
            if (outcome.Changed && peerStatus == ConnectionStatus.Removed && connection.Status != ConnectionStatus.Removed)
            {
                // Once, when this side learns it: a polling node host would otherwise repeat it every interval.
                _host.WriteWarning($"The public side removed connection '{connection.Name}'. Remove it here too with: Remove-Connection -Name '{connection.Name}'");
            }
            _node.Store.Write(tx =>
            {
                PeerRows.TouchExchange(tx, connection.Id, now);
                return 0;
            });
            _host.WriteVerbose(outcome.Changed
                ? $"'{connection.Name}': the public side is now {peerStatus} (was {outcome.Before.PeerStatus?.ToString() ?? "unknown"})."
                : $"'{connection.Name}': the public side is still {peerStatus}.");
            return outcome.After.With(c => { c.LastExchangeAt = now; });
        }

        private void WriteIf(bool passThru, Connection connection)
        {
            if (passThru)
            {
                _host.WriteObject(connection);
            }
        }

        /// <summary>
        /// Waits for an HTTP call from the synchronous pipeline. Our awaits use ConfigureAwait(false) and PowerShell's pipeline
        /// thread has no synchronization context, so this cannot deadlock; Ctrl+C cancels the token the call runs with.
        /// </summary>
        private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();
    }
}
