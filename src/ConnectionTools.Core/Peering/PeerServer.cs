using System;
using System.Collections.Generic;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Sync;

namespace ConnectionTools.Peering
{
    /// <summary>
    /// The public side's answers to peer requests. The node host maps HTTP onto these methods; every refusal is a
    /// ConnectionToolsException whose id and <see cref="PeerErrors.StatusCodeFor"/> status go back to the private side.
    /// Nothing here ever opens a connection to the private side.
    /// </summary>
    public sealed class PeerServer
    {
        internal const string PeerKeyPurpose = "ct-peer-key";

        private readonly ConnectionNode _node;

        public PeerServer(ConnectionNode node) => _node = node ?? throw new ArgumentNullException(nameof(node));

        /// <summary>
        /// Accepts an invitation: checks the one-time secret against the stored verifier, makes the connection Active with
        /// the private side's identity, retires the code and keeps the derived peer key, all in one transaction.
        /// </summary>
        public AcceptResponse Accept(AcceptRequest request)
        {
            var id = ParseId(request.ConnectionId);
            var secret = ParseSecret(request.Secret, id);
            var peerNodeId = ParseId(request.Node?.NodeId);
            if (!ConnectionNames.IsValidInstanceName(request.Node!.InstanceName))
            {
                throw PeerErrors.Protocol("the private side's instance name is missing, too long or has control characters");
            }
            var now = _node.Clock();
            var verifier = secret.ComputeVerifier();
            if (_node.Store.Find(id) is null)
            {
                throw PeerErrors.UnknownConnection(id);
            }

            var outcome = _node.Store.Change(
                id,
                LifecycleAction.Accept,
                current =>
                {
                    EnsurePublicSide(current);
                    if (current.Status == ConnectionStatus.Removed)
                    {
                        // Not yet authenticated: the caller learns the state of the id it sent, not the connection's name.
                        throw Refused(ErrorIds.InvitationConnectionRemoved, "The connection of this invitation code was removed on the public side, so the code no longer works.", "Ask the public side's admin for a new connection and code.");
                    }

                    return current.With(c =>
                    {
                        c.Status = ConnectionStatus.Active;
                        c.RemoteInstanceName = request.Node.InstanceName;
                        c.PeerNodeId = peerNodeId;
                        c.PeerNodeVersion = request.Node.Version;
                        c.PeerStatus = ConnectionStatus.Active;
                        c.InvitationExpiresAt = null;
                    });
                },
                _node.ActorName,
                (tx, after) =>
                {
                    // Checked inside the transaction, so two private sides racing with the same code cannot both win.
                    var row = InvitationRows.Find(tx, id);
                    if (row is null || !secret.Matches(row.Verifier))
                    {
                        throw InvitationInvalid(InvitationRows.PastOutcome(tx, verifier), after.Name);
                    }

                    if (row.ExpiresAt <= now)
                    {
                        throw Refused(ErrorIds.InvitationExpired, $"The invitation code of '{after.Name}' expired at {row.ExpiresAt:u}.", $"Ask the public side's admin to run: Get-InvitationCode -Name '{after.Name}' -Renew");
                    }

                    InvitationRows.Retire(tx, id, InvitationOutcome.Used, now);
                    PeerRows.SaveKey(tx, id, _node.Secrets.Protect(secret.DeriveKey(PeerKeyPurpose, id)));
                });

            if (!outcome.Changed)
            {
                // Already Active: this code was used before. Tell it apart from a wrong code.
                throw _node.Store.Read(db => InvitationInvalid(InvitationRows.PastOutcome(db, verifier), outcome.After.Name));
            }

            return new AcceptResponse
            {
                ConnectionId = id.ToString("D"),
                Name = outcome.After.Name,
                Mode = (outcome.After.Mode ?? PrivateConnectionMode.Basic).ToString(),
                Node = new PeerNodeDescription { NodeId = _node.Store.NodeId.ToString("D"), Version = ConnectionNode.Version, InstanceName = outcome.After.LocalInstanceName ?? "" },
            };
        }

        /// <summary>
        /// One status exchange: the private side tells its status and learns ours. The token must be signed with the
        /// connection's key, addressed to this node, unexpired and never seen before.
        /// </summary>
        public ExchangeMessage Exchange(Guid connectionId, string? token, ExchangeMessage message)
        {
            var (claims, now) = Authenticate(connectionId, token);
            var peerStatus = ParsePeerStatus(message.Status);

            // The token id is recorded first, so a replayed request changes nothing.
            _node.Store.Write(tx =>
            {
                UseToken(tx, connectionId, claims, now);
                PeerRows.TouchExchange(tx, connectionId, now);
                return 0;
            });

            var outcome = PeerStatusRecord.Save(_node, connectionId, peerStatus);
            EnsureNotRemoved(outcome.After);
            return new ExchangeMessage { Status = outcome.After.Status.ToString() };
        }

