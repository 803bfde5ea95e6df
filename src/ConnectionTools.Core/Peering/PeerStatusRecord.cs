using System;
using ConnectionTools.Connections;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.Peering
{
    /// <summary>What both sides do with the status the other side reported: record it, audited, only when it changed.</summary>
    internal static class PeerStatusRecord
    {
        public static ChangeOutcome Save(ConnectionNode node, Guid connectionId, ConnectionStatus peerStatus) => node.Store.Change(
            connectionId,
            LifecycleAction.Edit,
            current => current.PeerStatus == peerStatus ? null : current.With(c => { c.PeerStatus = peerStatus; }),
            node.ActorName);
    }
}
