using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Storage;
using ConnectionTools.Invitations;

namespace ConnectionTools.Configuration
{
    /// <summary>
    /// Reads and validates a configuration file against schema connectiontools/v1. Every problem is collected (not just the
    /// first), each with file:line:column and the key it is about, so one run shows everything to fix.
    /// </summary>
    public static class ConfigurationLoader
    {
        public static readonly TimeSpan DefaultRetrievalInterval = TimeSpan.FromMinutes(5);
        public static readonly TimeSpan MinimumRetrievalInterval = TimeSpan.FromMinutes(1);
        public static readonly TimeSpan MaximumRetrievalInterval = TimeSpan.FromHours(24);

        private static readonly string[] TopKeys = { "apiVersion", "name", "connections" };
        private static readonly string[] CommonKeys = { "name", "type", "state", "description" };
        private static readonly string[] SystemKeys = { "instanceUrl", "environmentType", "retrievalInterval", "authorization" };
        private static readonly string[] PublicSideKeys = { "side", "mode", "localInstanceName", "remoteInstanceName", "invitationCodePath", "system" };
        private static readonly string[] PrivateSideKeys = { "side", "localInstanceName", "invitationCode", "system" };
        private static readonly string[] AuthorizationKeys = { "flow", "clientId", "username", "tenantId", "certificatePath", "certificateThumbprint", "certificatePassword", "clientSecret" };

        // The keys a connection may have, by what it declares itself to be; worked out once.
        private static readonly string[] PrivateSideAllowed = CommonKeys.Concat(PrivateSideKeys).ToArray();
        private static readonly string[] PublicSideAllowed = CommonKeys.Concat(PublicSideKeys).ToArray();
        private static readonly string[] EitherSideAllowed = CommonKeys.Concat(PublicSideKeys.Union(PrivateSideKeys)).ToArray();
        private static readonly string[] AnyAllowed = CommonKeys.Concat(SystemKeys.Union(PublicSideKeys).Union(PrivateSideKeys)).ToArray();
        private static readonly string[] SystemAllowed = CommonKeys.Concat(SystemKeys).ToArray();

        /// <summary>Loads <paramref name="path"/>. Returns null, with at least one issue, when the file is not valid.</summary>
        public static ConnectionConfiguration? Load(string path, List<ConfigurationIssue> issues)
        {
            var start = issues.Count;
            var display = path;
            var root = YamlTree.Load(path, display, issues);
            if (root is null)
            {
                return null;
            }

            var folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
            var configuration = Read(root, path, folder, Path.GetFileNameWithoutExtension(path), issues);
            InFileOrder(issues, start);
            return configuration;
        }

        /// <summary>Validates YAML text as if it were the file <paramref name="path"/> (relative paths in it are taken from that file's folder).</summary>
        public static ConnectionConfiguration? Parse(string text, string path, List<ConfigurationIssue> issues)
        {
            var start = issues.Count;
            var root = YamlTree.Parse(text, path, issues);
            if (root is null)
            {
                return null;
            }

            var folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
            var configuration = Read(root, path, folder, Path.GetFileNameWithoutExtension(path), issues);
            InFileOrder(issues, start);
            return configuration;
        }

        /// <summary>
        /// Sorts the issues found from <paramref name="start"/> on by line and column (stable, so two at one place keep their
        /// order): duplicates found while parsing and keys checked after their siblings are reported where they are in the file.
        /// </summary>
        private static void InFileOrder(List<ConfigurationIssue> issues, int start)
        {
            if (issues.Count - start < 2)
            {
                return;
            }

            var sorted = issues.Skip(start)
                .Select((issue, order) => (issue, order))
                .OrderBy(x => x.issue.Location.Line)
                .ThenBy(x => x.issue.Location.Column)
                .ThenBy(x => x.order)
                .Select(x => x.issue)
                .ToList();
            issues.RemoveRange(start, issues.Count - start);
            issues.AddRange(sorted);
        }

