using System;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Connections;

namespace ConnectionTools.Authorization.Entra
{
    // Sign in first, then find the environment: the sign-in asks for the cloud's Global Discovery Service, whose list the
    // admin chooses from; the chosen environment's Dataverse token then comes silently from the same MSAL cache.
    public sealed partial class EntraAuthorizer : IEnvironmentDiscovery
    {
        public async Task<EnvironmentDiscoveryResult> DiscoverAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken)
        {
            if (spec is null)
            {
                throw new ArgumentNullException(nameof(spec));
            }

            CheckContext(context);
            if (spec.Type != ConnectionType.Dynamics365)
            {
                throw new ArgumentException($"Environments are discovered for Dynamics 365, not {spec.Type}.", nameof(spec));
            }

            if (spec.Flow != AuthorizationFlow.Interactive && spec.Flow != AuthorizationFlow.DeviceCode)
            {
                throw new ArgumentException($"Only a person's sign-in can discover environments, not {spec.Flow}.", nameof(spec));
            }

            if (!spec.CanInteract)
            {
                throw InteractionRequired(spec.Flow);
            }

            var cloud = CloudEndpoints.For(spec.EnvironmentType);
            var grant = new GrantMaterial
            {
                Flow = spec.Flow,
                ClientId = string.IsNullOrWhiteSpace(spec.ClientId) ? WellKnownPublicClientId : spec.ClientId!.Trim(),
                TenantId = string.IsNullOrWhiteSpace(spec.TenantId) ? null : spec.TenantId!.Trim(),
                Username = string.IsNullOrWhiteSpace(spec.Username) ? null : spec.Username!.Trim(),
            };
            var result = await AcquireUserTokenAsync(spec.EnvironmentType, grant, GlobalDiscovery.Scope(cloud), context, cancellationToken).ConfigureAwait(false);
            var account = grant.Username ?? grant.AccountId!;
            var environments = await GlobalDiscovery.ListAsync(cloud, result.AccessToken, account, context, cancellationToken).ConfigureAwait(false);
            context.Verbose($"Entra ID: {account} can reach {environments.Count} environment(s) in the {spec.EnvironmentType} cloud.");
            return new EnvironmentDiscoveryResult(grant, account, environments);
        }
    }
}
