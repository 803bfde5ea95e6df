using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization.Entra;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// A provider that can sign a person in before the environment is known and list the environments they can reach
    /// (Dynamics 365, through the cloud's Global Discovery Service). The grant it returns then gets a token for the chosen
    /// environment with <see cref="ISystemAuthorizer.RefreshAsync"/>, without a second prompt.
    /// </summary>
    public interface IEnvironmentDiscovery
    {
        /// <summary>Signs in with <paramref name="spec"/>'s interactive or device-code flow in its cloud (its InstanceUrl is not used) and lists the environments.</summary>
        Task<EnvironmentDiscoveryResult> DiscoverAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken);
    }

    /// <summary>What a discovery sign-in returns: the grant to store once an environment is chosen, who signed in, and what they can reach.</summary>
    public sealed class EnvironmentDiscoveryResult
    {
        public EnvironmentDiscoveryResult(GrantMaterial grant, string account, IReadOnlyList<DiscoveredEnvironment> environments)
        {
            Grant = grant;
            Account = account;
            Environments = environments;
        }

        /// <summary>Holds the refresh token (in MSAL's cache): never output, stored only when a connection is created with it.</summary>
        public GrantMaterial Grant { get; }

        public string Account { get; }

        public IReadOnlyList<DiscoveredEnvironment> Environments { get; }
    }
}
