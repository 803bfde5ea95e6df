using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.SystemConnections
{
    /// <summary>
    /// System connections (Salesforce, Dynamics 365): New-Connection, Test-ConnectionAuthorization, Update-ConnectionAuthorization,
    /// and the grant's part in Remove-Connection. Every check that needs no network runs before the first request (SignInSpec);
    /// the store is written only after the provider answered, in one transaction per connection (GrantVault). Revoking grants
    /// is in SystemConnectionCommands.Revocation.cs.
    /// </summary>
    public sealed partial class SystemConnectionCommands
    {
        public const int DefaultThrottleLimit = 8;

        private readonly ConnectionNode _node;
        private readonly IHostContext _host;

        public SystemConnectionCommands(ConnectionNode node, IHostContext host)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
        }

        private void EnsureNameFree(string name)
        {
            if (_node.Store.FindByName(name) is { } existing)
            {
                throw ConnectionStore.NameInUse(existing, name);
            }
        }

        /// <summary>
        /// Every check <see cref="New"/> makes before it signs in (names, URL, flow, that the certificate loads and can sign,
        /// the name free on this node), with no network call and nothing written: what a plan runs to tell, before anything
        /// is applied, that the creation would fail.
        /// </summary>
        internal void Check(NewConnectionRequest request)
        {
            var (name, _, _, _, _, target, discover) = SignInSpec.ValidateRequest(request);
            using (var spec = BuildSpec(target, request, stored: null, name))
            {
                RequireInstanceUrlForApp(spec.Value, discover, name);
                EnsureNameFree(name);
            }
        }

        /// <summary>
        /// Authorizes a new system connection, pins it to the org it reached, and stores it Active. Without an instance URL,
        /// Salesforce signs in at the login host of the org's kind and takes the org's URL from the token answer; Dynamics 365
        /// signs in to the cloud, lists the environments the account can reach, and uses the one named, the only one, or the one chosen.
        /// </summary>
        public void New(NewConnectionRequest request)
        {
            var (name, description, type, environment, instance, target, discover) = SignInSpec.ValidateRequest(request);
            _redirectPort = request.RedirectPort;
            using (var spec = BuildSpec(target, request, stored: null, name))
            {
                RequireInstanceUrlForApp(spec.Value, discover, name);
                EnsureNameFree(name);
                var where = !discover ? instance.Host
                    : type == ConnectionType.Dynamics365 ? $"the {target.EnvironmentType} environment chosen after sign-in" : $"the org signed in to at {instance.Host}";
                if (!_host.ShouldProcess($"Connection '{name}' ({type}, {where})", $"Authorize with {spec.Value.Flow} and create"))
                {
                    return;
                }

                AuthorizationOutcome outcome;
                if (discover && type == ConnectionType.Dynamics365)
                {
                    (outcome, target) = AuthorizeDiscovered(spec.Value, request.EnvironmentName, request.Interactive && request.CanChoose, name);
                }
                else
                {
                    outcome = Authorize(spec.Value, target, name);
                    if (discover && outcome.Grant.ApiUrl != null)
                    {
                        // Salesforce: the org's own URL, from the token answer's instance_url; only the org id is pinned.
                        target = new SystemTarget(type, target.EnvironmentType, outcome.Grant.ApiUrl);
                        _host.WriteVerbose($"Signed in at {instance.Host}; the org is at {target.InstanceUrl.Host}.");
                    }
                }

                instance = target.InstanceUrl;
                if (_node.Store.FindByOrganization(outcome.OrganizationId) is { } connected)
                {
                    RevokeOrphan(target, outcome.Grant, name);
                    throw ConnectionStore.OrganizationInUse(connected, outcome.OrganizationId);
                }

                var previous = _node.Store.FindRemovedByOrganization(outcome.OrganizationId);
                if (previous != null)
                {
                    _host.WriteVerbose($"Organization {outcome.OrganizationId} was connected before by '{previous.Name}' (id {previous.Id}, removed {previous.RemovedAt:u}); its settings are reused.");
                }

                var now = GrantVault.StoreTime(_node.Clock());
                var connection = new Connection
                {
                    Id = Guid.NewGuid(),
                    Name = name,
                    Description = description ?? previous?.Description ?? "",
                    Type = type,
                    Status = ConnectionStatus.Active,
                    InstanceUri = instance,
                    EnvironmentType = environment,
                    OrganizationId = outcome.OrganizationId,
                    AuthorizedAs = outcome.AuthorizedAs,
                    AuthorizedAt = now,
                    AuthorizationFlow = spec.Value.Flow,
                    RetrievalInterval = previous?.RetrievalInterval,
                };
                var grant = GrantVault.Protect(_node, outcome.Grant);
                Connection created;
                try
                {
                    created = GrantVault.Create(_node, connection, grant, now);
                }
                catch (ConnectionToolsException)
                {
                    RevokeOrphan(target, outcome.Grant, name);
                    throw;
                }

                _host.WriteVerbose($"Created {type} connection '{name}' for organization {outcome.OrganizationId}, authorized as {outcome.AuthorizedAs} ({spec.Value.Flow}).");
                _host.WriteObject(created);
            }
        }

        private static ConnectionToolsException Refused(ProviderRefusedException refused, string name) => new ConnectionToolsException(
            refused.Reason == InactiveReason.ConsentRequired ? ErrorIds.AuthorizationConsentRequired : ErrorIds.AuthorizationDeclined,
            ErrorKind.AuthenticationError,
            $"The provider refused to authorize '{name}' ({refused.ProviderSaid}). Nothing was saved.",
            name,
            "Check that the user or app may use the org and the connected app or app registration, then run the command again.");

        /// <summary>
        /// Refreshes each connection's grant without any prompt and classifies the answer. A refusal makes the connection Inactive
        /// with its reason; a provider that cannot be reached changes nothing. Without <paramref name="targets"/> (null), every
        /// system connection that holds a grant (Active, Paused or Inactive).
        /// </summary>
        public void Test(IEnumerable<ConnectionTarget>? targets, TestAuthorizationRequest request)
        {
            targets ??= SelectByStatus(SystemConnectionLifecycle.WithGrant);
            var host = new ErrorsLastHost(_host);
            try
            {
                Test(host, SystemConnectionLifecycle.Resolve(_node, host, targets), request?.ThrottleLimit ?? DefaultThrottleLimit);
            }
            finally
            {
                host.Flush();
            }
        }

        private void Test(IHostContext host, IReadOnlyList<Connection> connections, int throttleLimit)
        {
            ParallelWork.Run(host, connections, throttleLimit, "Testing connection authorizations", async (connection, worker, ct) =>
            {
                var clock = Stopwatch.StartNew();
                var result = AuthorizationResults.Start(connection);
                try
                {
                    var (outcome, grant) = await GrantRefresh.RefreshAsync(_node, connection, Context(worker), ct).ConfigureAwait(false);
                    if (!string.Equals(outcome.OrganizationId, connection.OrganizationId, StringComparison.Ordinal))
                    {
                        throw new ProviderRefusedException(InactiveReason.OrgChanged, $"the grant now reaches organization {outcome.OrganizationId}, not {connection.OrganizationId}");
                    }

                    GrantVault.SaveRefreshed(_node, connection, grant, outcome.Grant);
                    result.Result = AuthorizationState.Valid;
                    result.AuthorizedAs = outcome.AuthorizedAs;
                    result.Message = connection.Status == ConnectionStatus.Inactive
                        ? $"The grant works again; the connection stays Inactive until you run Update-ConnectionAuthorization -Name '{connection.Name}'."
                        : "The grant refreshed and reaches the pinned organization.";
                }
                catch (ProviderRefusedException refused)
                {
                    var error = AuthorizationFailures.ToError(refused.Reason, connection.Name, refused.ProviderSaid);
                    var after = SystemConnectionLifecycle.Deactivate(_node, connection, refused.Reason, refused.ProviderSaid);
                    AuthorizationResults.Fill(result, after, AuthorizationResults.StateOf(refused.Reason), error);
                    worker.WriteError(error);
                }
                catch (ConnectionToolsException e) when (!PerItem.IsStoreWide(e))
                {
                    AuthorizationResults.Fill(result, connection, AuthorizationState.Failed, e);
                    worker.WriteError(e);
                }

                result.Duration = clock.Elapsed;
                worker.WriteObject(result);
            });
        }

        /// <summary>
        /// Obtains a new grant for each connection: with its stored unattended credentials (JWT bearer, client credentials),
        /// with credentials given now, or interactively when a person is there. Inactive connections become Active.
        /// </summary>
        public void Update(IEnumerable<ConnectionTarget> targets, UpdateAuthorizationRequest request)
        {
            if (request is null)
            {
                throw new ArgumentNullException(nameof(request));
            }

            _redirectPort = request.RedirectPort;

            // Errors come after every connection was tried: under -ErrorAction Stop (a scheduled task's script), the first one
            // ends the script with exit code 1, but only once all of them had their chance.
            var host = new ErrorsLastHost(_host);
            try
            {
                Update(host, SystemConnectionLifecycle.Resolve(_node, host, targets), request);
            }
            finally
            {
                host.Flush();
            }
        }

        private void Update(IHostContext host, IReadOnlyList<Connection> resolved, UpdateAuthorizationRequest request)
        {
            var connections = resolved
                .Where(c => host.ShouldProcess($"Connection '{c.Name}' ({c.Type}, {c.Status})", "Re-authorize"))
                .ToList();

            // A person can answer one browser or device code at a time; unattended grants run in parallel.
            var attended = new List<Connection>();
            var unattended = new List<Connection>();
            foreach (var connection in connections)
            {
                (NeedsPerson(connection, request) ? attended : unattended).Add(connection);
            }

            ParallelWork.Run(host, unattended, request.ThrottleLimit, "Re-authorizing connections", (c, worker, ct) => ReauthorizeAsync(c, request, worker, ct));
            ParallelWork.Run(host, attended, 1, "Re-authorizing connections (sign-in)", (c, worker, ct) => ReauthorizeAsync(c, request, worker, ct));
        }

        /// <summary>The connections whose status Update-ConnectionAuthorization -Status selects, e.g. every Inactive one.</summary>
        public IReadOnlyList<ConnectionTarget> SelectByStatus(IEnumerable<ConnectionStatus> statuses) =>
            SystemConnectionLifecycle.SelectByStatus(_node, statuses);

        private async Task ReauthorizeAsync(Connection connection, UpdateAuthorizationRequest request, WorkerHost worker, CancellationToken ct)
        {
            var clock = Stopwatch.StartNew();
            var result = AuthorizationResults.Start(connection);
            try
            {
                var stored = GrantVault.ReadOrNull(_node, connection);
                var target = SystemConnectionLifecycle.TargetOf(connection);
                AuthorizationOutcome outcome;
                using (var spec = BuildSpec(target, request, stored, connection.Name))
                {
                    outcome = await _node.Providers.For(connection.Type).AuthorizeAsync(spec.Value, Context(worker), ct).ConfigureAwait(false);
                    result.Flow = spec.Value.Flow;
                }

                var orgChanged = !string.Equals(outcome.OrganizationId, connection.OrganizationId, StringComparison.Ordinal) && connection.OrganizationId != null;
                if (orgChanged && !request.AcceptNewOrganizationId)
                {
                    await TryRevokeAsync(target, outcome.Grant, worker, connection.Name, ct).ConfigureAwait(false);
                    var said = $"re-authorization reached organization {outcome.OrganizationId}, but the connection is pinned to {connection.OrganizationId}";
                    var error = AuthorizationFailures.ToError(InactiveReason.OrgChanged, connection.Name, said);
                    AuthorizationResults.Fill(result, SystemConnectionLifecycle.Deactivate(_node, connection, InactiveReason.OrgChanged, said), AuthorizationState.OrgChanged, error);
                    worker.WriteError(error);
                }
                else
                {
                    var after = GrantVault.SaveReauthorization(_node, connection, outcome, result.Flow!.Value);
                    if (stored?.RefreshToken is string replaced && !string.Equals(replaced, outcome.Grant.RefreshToken, StringComparison.Ordinal))
                    {
                        // Only now that the new grant is stored: the one it replaces must not stay live at the provider.
                        worker.WriteVerbose($"Connection '{connection.Name}': revoking the refresh token the new grant replaces.");
                        await TryRevokeAsync(target, stored, worker, connection.Name, ct).ConfigureAwait(false);
                    }

                    AuthorizationResults.Fill(result, after, AuthorizationState.Authorized, null);
                    result.Message = orgChanged
                        ? $"Re-authorized as {outcome.AuthorizedAs}; now pinned to organization {outcome.OrganizationId} (was {connection.OrganizationId}). The connection keeps its id and settings."
                        : $"Re-authorized as {outcome.AuthorizedAs}.";
                    result.AuthorizedAs = outcome.AuthorizedAs;
                    worker.WriteVerbose($"Connection '{connection.Name}': {result.Message} Status {connection.Status} -> {after.Status}.");
                }
            }
            catch (ProviderRefusedException refused)
            {
                var error = AuthorizationFailures.ToError(refused.Reason, connection.Name, refused.ProviderSaid);
                AuthorizationResults.Fill(result, SystemConnectionLifecycle.Deactivate(_node, connection, refused.Reason, refused.ProviderSaid), AuthorizationResults.StateOf(refused.Reason), error);
                worker.WriteError(error);
            }
            catch (ConnectionToolsException e) when (!PerItem.IsStoreWide(e))
            {
                AuthorizationResults.Fill(result, _node.Store.Find(connection.Id) ?? connection, AuthorizationState.Failed, e);
                worker.WriteError(e);
            }

            result.Duration = clock.Elapsed;
            worker.WriteObject(result);
        }

        private bool NeedsPerson(Connection connection, UpdateAuthorizationRequest request)
        {
            if (request.UseDeviceCode)
            {
                return true;
            }

            if (request.ClientSecret != null || request.CertificatePath != null || request.CertificateThumbprint != null)
            {
                return false;
            }

            return connection.AuthorizationFlow == AuthorizationFlow.Interactive || connection.AuthorizationFlow == AuthorizationFlow.DeviceCode || connection.AuthorizationFlow is null;
        }

        /// <summary>
        /// The spec of <see cref="SignInSpec.Build"/> with its certificate loaded: every check runs before any network call,
        /// including that the certificate loads and can sign.
        /// </summary>
        private OwnedSpec BuildSpec(SystemTarget target, CredentialParameters given, GrantMaterial? stored, string name)
        {
            var spec = SignInSpec.Build(target, given, stored, name, _node.SalesforceClientId);
            if (spec.CertificatePath != null || spec.CertificateThumbprint != null)
            {
                spec.Certificate = CertificateLoader.Load(spec.CertificatePath, spec.CertificateThumbprint, spec.CertificatePassword);
            }

            return new OwnedSpec(spec);
        }

        private AuthorizationContext Context(WorkerHost worker) => new AuthorizationContext(_node.Providers.Http)
        {
            OpenBrowser = _node.Providers.OpenBrowser,
            ShowDeviceCode = worker.WriteWarning,
            Verbose = worker.WriteVerbose,
            Redirect = _redirectPort is int port ? new LoopbackRedirect(port, _node.SalesforceRedirect.Path) : _node.SalesforceRedirect,
        };

        private int? _redirectPort;

        /// <summary>Owns the loaded certificate of a spec for the length of one sign-in.</summary>
        private readonly struct OwnedSpec : IDisposable
        {
            public OwnedSpec(AuthorizationSpec value)
            {
                Value = value;
            }

            public AuthorizationSpec Value { get; }

            public void Dispose() => Value.Certificate?.Dispose();
        }
    }
}
