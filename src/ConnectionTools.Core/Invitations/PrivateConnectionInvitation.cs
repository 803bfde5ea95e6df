using System;
using ConnectionTools.Connections;

namespace ConnectionTools.Invitations
{
    /// <summary>
    /// A pending private connection with the code its partner needs. The code carries a one-time secret: it is shown here,
    /// to be handed to the private side's admin, and nowhere else (never in verbose output, logs or the audit).
    /// </summary>
    public sealed class PrivateConnectionInvitation
    {
        public PrivateConnectionInvitation(Connection connection, string invitationCode, DateTimeOffset expiresAt, Uri publicUrl)
        {
            Connection = connection;
            InvitationCode = invitationCode;
            ExpiresAt = expiresAt;
            PublicUrl = publicUrl.AbsoluteUri;
        }

        public Guid Id => Connection.Id;

        public string Name => Connection.Name;

        public ConnectionStatus Status => Connection.Status;

        public PrivateConnectionMode? Mode => Connection.Mode;

        /// <summary>Where the private side connects, as the code carries it.</summary>
        public string PublicUrl { get; }

        public DateTimeOffset ExpiresAt { get; }

        public string InvitationCode { get; }

        public Connection Connection { get; }

        /// <summary>The code itself, so that <c>| Set-Content</c>, <c>| Set-Clipboard</c>, <c>"$(...)"</c> and <c>[string]</c> give exactly the code.</summary>
        public override string ToString() => InvitationCode;
    }
}
