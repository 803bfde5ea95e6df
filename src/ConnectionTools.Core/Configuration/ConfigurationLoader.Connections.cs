using System;
using System.Collections.Generic;
using System.IO;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Storage;
using ConnectionTools.Invitations;

namespace ConnectionTools.Configuration
{
    /// <summary>Reading one declared connection (its type, its side, its system or private settings, its authorization).</summary>
    public static partial class ConfigurationLoader
    {
        private static ConnectionDeclaration? ReadConnection(YamlNode node, string folder, List<ConfigurationIssue> issues)
        {
            if (!(node is YamlMapping map))
            {
                issues.Add(WrongType(node, "a connection (a mapping with name, type and its settings)"));
                return null;
            }

            var before = issues.Count;
            var type = new Fields(map, issues, null, null).Enum<ConnectionType>("type", required: true, quiet: true);
            var side = type == ConnectionType.Private ? new Fields(map, issues, null, null).Enum<PrivateConnectionSide>("side", required: true, quiet: true) : null;
            var allowed = type == ConnectionType.Private ? (side == PrivateConnectionSide.Private ? PrivateSideAllowed : side == PrivateConnectionSide.Public ? PublicSideAllowed : EitherSideAllowed)
                : type is null ? AnyAllowed : SystemAllowed;
            var what = type is null ? "a connection" : type == ConnectionType.Private ? $"the {side?.ToString().ToLowerInvariant() ?? "either"} side of a private connection" : $"a {type} connection";
            var fields = new Fields(map, issues, allowed, what);

            var name = fields.String("name", required: true);
            if (name != null)
            {
                try
                {
                    ConnectionNames.Validate(name);
                }
                catch (ConnectionToolsException e)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, fields.Node("name")!.Location, $"'{fields.Node("name")!.Location.Key}': {e.Message}", e.RecommendedAction));
                }
            }

            // Read again, loudly, so a bad type or side is reported once with its location.
            type = fields.Enum<ConnectionType>("type", required: true);
            var state = fields.Enum<DesiredState>("state", required: false) ?? DesiredState.Active;
            var description = fields.String("description", required: false);
            if (description != null && description.Length > ConnectionNames.MaxDescriptionLength)
            {
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, fields.Node("description")!.Location, $"'{fields.Node("description")!.Location.Key}' is {description.Length} characters long and the limit is {ConnectionNames.MaxDescriptionLength}.", null));
            }

            ConnectionDeclaration? result = null;
            if (type == ConnectionType.Private)
            {
                side = fields.Enum<PrivateConnectionSide>("side", required: true);
                if (side != null)
                {
                    result = ReadPrivate(fields, side.Value, folder, issues);
                }
            }
            else if (type != null)
            {
                result = ReadSystem(fields, type.Value, folder, issues);
            }

            fields.ReportUnknownKeys();
            if (issues.Count > before || result is null || name is null)
            {
                return null;
            }

            return result switch
            {
                SystemConnectionDeclaration s => new SystemConnectionDeclaration
                {
                    Name = name, Type = type!.Value, State = state, Description = description, Location = map.Location,
                    InstanceUrl = s.InstanceUrl, EnvironmentType = s.EnvironmentType, RetrievalInterval = s.RetrievalInterval, DefaultCustomer = s.DefaultCustomer,
                    Authorization = s.Authorization,
                },
                PrivateConnectionDeclaration p => new PrivateConnectionDeclaration
                {
                    Name = name, Type = ConnectionType.Private, State = state, Description = description, Location = map.Location,
                    Side = p.Side, Mode = p.Mode, LocalInstanceName = p.LocalInstanceName, RemoteInstanceName = p.RemoteInstanceName,
                    InvitationCodePath = p.InvitationCodePath, InvitationCode = p.InvitationCode, System = p.System,
                },
                _ => null,
            };
        }

        private static SystemConnectionDeclaration? ReadSystem(Fields fields, ConnectionType type, string folder, List<ConfigurationIssue> issues)
        {
            var before = issues.Count;
            var environment = fields.Enum<EnvironmentType>("environmentType", required: false) ?? EnvironmentType.Public;
            if (type != ConnectionType.Dynamics365 && environment != EnvironmentType.Public)
            {
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, fields.Node("environmentType")!.Location, $"'{fields.Node("environmentType")!.Location.Key}' is {environment}; Microsoft clouds apply to Dynamics365 connections only.", "Remove environmentType from this Salesforce connection."));
            }

            Uri? url = null;
            var urlText = fields.String("instanceUrl", required: true);
            if (urlText != null)
            {
                try
                {
                    url = type == ConnectionType.Dynamics365 ? InstanceUrls.ForDynamics(urlText, environment) : InstanceUrls.ForSalesforce(urlText, type);
                }
                catch (ConnectionToolsException e)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, fields.Node("instanceUrl")!.Location, $"'{fields.Node("instanceUrl")!.Location.Key}': {e.Message}", e.RecommendedAction));
                }
            }

            var interval = DefaultRetrievalInterval;
            var intervalText = fields.String("retrievalInterval", required: false);
            if (intervalText != null)
            {
                var parsed = ParseInterval(intervalText);
                if (parsed is null || parsed < MinimumRetrievalInterval || parsed > MaximumRetrievalInterval)
                {
                    issues.Add(new ConfigurationIssue(
                        ErrorIds.ConfigurationInvalidValue,
                        fields.Node("retrievalInterval")!.Location,
                        $"'{fields.Node("retrievalInterval")!.Location.Key}' is '{intervalText}'; it must be a duration from 1m to 24h, such as 5m, 1h30m or 00:15:00.",
                        null));
                }
                else
                {
                    interval = parsed.Value;
                }
            }

            string? customer = null;
            var customerText = fields.String("defaultCustomer", required: false);
            if (customerText != null)
            {
                customer = DefaultCustomers.Normalize(customerText);
                if (type != ConnectionType.Dynamics365 || customer is null)
                {
                    issues.Add(new ConfigurationIssue(
                        ErrorIds.ConfigurationInvalidValue,
                        fields.Node("defaultCustomer")!.Location,
                        type != ConnectionType.Dynamics365
                            ? $"'{fields.Node("defaultCustomer")!.Location.Key}' is for Dynamics 365 connections only (Dataverse incidents need a customer)."
                            : $"'{fields.Node("defaultCustomer")!.Location.Key}' is '{customerText}'; it must be accounts(<guid>) or contacts(<guid>).",
                        null));
                }
            }

            AuthorizationDeclaration? authorization = null;
            var node = fields.Node("authorization");
            if (node is null)
            {
                issues.Add(Missing(fields, "authorization", "how the node signs in without a prompt (flow, clientId, ...)"));
            }
            else if (node is YamlMapping map)
            {
                authorization = ReadAuthorization(map, type, folder, issues);
            }
            else
            {
                issues.Add(WrongType(node, "a mapping (flow, clientId, ...)"));
            }

            return issues.Count > before || url is null || authorization is null ? null : new SystemConnectionDeclaration
            {
                InstanceUrl = url,
                EnvironmentType = environment,
                RetrievalInterval = interval,
                DefaultCustomer = customer,
                Authorization = authorization,
            };
        }

        private static AuthorizationDeclaration? ReadAuthorization(YamlMapping map, ConnectionType type, string folder, List<ConfigurationIssue> issues)
        {
            var before = issues.Count;
            var fields = new Fields(map, issues, AuthorizationKeys, "an authorization");
            var flow = fields.Enum<AuthorizationFlow>("flow", required: true, allowed: new[] { AuthorizationFlow.JwtBearer, AuthorizationFlow.ClientSecret, AuthorizationFlow.ClientCertificate });
            var clientId = fields.String("clientId", required: true);
            var username = fields.String("username", required: false);
            var tenantId = fields.String("tenantId", required: false);
            var certificatePath = fields.String("certificatePath", required: false);
            var thumbprint = fields.String("certificateThumbprint", required: false);
            var certificatePassword = fields.Secret("certificatePassword", folder);
            var clientSecret = fields.Secret("clientSecret", folder);
            fields.ReportUnknownKeys();

            if (flow != null)
            {
                var salesforce = type != ConnectionType.Dynamics365;
                if (salesforce && flow != AuthorizationFlow.JwtBearer)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, fields.Node("flow")!.Location, $"'{fields.Node("flow")!.Location.Key}' is {flow}; unattended Salesforce connections use JwtBearer.", null));
                }
                else if (!salesforce && flow == AuthorizationFlow.JwtBearer)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, fields.Node("flow")!.Location, $"'{fields.Node("flow")!.Location.Key}' is JwtBearer, a Salesforce flow; unattended Dynamics 365 connections use ClientSecret or ClientCertificate.", null));
                }

                if (flow == AuthorizationFlow.JwtBearer && username is null)
                {
                    issues.Add(Missing(fields, "username", "the Salesforce user the JwtBearer assertion names"));
                }

                if (flow != AuthorizationFlow.JwtBearer && tenantId is null)
                {
                    issues.Add(Missing(fields, "tenantId", "the Entra ID tenant (id or domain) the client credentials belong to"));
                }

                var usesCertificate = flow == AuthorizationFlow.JwtBearer || flow == AuthorizationFlow.ClientCertificate;
                if (usesCertificate && certificatePath is null && thumbprint is null)
                {
                    issues.Add(Missing(fields, "certificatePath", $"the certificate the {flow} flow signs with (or certificateThumbprint, for one in the certificate store)"));
                }

                if (certificatePath != null && thumbprint != null)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, fields.Node("certificateThumbprint")!.Location, $"'{fields.Node("certificateThumbprint")!.Location.Key}' and certificatePath are both set; give one.", null));
                }

                foreach (var (key, present) in new[] { ("certificatePath", certificatePath != null), ("certificateThumbprint", thumbprint != null), ("certificatePassword", certificatePassword != null) })
                {
                    if (present && !usesCertificate)
                    {
                        issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, fields.Node(key)!.Location, $"'{fields.Node(key)!.Location.Key}' does not apply to the {flow} flow, which uses no certificate.", null));
                    }
                }

                if (clientSecret != null && flow != AuthorizationFlow.ClientSecret)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, fields.Node("clientSecret")!.Location, $"'{fields.Node("clientSecret")!.Location.Key}' does not apply to the {flow} flow.", null));
                }
            }

            if (certificatePath != null)
            {
                certificatePath = Path.GetFullPath(Path.Combine(folder, certificatePath));
            }

            return issues.Count > before || flow is null || clientId is null ? null : new AuthorizationDeclaration
            {
                Flow = flow.Value,
                ClientId = clientId,
                Username = username,
                TenantId = tenantId,
                CertificatePath = certificatePath,
                CertificateThumbprint = thumbprint?.Replace(" ", "").ToUpperInvariant(),
                CertificatePassword = certificatePassword,
                ClientSecret = clientSecret,
                Location = map.Location,
            };
        }

        private static PrivateConnectionDeclaration? ReadPrivate(Fields fields, PrivateConnectionSide side, string folder, List<ConfigurationIssue> issues)
        {
            var before = issues.Count;
            var local = fields.String("localInstanceName", required: side == PrivateConnectionSide.Public);
            CheckInstanceName(fields, "localInstanceName", local, issues);
            var system = ReadSystemName(fields, issues);
            if (side == PrivateConnectionSide.Private)
            {
                var code = fields.Secret("invitationCode", folder);
                return issues.Count > before ? null : new PrivateConnectionDeclaration { Side = side, LocalInstanceName = local, InvitationCode = code, System = system };
            }

            var mode = fields.Enum<PrivateConnectionMode>("mode", required: false) ?? PrivateConnectionMode.Basic;
            var remote = fields.String("remoteInstanceName", required: false);
            CheckInstanceName(fields, "remoteInstanceName", remote, issues);
            var codePath = fields.String("invitationCodePath", required: false);
            string? fullCodePath = null;
            if (codePath != null)
            {
                try
                {
                    fullCodePath = Path.GetFullPath(Path.Combine(folder, codePath));
                    // Refused before anything is applied: a code file must never replace a store.
                    StoreFile.RefuseAsWriteTarget(fullCodePath, "The invitation code");
                }
                catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, fields.Node("invitationCodePath")!.Location, $"'{fields.Node("invitationCodePath")!.Location.Key}' is not a valid path: {e.Message}", null));
                }
                catch (ConnectionToolsException e) when (e.ErrorId == ErrorIds.ConfigurationProtectedPath)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationProtectedPath, fields.Node("invitationCodePath")!.Location, $"'{fields.Node("invitationCodePath")!.Location.Key}': {e.Message}", e.RecommendedAction));
                }
            }

            return issues.Count > before ? null : new PrivateConnectionDeclaration { Side = side, Mode = mode, LocalInstanceName = local, RemoteInstanceName = remote, InvitationCodePath = fullCodePath, System = system };
        }

        /// <summary>
        /// The bound system: a connection name; "" or null (system: "" or system: null) declares none, so the connection exchanges status only.
        /// Absent: not managed. Whether the name is a live system connection is checked against the node when planning.
        /// </summary>
        private static string? ReadSystemName(Fields fields, List<ConfigurationIssue> issues)
        {
            var node = fields.Node("system");
            if (node is null)
            {
                return null;
            }

            if (node is YamlScalar { Value: null } || (node is YamlScalar { Value: { } blank } && blank.Length == 0))
            {
                return "";
            }

            var name = fields.String("system", required: false);
            if (name != null)
            {
                try
                {
                    ConnectionNames.Validate(name);
                }
                catch (ConnectionToolsException e)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, node.Location, $"'{node.Location.Key}': {e.Message}", "Give the name of a Salesforce or Dynamics 365 connection on this node, or \"\" for none (status only)."));
                    return null;
                }
            }

            return name;
        }

        private static void CheckInstanceName(Fields fields, string key, string? value, List<ConfigurationIssue> issues)
        {
            if (value != null && !ConnectionNames.IsValidInstanceName(value))
            {
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, fields.Node(key)!.Location, $"'{fields.Node(key)!.Location.Key}' is not a valid instance name: use 1 to {ConnectionNames.MaxNameLength} characters without control characters or surrounding spaces.", null));
            }
        }
    }
}