        /// <summary>The key in <paramref name="keys"/> closest to <paramref name="key"/> as a misspelling (case aside), or null when none is close.</summary>
        internal static string? ClosestKey(string key, IEnumerable<string> keys)
        {
            string? best = null;
            var bestDistance = int.MaxValue;
            foreach (var candidate in keys)
            {
                var distance = EditDistance(key.ToLowerInvariant(), candidate.ToLowerInvariant());

                // One edit in a short key, up to a third of a long one: 'descripton' -> 'description', not 'name' -> 'mode'.
                var allowed = Math.Max(1, Math.Min(3, candidate.Length / 3));
                if (distance <= allowed && distance < bestDistance)
                {
                    best = candidate;
                    bestDistance = distance;
                }
            }

            return best;
        }

        /// <summary>Edits (insert, delete, replace, swap two neighbours) that turn one text into the other.</summary>
        private static int EditDistance(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (var i = 0; i <= a.Length; i++)
            {
                d[i, 0] = i;
            }

            for (var j = 0; j <= b.Length; j++)
            {
                d[0, j] = j;
            }

            for (var i = 1; i <= a.Length; i++)
            {
                for (var j = 1; j <= b.Length; j++)
                {
                    var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                    if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    {
                        d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                    }
                }
            }

            return d[a.Length, b.Length];
        }

        private static ConnectionConfiguration? Read(YamlNode root, string path, string folder, string defaultName, List<ConfigurationIssue> issues)
        {
            var before = issues.Count;
            if (!(root is YamlMapping top))
            {
                issues.Add(new ConfigurationIssue(
                    ErrorIds.ConfigurationWrongType,
                    root.Location.WithKey("apiVersion"),
                    $"The file is not a ConnectionTools configuration: it holds {root.Kind}, and a configuration is a mapping that starts with 'apiVersion: {ConnectionConfiguration.ApiVersionV1}'.",
                    "See module/examples/connections.yaml for a full example."));
                return null;
            }

            var fields = new Fields(top, issues, TopKeys, "a configuration");
            var apiVersion = fields.String("apiVersion", required: true);
            if (apiVersion != null && apiVersion != ConnectionConfiguration.ApiVersionV1)
            {
                issues.Add(new ConfigurationIssue(
                    ErrorIds.ConfigurationUnsupportedVersion,
                    fields.Node("apiVersion")!.Location,
                    $"'apiVersion' is '{apiVersion}'; this version of ConnectionTools reads '{ConnectionConfiguration.ApiVersionV1}'.",
                    $"Use apiVersion: {ConnectionConfiguration.ApiVersionV1}, or update the module if the file was written for a newer one."));

                // The rest of the file follows another schema; its errors would only be noise.
                return null;
            }

            var name = fields.String("name", required: false) ?? defaultName;
            var declarations = new List<ConnectionDeclaration>();
            var list = fields.Node("connections");
            if (list is null)
            {
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationMissingKey, top.Location.WithKey("connections"), "The key 'connections' is missing; it lists the connections this node should have (it may be an empty list: []).", null));
            }
            else if (list is YamlSequence sequence)
            {
                var names = new Dictionary<string, ConfigurationLocation>(StringComparer.OrdinalIgnoreCase);
                foreach (var item in sequence.Items)
                {
                    var declaration = ReadConnection(item, folder, issues);

                    // Names are compared even when a declaration has other errors, so one run reports every problem.
                    var nameEntry = (item as YamlMapping)?.Entries.FirstOrDefault(e => e.Key.Value == "name");
                    var nameNode = nameEntry?.Key;
                    var declaredName = (nameEntry?.Value as YamlScalar)?.Value?.Trim();
                    if (!string.IsNullOrEmpty(declaredName))
                    {
                        if (names.TryGetValue(declaredName!, out var first))
                        {
                            issues.Add(new ConfigurationIssue(
                                ErrorIds.ConfigurationDuplicateName,
                                nameNode!.Location,
                                $"'{nameNode.Location.Key}': the connection '{declaredName}' is declared twice; the first is at line {first.Line}. Names are unique on a node, regardless of case.",
                                "Keep one declaration, or rename one of them."));
                            continue;
                        }

                        names.Add(declaredName!, item.Location);
                    }

                    if (declaration != null)
                    {
                        declarations.Add(declaration);
                    }
                }
            }
            else if (!(list is YamlScalar { Value: null }))
            {
                issues.Add(WrongType(list, "a list of connections"));
            }

