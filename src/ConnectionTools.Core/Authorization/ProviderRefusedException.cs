using System;
using ConnectionTools.Connections;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// The provider answered and refused the grant (invalid_grant, AADSTS…). Distinct from a provider that could not be reached,
    /// which must never make a connection Inactive. <see cref="ProviderSaid"/> holds the provider's error and description, no secrets.
    /// </summary>
    public sealed class ProviderRefusedException : Exception
    {
        public ProviderRefusedException(InactiveReason reason, string providerSaid, Exception? inner = null)
            : base($"{reason}: {providerSaid}", inner)
        {
            Reason = reason;
            ProviderSaid = providerSaid;
        }

        public InactiveReason Reason { get; }

        public string ProviderSaid { get; }
    }
}
