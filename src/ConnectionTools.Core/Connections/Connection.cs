using System;
using ConnectionTools.Authorization;
using ConnectionTools.Invitations;

namespace ConnectionTools.Connections
{
    /// <summary>
    /// A connection as stored on this node. Instances are snapshots, read-only to PowerShell: a change produces a new one with a higher
    /// <see cref="Version"/> (<see cref="With"/>). A class rather than a record, so Get-Member shows no <c>&lt;Clone&gt;$</c> and no setters.
    /// </summary>
    public sealed class Connection : IEquatable<Connection>
    {
        public Guid Id { get; internal set; }

        /// <summary>Unique on the node among connections that are not removed, compared without regard to case.</summary>
        public string Name { get; internal set; } = "";

        public string Description { get; internal set; } = "";

        public ConnectionType Type { get; internal set; }

        public ConnectionStatus Status { get; internal set; }

        /// <summary>Set only while <see cref="Status"/> is Inactive.</summary>
        public InactiveReason? InactiveReason { get; internal set; }

        public DateTimeOffset CreatedAt { get; internal set; }

        public string CreatedBy { get; internal set; } = "";

        public DateTimeOffset ModifiedAt { get; internal set; }

        public string ModifiedBy { get; internal set; } = "";

        public DateTimeOffset? RemovedAt { get; internal set; }

        /// <summary>Private connections: Basic (generated, read-only sync rules) or Script (editable). Upgrades one way.</summary>
        public PrivateConnectionMode? Mode { get; internal set; }

        /// <summary>Private connections: whether this node is the public or the private side.</summary>
        public PrivateConnectionSide? Side { get; internal set; }

        public string? LocalInstanceName { get; internal set; }

        /// <summary>The other side's instance name; unknown (null) until the invitation is accepted.</summary>
        public string? RemoteInstanceName { get; internal set; }

        public Guid? PeerNodeId { get; internal set; }

        public string? PeerNodeVersion { get; internal set; }

        /// <summary>On the private side: the public node's URL, where every request goes.</summary>
        public string? PeerUrl => PeerUri?.AbsoluteUri;

        internal Uri? PeerUri { get; set; }

        /// <summary>The other side's status as of the last exchange.</summary>
        public ConnectionStatus? PeerStatus { get; internal set; }

        public DateTimeOffset? LastExchangeAt { get; internal set; }

        /// <summary>On the public side, while Pending: when the current invitation code expires.</summary>
        public DateTimeOffset? InvitationExpiresAt { get; internal set; }

        /// <summary>System connections: the org's My Domain or the Dataverse environment URL.</summary>
        public string? InstanceUrl => InstanceUri?.AbsoluteUri;

        internal Uri? InstanceUri { get; set; }

        /// <summary>Dynamics 365 connections: the Microsoft cloud.</summary>
        public EnvironmentType? EnvironmentType { get; internal set; }

        /// <summary>
        /// System connections: the Salesforce Org ID or Dataverse OrganizationId the connection is pinned to. One live connection per org;
        /// a re-authorization that reaches another org is refused unless -AcceptNewOrganizationId.
        /// </summary>
        public string? OrganizationId { get; internal set; }

        /// <summary>Who the grant acts on behalf of: the user, or app:&lt;client id&gt; for client credentials.</summary>
        public string? AuthorizedAs { get; internal set; }

        public DateTimeOffset? AuthorizedAt { get; internal set; }

        public AuthorizationFlow? AuthorizationFlow { get; internal set; }

        /// <summary>System connections: how often the retrieval job runs (5 minutes unless set).</summary>
        public TimeSpan? RetrievalInterval { get; internal set; }

        /// <summary>
        /// Dynamics 365 connections: the customer (an account or contact, as accounts(guid) or contacts(guid)) that incidents made
        /// from a partner's cases are created under; Dataverse requires one. Set-Connection -DefaultCustomer sets it.
        /// </summary>
        public string? DefaultCustomer { get; internal set; }

        /// <summary>Private connections: the name of the bound system connection whose cases it syncs; null when it exchanges status only.</summary>
        public string? System { get; internal set; }

        /// <summary>Private connections: the id of the bound system connection (see <see cref="System"/>).</summary>
        public Guid? SystemConnectionId { get; internal set; }

        /// <summary>The optimistic concurrency version: 1 when created, one more for every change.</summary>
        public long Version { get; internal set; }

        // Case sync as Get-Connection counts it (private connections): filled by the listing from one grouped query, never stored,
        // so it is no part of value equality, and the properties below have no setters. Null on other outputs (-PassThru).
        internal Sync.SyncCounts? SyncCounts;

        /// <summary>Private connections, in Get-Connection's output: outgoing sync events waiting to be sent or acknowledged.</summary>
        public int? SyncEventsOut => SyncCounts?.Out;

        /// <summary>Private connections, in Get-Connection's output: incoming sync events waiting to be applied.</summary>
        public int? SyncEventsIn => SyncCounts?.In;

        /// <summary>Private connections, in Get-Connection's output: failed sync events (Get-ConnectionSyncError lists them).</summary>
        public int? SyncErrors => SyncCounts?.Failed;

        /// <summary>Private connections: when the last sync round with the partner completed; null until one has.</summary>
        public DateTimeOffset? LastSyncRoundAt => SyncCounts?.LastRoundAt;

        public override string ToString() => Name;

        /// <summary>A copy with <paramref name="change"/> applied; this snapshot stays as it was.</summary>
        internal Connection With(Action<Connection> change)
        {
            var copy = (Connection)MemberwiseClone();
            change(copy);
            return copy;
        }

        // Value equality, as the record had: the store compares a proposed change with the stored row to skip writes that change nothing.
        public bool Equals(Connection? other) =>
            other is not null && (ReferenceEquals(this, other) ||
            (Id == other.Id && Name == other.Name && Description == other.Description && Type == other.Type && Status == other.Status &&
             InactiveReason == other.InactiveReason && CreatedAt == other.CreatedAt && CreatedBy == other.CreatedBy &&
             ModifiedAt == other.ModifiedAt && ModifiedBy == other.ModifiedBy && RemovedAt == other.RemovedAt && Mode == other.Mode &&
             Side == other.Side && LocalInstanceName == other.LocalInstanceName && RemoteInstanceName == other.RemoteInstanceName &&
             PeerNodeId == other.PeerNodeId && PeerNodeVersion == other.PeerNodeVersion && Equals(PeerUri, other.PeerUri) &&
             PeerStatus == other.PeerStatus && LastExchangeAt == other.LastExchangeAt && InvitationExpiresAt == other.InvitationExpiresAt &&
             Equals(InstanceUri, other.InstanceUri) && EnvironmentType == other.EnvironmentType && OrganizationId == other.OrganizationId &&
             AuthorizedAs == other.AuthorizedAs && AuthorizedAt == other.AuthorizedAt && AuthorizationFlow == other.AuthorizationFlow &&
             RetrievalInterval == other.RetrievalInterval && DefaultCustomer == other.DefaultCustomer && System == other.System && SystemConnectionId == other.SystemConnectionId &&
             Version == other.Version));

        public override bool Equals(object? obj) => Equals(obj as Connection);

        public override int GetHashCode() => Id.GetHashCode() ^ Version.GetHashCode();

        public static bool operator ==(Connection? left, Connection? right) => left is null ? right is null : left.Equals(right);

        public static bool operator !=(Connection? left, Connection? right) => !(left == right);
    }
}
