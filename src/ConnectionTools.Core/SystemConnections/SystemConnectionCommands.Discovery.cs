using System;
using System.Linq;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;

namespace ConnectionTools.SystemConnections
{
    // Signing in before the org's URL is known: New-Connection without -InstanceUrl (Salesforce at its login host, Dynamics 365
    // through the cloud's Global Discovery Service), and Find-ConnectionEnvironment, which lists what a sign-in can reach.
    public sealed partial class SystemConnectionCommands
    {
        /// <summary>
        /// Find-ConnectionEnvironment: signs a person in to the cloud and writes the Dynamics 365 environments they can reach
        /// (all, or those -EnvironmentName matches). Nothing is stored, and the sign-in is not kept.
        /// </summary>
        public void FindEnvironments(FindEnvironmentRequest request)
        {
            if (request is null)
            {
                throw new ArgumentNullException(nameof(request));
            }

            const string what = "Find-ConnectionEnvironment";
            var type = SignInSpec.ParseType(request.Type ?? nameof(ConnectionType.Dynamics365), what);
            if (type != ConnectionType.Dynamics365)
            {
                throw new ConnectionToolsException(ErrorIds.EnvironmentNotApplicable, ErrorKind.InvalidArgument,
                    $"Only Dynamics 365 has environments to list; a Salesforce sign-in reaches one org. Nothing was sent.", request.Type,
                    "Use -Type Dynamics365, or create the Salesforce connection with New-Connection (its -InstanceUrl is optional).");
            }

            var cloud = CloudEndpoints.For(SignInSpec.ParseEnvironment(request.EnvironmentType, type, what) ?? EnvironmentType.Public);
            var target = new SystemTarget(type, cloud.Environment, cloud.DiscoveryUrl);
            using (var spec = BuildSpec(target, request, stored: null, what))
            {
                RequireInstanceUrlForApp(spec.Value, discover: true, what);
                var found = Discover(spec.Value, what);
                var shown = string.IsNullOrWhiteSpace(request.EnvironmentName) ? found.Environments : EnvironmentChoice.Match(found.Environments, request.EnvironmentName!.Trim());
                _host.WriteVerbose($"{found.Account} can reach {found.Environments.Count} environment(s) in the {cloud.Environment} cloud; {shown.Count} shown. The sign-in is not kept: nothing was stored.");
                foreach (var environment in shown)
                {
                    _host.WriteObject(environment);
                }
            }
        }

        /// <summary>
        /// New-Connection for Dynamics 365 without -InstanceUrl: signs in, lists the environments, chooses one (on this, the
        /// pipeline thread, where the choice prompt may be shown), then gets the chosen environment's token from the same
        /// sign-in and reads its organization. Any failure after the sign-in discards the grant; nothing is stored.
        /// </summary>
        private (AuthorizationOutcome Outcome, SystemTarget Target) AuthorizeDiscovered(AuthorizationSpec spec, string? environmentName, bool canPrompt, string name)
        {
            var found = Discover(spec, name);
            var cloud = CloudEndpoints.For(spec.EnvironmentType);
            var target = new SystemTarget(ConnectionType.Dynamics365, spec.EnvironmentType, cloud.DiscoveryUrl);
            try
            {
                // A disabled environment (the service's State 1) cannot be connected to; Find-ConnectionEnvironment still shows it.
                var enabled = found.Environments.Where(e => e.State == 0).ToList();
                foreach (var disabled in found.Environments.Where(e => e.State != 0))
                {
                    _host.WriteVerbose($"Leaving out {disabled.Describe()}: the discovery service reports it disabled.");
                }

                var chosen = EnvironmentChoice.Choose(enabled, environmentName, canPrompt, _host, found.Account, spec.EnvironmentType, name);
                target = new SystemTarget(ConnectionType.Dynamics365, spec.EnvironmentType, chosen.Uri);
                var outcome = ParallelWork.RunOne(_host, (worker, ct) => _node.Providers.For(ConnectionType.Dynamics365).RefreshAsync(target, found.Grant, Context(worker), ct));
                return (outcome, target);
            }
            catch (ProviderRefusedException refused)
            {
                RevokeOrphan(target, found.Grant, name);
                throw Refused(refused, name);
            }
            catch (ConnectionToolsException)
            {
                RevokeOrphan(target, found.Grant, name);
                throw;
            }
        }

        private EnvironmentDiscoveryResult Discover(AuthorizationSpec spec, string name)
        {
            if (!(_node.Providers.For(ConnectionType.Dynamics365) is IEnvironmentDiscovery discovery))
            {
                throw new InvalidOperationException("The Dynamics 365 provider of this node cannot discover environments.");
            }

            try
            {
                return ParallelWork.RunOne(_host, (worker, ct) => discovery.DiscoverAsync(spec, Context(worker), ct));
            }
            catch (ProviderRefusedException refused)
            {
                throw Refused(refused, name);
            }
        }

        /// <summary>The sign-in itself; a grant issued before a later step failed is revoked, so it does not stay live.</summary>
        private AuthorizationOutcome Authorize(AuthorizationSpec spec, SystemTarget target, string name)
        {
            GrantMaterial? issued = null;
            try
            {
                return ParallelWork.RunOne(_host, (worker, ct) =>
                {
                    var context = Context(worker);
                    context.GrantIssued = g => issued = g;
                    return _node.Providers.For(target.Type).AuthorizeAsync(spec, context, ct);
                });
            }
            catch (Exception e) when (issued != null && (e is ConnectionToolsException || e is ProviderRefusedException))
            {
                // The code was exchanged, then a later step failed: the provider holds a live grant nothing will use. It is
                // revoked where it was issued (Salesforce: the org's own host from the token answer, when there was one).
                var at = issued.ApiUrl != null ? new SystemTarget(target.Type, target.EnvironmentType, issued.ApiUrl) : target;
                RevokeOrphan(at, issued, name);
                if (e is ProviderRefusedException refusedLate)
                {
                    throw Refused(refusedLate, name);
                }

                throw;
            }
            catch (ProviderRefusedException refused)
            {
                throw Refused(refused, name);
            }
        }

        /// <summary>An app (client credentials) signs in to no user's environments: discovery needs a person's sign-in.</summary>
        private static void RequireInstanceUrlForApp(AuthorizationSpec spec, bool discover, string name)
        {
            if (discover && spec.Type == ConnectionType.Dynamics365 && (spec.Flow == AuthorizationFlow.ClientSecret || spec.Flow == AuthorizationFlow.ClientCertificate))
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationInstanceUrlRequired,
                    ErrorKind.InvalidArgument,
                    $"Connection '{name}': client credentials sign an app in, and an app has no environments the Global Discovery Service could list. Nothing was sent.",
                    name,
                    "Add -InstanceUrl with the environment's URL (for example https://contoso.crm.dynamics.com), or sign in as a person (leave out -ClientSecret and the certificate) to choose the environment.");
            }
        }

    }
}
