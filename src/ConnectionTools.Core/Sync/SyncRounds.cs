using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using ConnectionTools.Connections;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;

namespace ConnectionTools.Sync
{
    /// <summary>What one or more sync rounds moved.</summary>
    public sealed class SyncRoundResult
    {
        public int Sent { get; internal set; }

        public int Received { get; internal set; }

        public int Rounds { get; internal set; }
    }

    /// <summary>
    /// The private side's sync rounds (the public side only answers, <see cref="PeerServer.Sync"/>). A round sends this side's
    /// next batch of events and the acknowledgements it owes, and stores what comes back; each side forgets an event only once
    /// the other acknowledged it, so nothing relies on a request or an answer arriving. Rounds go on while a batch came back full.
    /// </summary>
    internal static class SyncRounds
    {
        /// <summary>Enough for 100,000 events a side in one call; the node host's poller calls again on its interval.</summary>
        private const int MaxRounds = 200;

        public static SyncRoundResult Run(ConnectionNode node, PeerClient client, Connection connection, byte[] key, CancellationToken cancellationToken)
        {
            var result = new SyncRoundResult();
            for (var round = 0; round < MaxRounds; round++)
            {
                var (sent, received) = One(node, client, connection, key, cancellationToken);
                result.Sent += sent;
                result.Received += received;
                result.Rounds++;
                if (sent < SyncBatches.MaxEvents && received < SyncBatches.MaxEvents)
                {
                    break;
                }
            }

            return result;
        }

        private static (int Sent, int Received) One(ConnectionNode node, PeerClient client, Connection connection, byte[] key, CancellationToken cancellationToken)
        {
            var current = node.Store.Find(connection.Id) ?? connection;
            var paused = current.Status == ConnectionStatus.Paused || current.PeerStatus == ConnectionStatus.Paused;
            var now = node.Clock();
            var request = new SyncRequest { Status = current.Status.ToString() };
            node.Store.Write(tx =>
            {
                request.Acknowledged = SyncTransportRows.PendingAcks(tx, connection.Id);
                if (!paused)
                {
                    request.Events = SyncTransportRows.TakeSendable(tx, connection.Id, SyncBatches.MaxEvents, now);
                }

                return 0;
            });

            var answer = client.SyncAsync(
                current.PeerUri!,
                connection.Id,
                () => PeerToken.Create(key, node.Store.NodeId, current.PeerNodeId!.Value, connection.Id, node.Clock()),
                request,
                cancellationToken).GetAwaiter().GetResult();
            SyncBatches.Validate(answer.Events, "the public side");
            var peerStatus = PeerServer.ParsePeerStatus(answer.Status);
            PeerStatusRecord.Save(node, connection.Id, peerStatus);

            var received = 0;
            node.Store.Write(tx =>
            {
                // Hundreds of rows through the same few statements: each is prepared once.
                using var statements = tx.KeepStatementsPrepared();
                var sentIds = new HashSet<string>(request.Events.Select(e => e.EventId), StringComparer.OrdinalIgnoreCase);
                SyncTransportRows.Forget(tx, connection.Id, (answer.Stored ?? new List<string>()).Where(sentIds.Contains));
                foreach (var acknowledged in request.Acknowledged)
                {
                    SyncTransportRows.ClearPendingAck(tx, connection.Id, acknowledged);
                }

                foreach (var e in answer.Events)
                {
                    if (SyncTransportRows.Receive(tx, connection.Id, e, now, "the public side"))
                    {
                        received++;
                    }

                    // Owed even for an event held already: the public side sent it again because our last ack did not arrive.
                    SyncTransportRows.AddPendingAck(tx, connection.Id, e.EventId);
                }

                PeerRows.TouchExchange(tx, connection.Id, now);
                SyncTransportRows.TouchRound(tx, connection.Id, now);
                return 0;
            });
            return (request.Events.Count, answer.Events.Count);
        }
    }
}
