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
        public string Name { get; internal set; } = "";

        public Guid Id { get; internal set; }

        public ConnectionType Type { get; internal set; }

        public AuthorizationState Result { get; internal set; }

        public ConnectionStatus StatusBefore { get; internal set; }

        public ConnectionStatus Status { get; internal set; }

        public InactiveReason? InactiveReason { get; internal set; }

        public string? OrganizationId { get; internal set; }

        public string? AuthorizedAs { get; internal set; }

        public AuthorizationFlow? Flow { get; internal set; }

        /// <summary>The error id when <see cref="Result"/> is not Valid or Authorized.</summary>
        public string? ErrorId { get; internal set; }

        /// <summary>What happened, and for failures the command that fixes it.</summary>
        public string Message { get; internal set; } = "";

        public TimeSpan Duration { get; internal set; }

        public override string ToString() => $"{Name}: {Result}";
    }
}
