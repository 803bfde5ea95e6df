using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// System connections (Salesforce, Dynamics 365): New-Connection, Test-ConnectionAuthorization, Update-ConnectionAuthorization,
    /// and the grant's part in Remove-Connection. Every check that needs no network runs before the first request; the store
    /// is written only after the provider answered, in one transaction per connection.
    /// </summary>
    public sealed class SystemConnectionCommands
    {
        public const int DefaultThrottleLimit = 8;

        private static readonly JsonSerializerOptions GrantJson = new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

        private readonly ConnectionNode _node;
        private readonly IHostContext _host;

        public SystemConnectionCommands(ConnectionNode node, IHostContext host)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
        }

        private static (string Name, string? Description, ConnectionType Type, EnvironmentType? Environment, Uri Instance, SystemTarget Target) Validate(NewConnectionRequest request)
        {
            if (request is null)
            {
                throw new ArgumentNullException(nameof(request));
            }

            var name = ConnectionNames.Validate(request.Name);
            if (!request.AcceptDataProcessingAgreement)
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationAgreementRequired,
                    ErrorKind.InvalidOperation,
                    $"Connection '{name}' was not created: creating a system connection requires accepting the data processing agreement, under which case data from the org is processed on this node. Nothing was sent.",
                    name,
                    "Read the agreement, then run the command again with -AcceptDataProcessingAgreement.");
            }

            var description = request.Description is null ? null : ConnectionNames.ValidateDescription(request.Description, name);
            var type = ParseType(request.Type, name);
            var environment = ParseEnvironment(request.EnvironmentType, type, name);
            var instance = type == ConnectionType.Dynamics365
                ? InstanceUrls.ForDynamics(request.InstanceUrl, environment ?? EnvironmentType.Public)
                : InstanceUrls.ForSalesforce(request.InstanceUrl, type);
            var target = new SystemTarget(type, environment ?? EnvironmentType.Public, instance);
            return (name, description, type, environment, instance, target);
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
            var (name, _, _, _, _, target) = Validate(request);
            using (BuildSpec(target, request, stored: null, name))
            {
                EnsureNameFree(name);
            }
        }

        /// <summary>Authorizes a new system connection, pins it to the org it reached, and stores it Active.</summary>
        public void New(NewConnectionRequest request)
        {
            var (name, description, type, environment, instance, target) = Validate(request);
            _redirectPort = request.RedirectPort;
            using (var spec = BuildSpec(target, request, stored: null, name))
            {
                EnsureNameFree(name);
                if (!_host.ShouldProcess($"Connection '{name}' ({type}, {instance.Host})", $"Authorize with {spec.Value.Flow} and create"))
                {
                    return;
                }

                AuthorizationOutcome outcome;
                GrantMaterial? issued = null;
                try
                {
                    outcome = ParallelWork.RunOne(_host, (worker, ct) =>
                    {
                        var context = Context(worker);
                        context.GrantIssued = g => issued = g;
                        return _node.Providers.For(type).AuthorizeAsync(spec.Value, context, ct);
                    });
                }
                catch (Exception e) when (issued != null && (e is ConnectionToolsException || e is ProviderRefusedException))
                {
                    // The code was exchanged, then a later step failed: the provider holds a live grant nothing will use.
                    RevokeOrphan(target, issued, name);
                    if (e is ProviderRefusedException refusedLate)
                    {
                        throw Refused(refusedLate, name);
                    }

                    throw;
                }
                catch (ProviderRefusedException refused)
                {
                    throw new ConnectionToolsException(
                        refused.Reason == InactiveReason.ConsentRequired ? ErrorIds.AuthorizationConsentRequired : ErrorIds.AuthorizationDeclined,
                        ErrorKind.AuthenticationError,
                        $"The provider refused to authorize '{name}' ({refused.ProviderSaid}). Nothing was saved.",
                        name,
                        "Check that the user or app may use the org and the connected app or app registration, then run the command again.");
                }

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

                var now = StoreTime(_node.Clock());
                var connection = new Connection
                {
                    Id = Guid.NewGuid(),
                    Name = name,
                    Description = description ?? previous?.Description ?? "",
                    Type = type,
                    Status = ConnectionStatus.Active,
                    InstanceUrl = instance,
                    EnvironmentType = environment,
                    OrganizationId = outcome.OrganizationId,
                    AuthorizedAs = outcome.AuthorizedAs,
                    AuthorizedAt = now,
                    AuthorizationFlow = spec.Value.Flow,
                    RetrievalInterval = previous?.RetrievalInterval,
                };
                var grant = Protect(outcome.Grant);
                Connection created;
                try
                {
                    created = _node.Store.Create(connection, _node.ActorName, (db, tx) =>
                    {
                        GrantRows.Save(db, tx, connection.Id, grant, now);
                        JobRows.Create(db, tx, connection, now);
                    });
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

        /// <summary>New-Connection failed after the provider issued a grant: revoke it, best effort, and say so on the verbose stream.</summary>
        private void RevokeOrphan(SystemTarget target, GrantMaterial grant, string name)
        {
            _host.WriteVerbose($"Connection '{name}' was not stored; revoking the grant the provider has just issued for it, so it does not stay live.");
            try
            {
                ParallelWork.RunOne(_host, (worker, ct) => TryRevokeAsync(target, grant, worker, name, ct));
            }
            catch (OperationCanceledException)
            {
                _host.WriteVerbose($"The grant issued for '{name}' was not revoked: the command was stopped.");
                throw;
            }
        }

        /// <summary>
        /// Refreshes each connection's grant without any prompt and classifies the answer. A refusal makes the connection Inactive
        /// with its reason; a provider that cannot be reached changes nothing.
        /// </summary>
        public void Test(IEnumerable<ConnectionTarget> targets, TestAuthorizationRequest request)
        {
            var host = new ErrorsLastHost(_host);
            try
            {
                Test(host, ResolveSystemConnections(targets, host), request?.ThrottleLimit ?? DefaultThrottleLimit);
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
                var result = Result(connection);
                try
                {
                    var (outcome, grant) = await GrantRefresh.RefreshAsync(_node, connection, Context(worker), ct).ConfigureAwait(false);
                    if (!string.Equals(outcome.OrganizationId, connection.OrganizationId, StringComparison.Ordinal))
                    {
                        throw new ProviderRefusedException(InactiveReason.OrgChanged, $"the grant now reaches organization {outcome.OrganizationId}, not {connection.OrganizationId}");
                    }

                    SaveRefreshedGrant(connection, grant, outcome.Grant);
                    result.Result = AuthorizationState.Valid;
                    result.AuthorizedAs = outcome.AuthorizedAs;
                    result.Message = connection.Status == ConnectionStatus.Inactive
                        ? $"The grant works again; the connection stays Inactive until you run Update-ConnectionAuthorization -Name '{connection.Name}'."
                        : "The grant refreshed and reaches the pinned organization.";
                }
                catch (ProviderRefusedException refused)
                {
                    var error = AuthorizationFailures.ToError(refused.Reason, connection.Name, refused.ProviderSaid);
                    var after = Deactivate(connection, refused.Reason, refused.ProviderSaid);
                    Fill(result, after, StateOf(refused.Reason), error);
                    worker.WriteError(error);
                }
                catch (ConnectionToolsException e) when (!PerItem.IsStoreWide(e))
                {
                    Fill(result, connection, AuthorizationState.Failed, e);
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
                Update(host, ResolveSystemConnections(targets, host), request);
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
            _node.Store.List(new ConnectionFilter { Statuses = statuses.ToList(), Types = SystemConnectionTypes.All })
                .Select(ConnectionTarget.ByObject)
                .ToList();

        /// <summary>
        /// Called by Remove-Connection after a system connection was removed: revokes the grant it held where the provider allows it.
        /// The removal stands either way; a failure is a warning.
        /// </summary>
        internal void RevokeAfterRemoval(Connection removed, byte[] grantProtected)
        {
            GrantMaterial grant;
            try
            {
                grant = Unprotect(grantProtected);
            }
            catch (ConnectionToolsException e)
            {
                _host.WriteWarning($"Connection '{removed.Name}' is removed, but its grant could not be read to revoke it ({e.ErrorId}). Revoke it at the provider if it must stop working now.");
                return;
            }

            ParallelWork.RunOne(_host, (worker, ct) => TryRevokeAsync(TargetOf(removed), grant, worker, removed.Name, ct));
        }

        private async Task ReauthorizeAsync(Connection connection, UpdateAuthorizationRequest request, WorkerHost worker, CancellationToken ct)
        {
            var clock = Stopwatch.StartNew();
            var result = Result(connection);
            try
            {
                var stored = ReadGrantOrNull(connection);
                var target = TargetOf(connection);
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
                    Fill(result, Deactivate(connection, InactiveReason.OrgChanged, said), AuthorizationState.OrgChanged, error);
                    worker.WriteError(error);
                }
                else
                {
                    var after = SaveReauthorization(connection, outcome, result.Flow!.Value);
                    if (stored?.RefreshToken is string replaced && !string.Equals(replaced, outcome.Grant.RefreshToken, StringComparison.Ordinal))
                    {
                        // Only now that the new grant is stored: the one it replaces must not stay live at the provider.
                        worker.WriteVerbose($"Connection '{connection.Name}': revoking the refresh token the new grant replaces.");
                        await TryRevokeAsync(target, stored, worker, connection.Name, ct).ConfigureAwait(false);
                    }

                    Fill(result, after, AuthorizationState.Authorized, null);
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
                Fill(result, Deactivate(connection, refused.Reason, refused.ProviderSaid), StateOf(refused.Reason), error);
                worker.WriteError(error);
            }
            catch (ConnectionToolsException e) when (!PerItem.IsStoreWide(e))
            {
                Fill(result, _node.Store.Find(connection.Id) ?? connection, AuthorizationState.Failed, e);
                worker.WriteError(e);
            }

            result.Duration = clock.Elapsed;
            worker.WriteObject(result);
        }

        private Connection SaveReauthorization(Connection connection, AuthorizationOutcome outcome, AuthorizationFlow flow)
        {
            var now = StoreTime(_node.Clock());
            var grant = Protect(outcome.Grant);
            var change = _node.Store.Change(
                connection.Id,
                LifecycleAction.Reauthorize,
                latest =>
                {
                    if (latest.Status == ConnectionStatus.Removed || latest.Status == ConnectionStatus.Pending)
                    {
                        throw NotAuthorizable(latest);
                    }

                    return latest with
                    {
                        Status = latest.Status == ConnectionStatus.Inactive ? ConnectionStatus.Active : latest.Status,
                        InactiveReason = null,
                        OrganizationId = outcome.OrganizationId,
                        AuthorizedAs = outcome.AuthorizedAs,
                        AuthorizedAt = now,
                        AuthorizationFlow = flow,
                    };
                },
                _node.ActorName,
                (db, tx, after) =>
                {
                    GrantRows.Save(db, tx, after.Id, grant, now);
                    GrantRows.ResetRefresh(db, tx, after.Id);
                    if (connection.Status == ConnectionStatus.Inactive && after.Status == ConnectionStatus.Active)
                    {
                        foreach (var hook in _node.OnReauthorized)
                        {
                            hook(db, tx, after);
                        }
                    }
                },
                always: true);
            return change.After;
        }

        private Connection Deactivate(Connection connection, InactiveReason reason, string providerSaid) => Deactivate(_node, connection, reason, providerSaid);

        /// <summary>Inactive with the reason, from Active or Paused; an Inactive connection takes the newer reason. Its job goes to Holding.</summary>
        internal static Connection Deactivate(ConnectionNode node, Connection connection, InactiveReason reason, string providerSaid)
        {
            var outcome = node.Store.Change(
                connection.Id,
                LifecycleAction.Deactivate,
                latest =>
                {
                    if (latest.Status == ConnectionStatus.Removed || latest.Status == ConnectionStatus.Pending)
                    {
                        return null;
                    }

                    return latest.Status == ConnectionStatus.Inactive && latest.InactiveReason == reason
                        ? null
                        : latest with { Status = ConnectionStatus.Inactive, InactiveReason = reason };
                },
                node.ActorName,
                alsoWrite: null,
                note: $"Status: {connection.Status} -> Inactive ({reason}): {providerSaid}");
            return outcome.After;
        }

        /// <summary>A refresh may rotate the refresh token or renew MSAL's cache; keep what the provider returned.</summary>
        private void SaveRefreshedGrant(Connection connection, GrantMaterial before, GrantMaterial after) => SaveRefreshedGrant(_node, connection, before, after);

        internal static void SaveRefreshedGrant(ConnectionNode node, Connection connection, GrantMaterial before, GrantMaterial after)
        {
            if (before.RefreshToken == after.RefreshToken && before.TokenCache == after.TokenCache)
            {
                return;
            }

            var grant = Protect(node, after);
            node.Store.Write((db, tx) =>
            {
                // A connection removed meanwhile has no grant any more, and must not get one back. This runs after the refresh
                // claim is let go: when another process has since stored a newer refresh token (rotation), this older one
                // must not replace it, or the next refresh presents a used-up token and the provider revokes the grant.
                if (GrantRows.Find(db, tx, connection.Id) is { } stored
                    && Unprotect(node, stored).RefreshToken is var current
                    && (current == before.RefreshToken || current == after.RefreshToken))
                {
                    GrantRows.Save(db, tx, connection.Id, grant, node.Clock());
                }

                return 0;
            });
        }

        private List<Connection> ResolveSystemConnections(IEnumerable<ConnectionTarget> targets, IHostContext? host = null)
        {
            var connections = new List<Connection>();
            var seen = new HashSet<Guid>();
            ConnectionTargets.ForEach(host ?? _host, _node.Store, targets, target =>
            {
                var connection = ConnectionTargets.Resolve(_node.Store, target);
                if (connection.Type == ConnectionType.Private && target.Pattern != null)
                {
                    // A pattern selects among the connections that have a grant, as no -Name at all does.
                    (host ?? _host).WriteVerbose($"'{connection.Name}' matches '{target.Pattern}' but is a private connection, which has no grant; skipped.");
                    return;
                }

                if (connection.Type == ConnectionType.Private)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.AuthorizationNotSystemConnection,
                        ErrorKind.InvalidArgument,
                        $"'{connection.Name}' is a private connection to a peer node; it has no OAuth grant to test or renew.",
                        connection.Name,
                        "Private connections are authorized by their invitation. Use Sync-Connection to check the peer.");
                }

                if (connection.Status == ConnectionStatus.Removed || connection.Status == ConnectionStatus.Pending)
                {
                    throw NotAuthorizable(connection);
                }

                if (seen.Add(connection.Id))
                {
                    connections.Add(connection);
                }
            });
            return connections;
        }

        private static ConnectionToolsException NotAuthorizable(Connection connection) => new ConnectionToolsException(
            ErrorIds.ConnectionIllegalTransition,
            ErrorKind.InvalidOperation,
            $"Connection '{connection.Name}' is {connection.Status}; only Active, Paused and Inactive connections have a grant.",
            connection.Name,
            connection.Status == ConnectionStatus.Removed ? "Create a new connection to the org with New-Connection; it reuses the removed one's settings." : "Wait for the connection to be accepted.");

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
        /// The flow and credentials for a sign-in: those given now, else the stored ones. Everything is checked here, before any
        /// network call, including that the certificate loads and can sign.
        /// </summary>
        private OwnedSpec BuildSpec(SystemTarget target, CredentialParameters given, GrantMaterial? stored, string name)
        {
            var salesforce = target.Type != ConnectionType.Dynamics365;
            var useGiven = given.GivesCredentials || stored is null;
            var clientId = given.ClientId ?? stored?.ClientId ?? (salesforce ? _node.SalesforceClientId : null);
            var username = given.Username ?? stored?.Username;
            var tenant = given.TenantId ?? stored?.TenantId;
            var certificatePath = useGiven ? given.CertificatePath : stored!.CertificatePath;
            var thumbprint = useGiven ? given.CertificateThumbprint : stored!.CertificateThumbprint;
            var password = useGiven ? given.CertificatePassword : stored!.CertificatePassword;
            var secret = useGiven ? given.ClientSecret : stored!.ClientSecret;
            if (useGiven && stored != null && given.ClientSecret is null && given.CertificatePath is null && given.CertificateThumbprint is null && !given.UseDeviceCode && stored.IsUnattended)
            {
                // Only ids or a username changed: keep the stored secret or certificate.
                certificatePath = stored.CertificatePath;
                thumbprint = stored.CertificateThumbprint;
                password = stored.CertificatePassword;
                secret = stored.ClientSecret;
            }

            if (certificatePath != null && thumbprint != null)
            {
                throw InvalidFlow(name, "Both -CertificatePath and -CertificateThumbprint were given.", "Give one of them.");
            }

            var hasCertificate = certificatePath != null || thumbprint != null;
            AuthorizationFlow flow;
            if (salesforce)
            {
                if (secret != null)
                {
                    throw InvalidFlow(name, "-ClientSecret is for Dynamics 365 client credentials; Salesforce's unattended flow is the JWT bearer flow with a certificate.", "Use -ClientId (the consumer key), -Username and -CertificatePath or -CertificateThumbprint.");
                }

                if (tenant != null)
                {
                    throw InvalidFlow(name, "-TenantId applies to Dynamics 365 connections only.", "Leave out -TenantId for a Salesforce connection.");
                }

                if (hasCertificate)
                {
                    if (clientId is null || username is null)
                    {
                        throw InvalidFlow(name, "The JWT bearer flow needs the connected app's consumer key and the user the grant acts for.", "Add -ClientId <consumer key> and -Username <user@org>.");
                    }

                    flow = AuthorizationFlow.JwtBearer;
                }
                else
                {
                    flow = useGiven ? (given.UseDeviceCode ? AuthorizationFlow.DeviceCode : AuthorizationFlow.Interactive) : stored!.Flow;
                }
            }
            else
            {
                if (secret != null && hasCertificate)
                {
                    throw InvalidFlow(name, "Both a client secret and a certificate were given.", "Give -ClientSecret or a certificate (-CertificatePath or -CertificateThumbprint), not both.");
                }

                if (secret != null || hasCertificate)
                {
                    if (given.UseDeviceCode)
                    {
                        throw InvalidFlow(name, "-UseDeviceCode signs a person in; a client secret or certificate signs the app in.", "Leave out -UseDeviceCode for client credentials.");
                    }

                    if (clientId is null || tenant is null)
                    {
                        throw InvalidFlow(name, "Client credentials need the app registration's client id and the tenant.", "Add -ClientId <application id> and -TenantId <tenant id or domain>.");
                    }

                    flow = secret != null ? AuthorizationFlow.ClientSecret : AuthorizationFlow.ClientCertificate;
                }
                else
                {
                    flow = useGiven ? (given.UseDeviceCode ? AuthorizationFlow.DeviceCode : AuthorizationFlow.Interactive) : stored!.Flow;
                }
            }

            if ((flow == AuthorizationFlow.Interactive || flow == AuthorizationFlow.DeviceCode) && !given.Interactive)
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationInteractionRequired,
                    ErrorKind.InvalidOperation,
                    $"'{name}' needs a person to sign in ({flow}), and this session cannot prompt (a scheduled task, or -NonInteractive). Nothing was sent.",
                    name,
                    salesforce
                        ? "Run the command in an interactive session, or authorize unattended with the JWT bearer flow: -ClientId <consumer key> -Username <user> -CertificatePath <pfx>."
                        : "Run the command in an interactive session, or authorize unattended with client credentials: -TenantId <tenant> -ClientId <app id> and -ClientSecret or -CertificatePath.");
            }

            var spec = new AuthorizationSpec
            {
                Type = target.Type,
                InstanceUrl = target.InstanceUrl,
                EnvironmentType = target.EnvironmentType,
                Flow = flow,
                ClientId = clientId,
                Username = username,
                TenantId = tenant,
                CertificatePath = certificatePath is null ? null : System.IO.Path.GetFullPath(certificatePath),
                CertificateThumbprint = thumbprint,
                CertificatePassword = password,
                ClientSecret = secret,
                CanInteract = given.Interactive,
            };
            if (hasCertificate)
            {
                spec.Certificate = CertificateLoader.Load(spec.CertificatePath, thumbprint, password);
            }

            return new OwnedSpec(spec);
        }

        private static ConnectionToolsException InvalidFlow(string name, string problem, string fix) =>
            new ConnectionToolsException(ErrorIds.AuthorizationInvalidFlow, ErrorKind.InvalidArgument, $"Connection '{name}': {problem} Nothing was sent.", name, fix);

        private static ConnectionType ParseType(string? value, string name)
        {
            foreach (var type in SystemConnectionTypes.All)
            {
                if (string.Equals(value, type.ToString(), StringComparison.OrdinalIgnoreCase))
                {
                    return type;
                }
            }

            var hint = string.Equals(value, nameof(ConnectionType.Private), StringComparison.OrdinalIgnoreCase)
                ? "Private connections are created with New-PrivateConnection."
                : "Use -Type SalesforceProduction, SalesforceSandbox or Dynamics365.";
            throw new ConnectionToolsException(ErrorIds.AuthorizationInvalidFlow, ErrorKind.InvalidArgument, $"'{value}' is not a system connection type. Nothing was sent.", name, hint);
        }

        /// <summary>Parses -EnvironmentType; null for Salesforce, Public when a Dynamics 365 connection gives none.</summary>
        public static EnvironmentType? ParseEnvironment(string? value, ConnectionType type, string name)
        {
            if (type != ConnectionType.Dynamics365)
            {
                if (value != null)
                {
                    throw new ConnectionToolsException(ErrorIds.AuthorizationInvalidEnvironmentType, ErrorKind.InvalidArgument,
                        $"-EnvironmentType applies to Dynamics 365 connections; '{name}' is {type}. Nothing was sent.", name, "Leave out -EnvironmentType for a Salesforce connection.");
                }

                return null;
            }

            if (value is null)
            {
                return EnvironmentType.Public;
            }

            foreach (EnvironmentType environment in Enum.GetValues(typeof(EnvironmentType)))
            {
                if (string.Equals(value.Trim(), environment.ToString(), StringComparison.OrdinalIgnoreCase))
                {
                    return environment;
                }
            }

            throw new ConnectionToolsException(ErrorIds.AuthorizationInvalidEnvironmentType, ErrorKind.InvalidArgument,
                $"'{value}' is not a Microsoft cloud. Nothing was sent.", name, "Use -EnvironmentType Public, GCC, GCCHigh, DoD or China.");
        }

        private AuthorizationContext Context(WorkerHost worker) => new AuthorizationContext(_node.Providers.Http)
        {
            OpenBrowser = _node.Providers.OpenBrowser,
            ShowDeviceCode = worker.WriteWarning,
            Verbose = worker.WriteVerbose,
            Redirect = _redirectPort is int port ? new LoopbackRedirect(port, _node.SalesforceRedirect.Path) : _node.SalesforceRedirect,
        };

        private int? _redirectPort;

        internal static SystemTarget TargetOf(Connection connection) => new SystemTarget(
            connection.Type,
            connection.EnvironmentType ?? EnvironmentType.Public,
            connection.InstanceUrl ?? throw new ConnectionToolsException(ErrorIds.AuthorizationNoGrant, ErrorKind.InvalidData, $"Connection '{connection.Name}' has no instance URL.", connection.Name, "Remove it and create it again with New-Connection."));

        private GrantMaterial ReadGrant(Connection connection) => ReadGrantOrNull(connection) ?? throw new ConnectionToolsException(
            ErrorIds.AuthorizationNoGrant,
            ErrorKind.InvalidData,
            $"Connection '{connection.Name}' has no stored grant to refresh.",
            connection.Name,
            $"Authorize it: Update-ConnectionAuthorization -Name '{connection.Name}'.");

        private GrantMaterial? ReadGrantOrNull(Connection connection) => ReadGrantOrNull(_node, connection);

        internal static GrantMaterial? ReadGrantOrNull(ConnectionNode node, Connection connection)
        {
            var protectedGrant = node.Store.Read(db => GrantRows.Find(db, null, connection.Id));
            return protectedGrant is null ? null : Unprotect(node, protectedGrant);
        }

        private byte[] Protect(GrantMaterial grant) => Protect(_node, grant);

        internal static byte[] Protect(ConnectionNode node, GrantMaterial grant) => node.Secrets.Protect(JsonSerializer.SerializeToUtf8Bytes(grant, GrantJson));

        private GrantMaterial Unprotect(byte[] protectedGrant) => Unprotect(_node, protectedGrant);

        internal static GrantMaterial Unprotect(ConnectionNode node, byte[] protectedGrant) =>
            JsonSerializer.Deserialize<GrantMaterial>(node.Secrets.Unprotect(protectedGrant), GrantJson) ?? new GrantMaterial();

        /// <summary>Best effort: a grant that cannot be revoked is a warning, never a failure of the command.</summary>
        private async Task<bool> TryRevokeAsync(SystemTarget target, GrantMaterial grant, WorkerHost worker, string name, CancellationToken ct)
        {
            try
            {
                var revoked = await _node.Providers.For(target.Type).RevokeAsync(target, grant, Context(worker), ct).ConfigureAwait(false);
                worker.WriteVerbose(revoked ? $"Revoked the grant of '{name}' at the provider." : $"The grant of '{name}' has no revocation endpoint; it ends when it expires or an admin revokes it.");
                return revoked;
            }
            catch (ConnectionToolsException e)
            {
                worker.WriteWarning($"The grant of '{name}' could not be revoked at the provider ({e.ErrorId}: {e.Message}). Revoke it there if it must stop working now.");
                return false;
            }
            catch (ProviderRefusedException e)
            {
                // Already unusable at the provider: there is nothing left to revoke.
                worker.WriteVerbose($"The provider did not revoke the grant of '{name}': {e.ProviderSaid}.");
                return false;
            }
        }

        /// <summary>The store keeps milliseconds; a snapshot with finer times would not equal what is read back.</summary>
        private static DateTimeOffset StoreTime(DateTimeOffset at) => DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds());

        /// <summary>Each Inactive reason has the verdict of the same name.</summary>
        private static AuthorizationState StateOf(InactiveReason reason) => (AuthorizationState)Enum.Parse(typeof(AuthorizationState), reason.ToString());

        private static AuthorizationResult Result(Connection connection) => new AuthorizationResult
        {
            Name = connection.Name,
            Id = connection.Id,
            Type = connection.Type,
            StatusBefore = connection.Status,
            Status = connection.Status,
            InactiveReason = connection.InactiveReason,
            OrganizationId = connection.OrganizationId,
            AuthorizedAs = connection.AuthorizedAs,
            Flow = connection.AuthorizationFlow,
        };

        private static void Fill(AuthorizationResult result, Connection after, AuthorizationState state, ConnectionToolsException? error)
        {
            result.Result = state;
            result.Status = after.Status;
            result.InactiveReason = after.InactiveReason;
            result.OrganizationId = after.OrganizationId;
            if (error != null)
            {
                result.ErrorId = error.ErrorId;
                result.Message = error.RecommendedAction is null ? error.Message : $"{error.Message} {error.RecommendedAction}";
            }
        }

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
