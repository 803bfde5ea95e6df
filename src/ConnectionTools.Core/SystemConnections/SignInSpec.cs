using System;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.SystemConnections
{
    /// <summary>
    /// Everything a system connection's sign-in checks before the first request, with no network and no store: the
    /// New-Connection request itself (<see cref="Validate"/>), and the flow and credentials to sign in with (<see cref="Build"/>).
    /// </summary>
    internal static class SignInSpec
    {
        /// <summary>The name, type, cloud and instance URL of a New-Connection request, checked; the agreement must be accepted.</summary>
        /// <remarks>
        /// Without an instance URL (<c>Discover</c>), Instance is where the sign-in happens: Salesforce's login host of the org's
        /// kind, or the cloud's Global Discovery Service; the org's own URL comes from the sign-in.
        /// </remarks>
        internal static (string Name, string? Description, ConnectionType Type, EnvironmentType? Environment, Uri Instance, SystemTarget Target) Validate(NewConnectionRequest request)
        {
            var (name, description, type, environment, instance, target, _) = ValidateRequest(request);
            return (name, description, type, environment, instance, target);
        }

        /// <summary><see cref="Validate"/>, and whether the request leaves the org's URL to the sign-in (no -InstanceUrl).</summary>
        internal static (string Name, string? Description, ConnectionType Type, EnvironmentType? Environment, Uri Instance, SystemTarget Target, bool Discover) ValidateRequest(NewConnectionRequest request)
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
            var discover = string.IsNullOrWhiteSpace(request.InstanceUrl);
            if (request.EnvironmentName != null && (type != ConnectionType.Dynamics365 || !discover))
            {
                throw new ConnectionToolsException(ErrorIds.EnvironmentNotApplicable, ErrorKind.InvalidArgument,
                    $"Connection '{name}': -EnvironmentName chooses among the Dynamics 365 environments a sign-in finds, so it goes without -InstanceUrl{(type == ConnectionType.Dynamics365 ? "" : ", and Salesforce has none to choose")}. Nothing was sent.",
                    name, type == ConnectionType.Dynamics365 ? "Give -InstanceUrl or -EnvironmentName, not both." : "Leave out -EnvironmentName for a Salesforce connection.");
            }

            Uri instance;
            if (discover)
            {
                instance = type == ConnectionType.Dynamics365
                    ? CloudEndpoints.For(environment ?? EnvironmentType.Public).DiscoveryUrl
                    : new Uri(InstanceUrls.SalesforceAudience(type) + "/");
            }
            else
            {
                instance = type == ConnectionType.Dynamics365
                    ? InstanceUrls.ForDynamics(request.InstanceUrl, environment ?? EnvironmentType.Public)
                    : InstanceUrls.ForSalesforce(request.InstanceUrl, type);
            }

            var target = new SystemTarget(type, environment ?? EnvironmentType.Public, instance);
            return (name, description, type, environment, instance, target, discover);
        }

        /// <summary>
        /// The flow and credentials for a sign-in: those given now, else the stored ones; a Salesforce connection without a
        /// connected app of its own uses <paramref name="defaultSalesforceClientId"/>. Throws for a combination no flow
        /// accepts, or a person's sign-in where none can answer. The certificate is named, not loaded: the caller loads it.
        /// </summary>
        internal static AuthorizationSpec Build(SystemTarget target, CredentialParameters given, GrantMaterial? stored, string name, string? defaultSalesforceClientId)
        {
            var salesforce = target.Type != ConnectionType.Dynamics365;
            var useGiven = given.GivesCredentials || stored is null;
            var clientId = given.ClientId ?? stored?.ClientId ?? (salesforce ? defaultSalesforceClientId : null);
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

            return spec;
        }

        private static ConnectionToolsException InvalidFlow(string name, string problem, string fix) =>
            new ConnectionToolsException(ErrorIds.AuthorizationInvalidFlow, ErrorKind.InvalidArgument, $"Connection '{name}': {problem} Nothing was sent.", name, fix);

        internal static ConnectionType ParseType(string? value, string name)
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
    }
}
