using System;
using ConnectionTools.Connections;

namespace ConnectionTools.Authorization
{
    /// <summary>What Test- or Update-ConnectionAuthorization found for one connection.</summary>
    public enum AuthorizationState
    {
        /// <summary>Test: the grant refreshed and reaches the pinned org.</summary>
        Valid,

        /// <summary>Update: a new grant was obtained and saved.</summary>
        Authorized,

        Expired,
        Revoked,
        ConsentRequired,
        PolicyBlocked,
        OrgChanged,

        /// <summary>Not a verdict on the grant: the provider could not be reached, the app is misconfigured, or input was wrong.</summary>
        Failed,
    }

    /// <summary>One result object per connection from Test-ConnectionAuthorization and Update-ConnectionAuthorization.</summary>
    public sealed class AuthorizationResult
    {
        public string Name { get; set; } = "";

        public Guid Id { get; set; }

        public ConnectionType Type { get; set; }

        public AuthorizationState Result { get; set; }

        public ConnectionStatus StatusBefore { get; set; }

        public ConnectionStatus Status { get; set; }

        public InactiveReason? InactiveReason { get; set; }

        public string? OrganizationId { get; set; }

        public string? AuthorizedAs { get; set; }

        public AuthorizationFlow? Flow { get; set; }

        /// <summary>The error id when <see cref="Result"/> is not Valid or Authorized.</summary>
        public string? ErrorId { get; set; }

        /// <summary>What happened, and for failures the command that fixes it.</summary>
        public string Message { get; set; } = "";

        public TimeSpan Duration { get; set; }

        public override string ToString() => $"{Name}: {Result}";
    }
}
