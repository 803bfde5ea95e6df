using System;
using ConnectionTools.Authorization;
using ConnectionTools.Invitations;

namespace ConnectionTools.Connections
{
    /// <summary>
    /// A connection as stored on this node. Instances are immutable snapshots: a change produces a new one with a higher <see cref="Version"/>.
    /// </summary>
    public sealed record Connection
    {
        public Guid Id { get; init; }

        /// <summary>Unique on the node among connections that are not removed, compared without regard to case.</summary>
        public string Name { get; init; } = "";

        public string Description { get; init; } = "";

        public ConnectionType Type { get; init; }

        public ConnectionStatus Status { get; init; }

        /// <summary>Set only while <see cref="Status"/> is Inactive.</summary>
        public InactiveReason? InactiveReason { get; init; }

        public DateTimeOffset CreatedAt { get; init; }

        public string CreatedBy { get; init; } = "";

        public DateTimeOffset ModifiedAt { get; init; }

        public string ModifiedBy { get; init; } = "";

        public DateTimeOffset? RemovedAt { get; init; }

        /// <summary>Private connections: Basic (generated, read-only sync rules) or Script (editable). Upgrades one way.</summary>
        public PrivateConnectionMode? Mode { get; init; }

        /// <summary>Private connections: whether this node is the public or the private side.</summary>
        public PrivateConnectionSide? Side { get; init; }

        public string? LocalInstanceName { get; init; }

        /// <summary>The other side's instance name; unknown (null) until the invitation is accepted.</summary>
        public string? RemoteInstanceName { get; init; }

        public Guid? PeerNodeId { get; init; }

        public string? PeerNodeVersion { get; init; }

        /// <summary>On the private side: the public node's URL, where every request goes.</summary>
        public Uri? PeerUrl { get; init; }

        /// <summary>The other side's status as of the last exchange.</summary>
        public ConnectionStatus? PeerStatus { get; init; }

        public DateTimeOffset? LastExchangeAt { get; init; }

        /// <summary>On the public side, while Pending: when the current invitation code expires.</summary>
        public DateTimeOffset? InvitationExpiresAt { get; init; }

        /// <summary>System connections: the org's My Domain or the Dataverse environment URL.</summary>
        public Uri? InstanceUrl { get; init; }

        /// <summary>Dynamics 365 connections: the Microsoft cloud.</summary>
        public EnvironmentType? EnvironmentType { get; init; }

        /// <summary>
        /// System connections: the Salesforce Org ID or Dataverse OrganizationId the connection is pinned to. One live connection per org;
        /// a re-authorization that reaches another org is refused unless -AcceptNewOrganizationId.
        /// </summary>
        public string? OrganizationId { get; init; }

        /// <summary>Who the grant acts on behalf of: the user, or app:&lt;client id&gt; for client credentials.</summary>
        public string? AuthorizedAs { get; init; }

        public DateTimeOffset? AuthorizedAt { get; init; }

        public AuthorizationFlow? AuthorizationFlow { get; init; }

        /// <summary>System connections: how often the retrieval job runs (5 minutes unless set).</summary>
        public TimeSpan? RetrievalInterval { get; init; }

        /// <summary>The optimistic concurrency version: 1 when created, one more for every change.</summary>
        public long Version { get; init; }

        public override string ToString() => Name;
    }
}