        /// <summary>
        /// One sync round, asked for by the private side: its events are stored (each id once, in the transaction that records
        /// the token), the events it acknowledged are forgotten, and this side's next events go back in the answer. While either
        /// side is Paused nothing crosses: events keep queuing, and acknowledgements are still taken.
        /// </summary>
        public SyncResponse Sync(Guid connectionId, string? token, SyncRequest request)
        {
            var (claims, now) = Authenticate(connectionId, token);
            var peerStatus = ParsePeerStatus(request.Status);
            SyncBatches.Validate(request.Events, "the private side");

            // The token id first, in a transaction of its own, as for an exchange: a replayed round changes nothing.
            _node.Store.Write(tx =>
            {
                UseToken(tx, connectionId, claims, now);
                return 0;
            });
            var outcome = PeerStatusRecord.Save(_node, connectionId, peerStatus);
            EnsureNotRemoved(outcome.After);
            var paused = outcome.After.Status == ConnectionStatus.Paused || peerStatus == ConnectionStatus.Paused;
            var response = new SyncResponse { Status = outcome.After.Status.ToString() };
            _node.Store.Write(tx =>
            {
                // Hundreds of rows through the same few statements: each is prepared once.
                using var statements = tx.KeepStatementsPrepared();
                SyncTransportRows.Forget(tx, connectionId, request.Acknowledged ?? new List<string>());
                if (!paused)
                {
                    foreach (var e in request.Events)
                    {
                        SyncTransportRows.Receive(tx, connectionId, e, now, "the private side");
                        response.Stored.Add(e.EventId);
                    }

                    response.Events = SyncTransportRows.TakeSendable(tx, connectionId, SyncBatches.MaxEvents, now);
                }

                PeerRows.TouchExchange(tx, connectionId, now);
                SyncTransportRows.TouchRound(tx, connectionId, now);
                return 0;
            });
            return response;
        }

        /// <summary>The token must be signed with the connection's key, addressed to this node and unexpired; its id is used by <see cref="UseToken"/>.</summary>
        private (TokenClaims Claims, DateTimeOffset Now) Authenticate(Guid connectionId, string? token)
        {
            var now = _node.Clock();
            var connection = _node.Store.Find(connectionId);
            if (connection is null || connection.Type != ConnectionType.Private || connection.Side != PrivateConnectionSide.Public)
            {
                throw PeerErrors.UnknownConnection(connectionId);
            }

            var keyProtected = _node.Store.Read(db => PeerRows.FindKey(db, connectionId)) ?? throw PeerErrors.UnknownConnection(connectionId);
            return (PeerToken.Validate(token, _node.Secrets.Unprotect(keyProtected), _node.Store.NodeId, connectionId, now), now);
        }

        private static void UseToken(StoreTransaction tx, Guid connectionId, TokenClaims claims, DateTimeOffset now)
        {
            if (!PeerRows.TryUseTokenId(tx, claims.TokenId, DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt).Add(PeerToken.ClockSkew), now))
            {
                throw new ConnectionToolsException(
                    ErrorIds.PeerReplay,
                    ErrorKind.AuthenticationError,
                    $"A peer request for connection {connectionId} reused a token that was already seen; replays are refused.",
                    connectionId,
                    "Each request must carry a new token. If this repeats, someone may be replaying captured traffic.");
            }
        }

        private static void EnsureNotRemoved(Connection connection)
        {
            if (connection.Status == ConnectionStatus.Removed)
            {
                throw Refused(ErrorIds.InvitationConnectionRemoved, $"Connection '{connection.Name}' was removed on the public side.", "Remove it on this side too (Remove-Connection).");
            }
        }

        internal static ConnectionStatus ParsePeerStatus(string? status)
        {
            switch (status)
            {
                case nameof(ConnectionStatus.Active): return ConnectionStatus.Active;
                case nameof(ConnectionStatus.Paused): return ConnectionStatus.Paused;
                case nameof(ConnectionStatus.Inactive): return ConnectionStatus.Inactive;
                case nameof(ConnectionStatus.Removed): return ConnectionStatus.Removed;
                default: throw PeerErrors.Protocol($"'{status}' is not a status a peer can report");
            }
        }

        private static void EnsurePublicSide(Connection connection)
        {
            if (connection.Type != ConnectionType.Private || connection.Side != PrivateConnectionSide.Public)
            {
                throw PeerErrors.UnknownConnection(connection.Id);
            }
        }

        private static ConnectionToolsException InvitationInvalid(InvitationOutcome? past, string name)
        {
            switch (past)
            {
                case InvitationOutcome.Used:
                    return Refused(ErrorIds.InvitationAlreadyUsed, $"The invitation code of '{name}' was already used; a code works once.", "If the connection is not set up on your side, ask the public side's admin to remove it and create a new one.");
                case InvitationOutcome.Superseded:
                    return Refused(ErrorIds.InvitationSuperseded, $"The invitation code of '{name}' was replaced by a newer one and no longer works.", "Ask the public side's admin for the current code (Get-InvitationCode).");
                default:
                    // The caller did not prove it holds the code: it learns nothing about the connection, not even its name.
                    return Refused(ErrorIds.InvitationWrongSecret, "The invitation code's secret does not match the connection it names.", "Copy the whole code again from the public side's admin.");
            }
        }

        private static ConnectionToolsException Refused(string errorId, string message, string fix) =>
            new ConnectionToolsException(errorId, ErrorKind.InvalidOperation, message, null, fix);

        private static Guid ParseId(string? value) =>
            Guid.TryParse(value, out var id) ? id : throw PeerErrors.Protocol("a node or connection id is missing or malformed");

        private static InvitationSecret ParseSecret(string? value, Guid connectionId)
        {
            try
            {
                return InvitationSecret.FromBytes(Text.Base64Url.Decode(value ?? ""));
            }
            catch (Exception e) when (e is FormatException || e is ArgumentException)
            {
                throw Refused(ErrorIds.InvitationWrongSecret, $"The invitation secret sent for connection {connectionId} is malformed.", "Copy the whole code again from the public side's admin.");
            }
        }
    }
}
