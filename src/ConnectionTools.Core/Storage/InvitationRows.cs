using System;

namespace ConnectionTools.Storage
{
    /// <summary>The current invitation of a pending private connection, as stored on the public side.</summary>
    internal sealed class InvitationRow
    {
        public InvitationRow(Guid connectionId, string verifier, byte[]? codeProtected, DateTimeOffset issuedAt, DateTimeOffset expiresAt)
        {
            ConnectionId = connectionId;
            Verifier = verifier;
            CodeProtected = codeProtected;
            IssuedAt = issuedAt;
            ExpiresAt = expiresAt;
        }

        public Guid ConnectionId { get; }

        /// <summary>A hash of the one-time secret: enough to check a code, useless for making one.</summary>
        public string Verifier { get; }

        /// <summary>The code encrypted with the node's secret protector, so Get-InvitationCode can show it again.</summary>
        public byte[]? CodeProtected { get; }

        public DateTimeOffset IssuedAt { get; }

        public DateTimeOffset ExpiresAt { get; }
    }

    /// <summary>What happened to a code that no longer works.</summary>
    internal enum InvitationOutcome
    {
        Used,
        Superseded,

        /// <summary>The connection was removed while pending.</summary>
        Withdrawn,
    }

    /// <summary>SQL for invitations, run inside the store's transactions.</summary>
    internal static class InvitationRows
    {
        public static void Insert(StoreTransaction tx, InvitationRow row) => tx.Execute(
            "INSERT INTO invitations (connection_id, verifier, code_protected, issued_at, expires_at) VALUES ($id, $verifier, $code, $issued, $expires);",
            ("$id", ConnectionStore.FormatId(row.ConnectionId)),
            ("$verifier", row.Verifier),
            ("$code", row.CodeProtected),
            ("$issued", row.IssuedAt.ToUnixTimeMilliseconds()),
            ("$expires", row.ExpiresAt.ToUnixTimeMilliseconds()));

        public static InvitationRow? Find(StoreSession db, Guid connectionId)
        {
            using (var command = db.Command("SELECT verifier, code_protected, issued_at, expires_at FROM invitations WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId))))
            using (var reader = command.ExecuteReader())
            {
                return reader.Read()
                    ? new InvitationRow(
                        connectionId,
                        reader.GetString(0),
                        reader.IsDBNull(1) ? null : (byte[])reader.GetValue(1),
                        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)))
                    : null;
            }
        }

        /// <summary>Moves the current invitation to the history with its outcome, so the same code later gets the right error.</summary>
        public static void Retire(StoreTransaction tx, Guid connectionId, InvitationOutcome outcome, DateTimeOffset at)
        {
            var current = Find(tx, connectionId);
            if (current is null)
            {
                return;
            }

            tx.Execute(
                "INSERT INTO invitation_history (verifier, connection_id, outcome, at) VALUES ($verifier, $id, $outcome, $at) " +
                "ON CONFLICT(verifier) DO UPDATE SET connection_id = excluded.connection_id, outcome = excluded.outcome, at = excluded.at;",
                ("$verifier", current.Verifier),
                ("$id", ConnectionStore.FormatId(connectionId)),
                ("$outcome", outcome.ToString()),
                ("$at", at.ToUnixTimeMilliseconds()));
            tx.Execute("DELETE FROM invitations WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)));
        }

        public static InvitationOutcome? PastOutcome(StoreSession db, string verifier)
        {
            var outcome = (string?)db.Scalar("SELECT outcome FROM invitation_history WHERE verifier = $verifier;", ("$verifier", verifier));
            return outcome is null ? (InvitationOutcome?)null : (InvitationOutcome)Enum.Parse(typeof(InvitationOutcome), outcome);
        }
    }
}
