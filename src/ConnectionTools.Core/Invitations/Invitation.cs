using System;

namespace ConnectionTools.Invitations
{
    /// <summary>
    /// What an invitation code carries from the public side to the private side's admin: enough to reach the public node and prove,
    /// once, that the code came from it. Validation of the values happens in <see cref="InvitationCodec"/>, where they cross a boundary.
    /// </summary>
    public sealed class Invitation
    {
        /// <summary>The binary layout version, shown in the code's prefix (<c>CT1-</c>) and repeated in its first byte.</summary>
        public const int FormatVersion = 1;

        public Invitation(
            Guid connectionId,
            string connectionName,
            PrivateConnectionMode mode,
            Uri publicNodeUrl,
            Guid publicNodeId,
            string publicNodeVersion,
            string initiatorInstanceName,
            DateTimeOffset expiresAt,
            InvitationSecret secret)
        {
            ConnectionId = connectionId;
            ConnectionName = connectionName ?? throw new ArgumentNullException(nameof(connectionName));
            Mode = mode;
            PublicNodeUrl = publicNodeUrl ?? throw new ArgumentNullException(nameof(publicNodeUrl));
            PublicNodeId = publicNodeId;
            PublicNodeVersion = publicNodeVersion ?? throw new ArgumentNullException(nameof(publicNodeVersion));
            InitiatorInstanceName = initiatorInstanceName ?? throw new ArgumentNullException(nameof(initiatorInstanceName));

            // The code carries whole seconds; truncating here makes a decoded invitation equal the one that was encoded.
            ExpiresAt = expiresAt.AddTicks(-(expiresAt.UtcTicks % TimeSpan.TicksPerSecond));
            Secret = secret ?? throw new ArgumentNullException(nameof(secret));
        }

        public Guid ConnectionId { get; }

        public string ConnectionName { get; }

        public PrivateConnectionMode Mode { get; }

        /// <summary>Invitations are only issued for private connections; the property exists so the code is self-describing when shown.</summary>
        public string ConnectionType => "Private";

        /// <summary>Where the private side sends every request. Always absolute http or https.</summary>
        public Uri PublicNodeUrl { get; }

        public Guid PublicNodeId { get; }

        public string PublicNodeVersion { get; }

        /// <summary>The public side's instance name, so the accepting admin can see who invited them.</summary>
        public string InitiatorInstanceName { get; }

        /// <summary>Whole seconds. Decoding does not check it: the caller has the clock (<see cref="IsExpired"/>).</summary>
        public DateTimeOffset ExpiresAt { get; }

        public InvitationSecret Secret { get; }

        public bool IsExpired(DateTimeOffset now) => now >= ExpiresAt;

        public override string ToString() => $"Invitation to '{ConnectionName}' at {PublicNodeUrl} (expires {ExpiresAt:u})";
    }
}
