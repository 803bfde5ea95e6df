using System;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Sync
{
    public enum SyncEventStatus
    {
        /// <summary>Waiting to be sent (outgoing) or applied (incoming). A newer change of the same case replaces it.</summary>
        Queued,

        /// <summary>Sent in a batch and not yet acknowledged by the partner: it is never replaced, only sent again.</summary>
        Sent,

        /// <summary>The rule failed for this case (or the partner refused it); the case's later events wait behind it until a retry.</summary>
        Failed,

        /// <summary>
        /// Incoming, received while the bound system connection is Inactive (its grant expired or was revoked): it is not applied
        /// until re-authorization makes the system Active again, which turns it back to Queued.
        /// </summary>
        Held,
    }

    /// <summary>One change of one case, queued for one private connection: what crosses between the nodes is its replica.</summary>
    public sealed class SyncEvent
    {
        public Guid ConnectionId { get; internal set; }

        public string ConnectionName { get; internal set; } = "";

        public SyncDirection Direction { get; internal set; }

        /// <summary>Unique per connection and direction, made by the sender.</summary>
        public Guid EventId { get; internal set; }

        /// <summary>Follows the change through both nodes, so that two admins can talk about the same event.</summary>
        public string TraceId { get; internal set; } = "";

        /// <summary>The case's id on the sender's side (Salesforce Case Id, Dataverse incidentid).</summary>
        public string CaseId { get; internal set; } = "";

        /// <summary>Per (connection, case): 1 for the case's first event, one more for every event after it.</summary>
        public long Sequence { get; internal set; }

        public SyncEventStatus Status { get; internal set; }

        public int Attempts { get; internal set; }

        public string? ErrorId { get; internal set; }

        public string? Error { get; internal set; }

        /// <summary>The replica, as JSON; null while the rule has not made one.</summary>
        public string? Replica { get; internal set; }

        /// <summary>Outgoing events not sent yet: the case as the rule saw it, as JSON, which a retry runs the rule on again.</summary>
        public string? Entity { get; internal set; }

        public DateTimeOffset CreatedAt { get; internal set; }

        public DateTimeOffset UpdatedAt { get; internal set; }

        public override string ToString() => $"{Direction} {CaseId} #{Sequence} ({Status}, trace {TraceId})";
    }
}