            fields.ReportUnknownKeys();
            return issues.Count > before ? null : new ConnectionConfiguration { Path = path, Name = name, ApiVersion = apiVersion!, Connections = declarations };
        }

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
                    InstanceUrl = s.InstanceUrl, EnvironmentType = s.EnvironmentType, RetrievalInterval = s.RetrievalInterval, Authorization = s.Authorization,
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

        /// <summary>Durations as admins write them: 90s, 15m, 1h30m, or hh:mm:ss.</summary>
        internal static TimeSpan? ParseInterval(string text)
        {
            if (text.IndexOf(':') >= 0)
            {
                return TimeSpan.TryParseExact(text, @"hh\:mm\:ss", CultureInfo.InvariantCulture, out var exact) ? exact : (TimeSpan?)null;
            }

            var total = TimeSpan.Zero;
            var number = 0L;
            var digits = 0;
            foreach (var c in text)
            {
                if (c >= '0' && c <= '9' && digits < 6)
                {
                    number = (number * 10) + (c - '0');
                    digits++;
                    continue;
                }

                if (digits == 0)
                {
                    return null;
                }

                switch (c)
                {
                    case 'h': total += TimeSpan.FromHours(number); break;
                    case 'm': total += TimeSpan.FromMinutes(number); break;
                    case 's': total += TimeSpan.FromSeconds(number); break;
                    default: return null;
                }

                number = 0;
                digits = 0;
            }

            return digits == 0 && text.Length > 0 ? total : (TimeSpan?)null;
        }

        /// <summary>The form Export writes: 15m, 1h30m, 90s as 1m30s.</summary>
        internal static string FormatInterval(TimeSpan interval)
        {
            var text = new StringBuilder();
            if ((int)interval.TotalHours > 0)
            {
                text.Append(((int)interval.TotalHours).ToString(CultureInfo.InvariantCulture)).Append('h');
            }

            if (interval.Minutes > 0)
            {
                text.Append(interval.Minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
            }

            if (interval.Seconds > 0 || text.Length == 0)
            {
                text.Append(interval.Seconds.ToString(CultureInfo.InvariantCulture)).Append('s');
            }

            return text.ToString();
        }

        private static ConfigurationIssue WrongType(YamlNode node, string expected) => new ConfigurationIssue(
            ErrorIds.ConfigurationWrongType,
            node.Location,
            $"'{node.Location.Key}' is {node.Kind}; it should be {expected}.",
            null);

        private static ConfigurationIssue Missing(Fields fields, string key, string what) => new ConfigurationIssue(
            ErrorIds.ConfigurationMissingKey,
            fields.Map.Location.WithKey(fields.Path(key)),
            $"The key '{fields.Path(key)}' is missing: {what}.",
            null);

        /// <summary>An enum's values and their names, listed once.</summary>
        private static class EnumChoices<T>
            where T : struct
        {
            public static readonly T[] All = (T[])System.Enum.GetValues(typeof(T));

            public static readonly string[] Names = All.Select(v => v.ToString()!).ToArray();
        }

        /// <summary>Typed access to one mapping's keys, recording which were used so that the rest can be reported as unknown.</summary>
        private sealed class Fields
        {
            private readonly List<ConfigurationIssue> _issues;
            private readonly string[]? _allowed;
            private readonly string? _what;
            private readonly Dictionary<string, YamlNode>? _entries;

            public Fields(YamlMapping map, List<ConfigurationIssue> issues, string[]? allowed, string? what)
            {
                Map = map;
                _issues = issues;
                _allowed = allowed;
                _what = what;

                // A connection has a handful of keys: looking them up in order is cheaper than indexing them.
                if (map.Entries.Count > 16)
                {
                    _entries = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
                    foreach (var entry in map.Entries)
                    {
                        _entries[entry.Key.Value ?? ""] = entry.Value;
                    }
                }
            }

            public YamlMapping Map { get; }

            public string Path(string key) => Map.Location.Key.Length == 0 ? key : Map.Location.Key + "." + key;

            public YamlNode? Node(string key)
            {
                if (_entries != null)
                {
                    return _entries.TryGetValue(key, out var node) ? node : null;
                }

                // Keys are unique (YamlTree refuses duplicates); the last would win if they were not.
                YamlNode? found = null;
                foreach (var entry in Map.Entries)
                {
                    if (string.Equals(entry.Key.Value ?? "", key, StringComparison.Ordinal))
                    {
                        found = entry.Value;
                    }
                }

                return found;
            }

            public string? String(string key, bool required)
            {
                var node = Node(key);
                if (node is null)
                {
                    if (required)
                    {
                        _issues.Add(Missing(this, key, "it is required here"));
                    }

                    return null;
                }

                if (node is YamlScalar { Value: { } value })
                {
                    if (value.Trim().Length == 0)
                    {
                        _issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, node.Location, $"'{node.Location.Key}' is blank.", null));
                        return null;
                    }

                    return value;
                }

                _issues.Add(WrongType(node, "a value (text)"));
                return null;
            }

            public T? Enum<T>(string key, bool required, bool quiet = false, T[]? allowed = null)
                where T : struct
            {
                var node = Node(key);
                var choices = allowed ?? EnumChoices<T>.All;
                if (node is YamlScalar { Value: { } value })
                {
                    var names = allowed is null ? EnumChoices<T>.Names : null;
                    for (var i = 0; i < choices.Length; i++)
                    {
                        if (string.Equals(names?[i] ?? choices[i].ToString(), value, StringComparison.OrdinalIgnoreCase))
                        {
                            return choices[i];
                        }
                    }
                }

                if (quiet)
                {
                    return null;
                }

                if (node is null)
                {
                    if (required)
                    {
                        _issues.Add(Missing(this, key, "one of " + string.Join(", ", choices)));
                    }
                }
                else if (node is YamlScalar { Value: { } text })
                {
                    _issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, node.Location, $"'{node.Location.Key}' is '{text}'; it must be one of {string.Join(", ", choices)}.", null));
                }
                else
                {
                    _issues.Add(WrongType(node, "one of " + string.Join(", ", choices)));
                }

                return null;
            }

            /// <summary>A secret's key: only a reference is accepted; a literal value is refused without being repeated.</summary>
            public SecretReference? Secret(string key, string folder)
            {
                var node = Node(key);
                if (node is null)
                {
                    return null;
                }

                if (!(node is YamlScalar { Value: { } value }))
                {
                    _issues.Add(WrongType(node, "a secret reference: env:NAME, file:PATH or vault:VAULT/NAME"));
                    return null;
                }

                var reference = SecretReference.TryParse(value, folder, node.Location);
                if (reference is null)
                {
                    _issues.Add(new ConfigurationIssue(
                        ErrorIds.ConfigurationLiteralSecret,
                        node.Location,
                        $"'{node.Location.Key}' holds a literal value; secrets are accepted only by reference (env:NAME, file:PATH or vault:VAULT/NAME). The value is not shown.",
                        "Move the secret out of the file, for example into an environment variable, and write env:NAME here. If the file was shared or committed, consider the secret exposed and rotate it."));
                }

                return reference;
            }

            public void ReportUnknownKeys()
            {
                if (_allowed is null)
                {
                    return;
                }

                foreach (var entry in Map.Entries)
                {
                    var key = entry.Key.Value ?? "";
                    if (Array.IndexOf(_allowed, key) >= 0)
                    {
                        continue;
                    }

                    var close = _allowed.FirstOrDefault(a => string.Equals(a, key, StringComparison.OrdinalIgnoreCase));
                    var elsewhere = close is null && (SystemKeys.Contains(key) || PublicSideKeys.Contains(key) || PrivateSideKeys.Contains(key) || TopKeys.Contains(key) || AuthorizationKeys.Contains(key));
                    var misspelt = close is null && !elsewhere ? ClosestKey(key, _allowed) : null;
                    var message = close != null
                        ? $"Unknown key '{entry.Key.Location.Key}': keys are case-sensitive; did you mean '{close}'?"
                        : elsewhere
                            ? $"The key '{entry.Key.Location.Key}' does not apply to {_what}."
                            : misspelt != null
                                ? $"Unknown key '{entry.Key.Location.Key}': did you mean '{misspelt}'?"
                                : $"Unknown key '{entry.Key.Location.Key}'. The keys of {_what ?? "a configuration"} are: {string.Join(", ", _allowed)}.";
                    _issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationUnknownKey, entry.Key.Location, message, null));
                }
            }
        }
    }
}
