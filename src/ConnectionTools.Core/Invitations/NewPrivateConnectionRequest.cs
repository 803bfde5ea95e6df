using System;

namespace ConnectionTools.Invitations
{
    /// <summary>What New-PrivateConnection asks for.</summary>
    public sealed class NewPrivateConnectionRequest
    {
        public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(72);
        public static readonly TimeSpan MinimumLifetime = TimeSpan.FromMinutes(5);
        public static readonly TimeSpan MaximumLifetime = TimeSpan.FromDays(30);

        public string Name { get; set; } = "";

        public string LocalInstanceName { get; set; } = "";

        /// <summary>Optional: shown as unknown until the private side accepts and tells its own.</summary>
        public string? RemoteInstanceName { get; set; }

        public string? Description { get; set; }

        public PrivateConnectionMode Mode { get; set; } = PrivateConnectionMode.Basic;

        public TimeSpan InvitationLifetime { get; set; } = DefaultLifetime;

        /// <summary>Optional: the Salesforce or Dynamics 365 connection whose cases it syncs; null or empty: it exchanges status only.</summary>
        public string? System { get; set; }
    }
}
