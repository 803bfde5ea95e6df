using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ConnectionTools.Errors;

namespace ConnectionTools.Configuration
{
    /// <summary>
    /// Reads and validates a configuration file against schema connectiontools/v1. Every problem is collected (not just the
    /// first), each with file:line:column and the key it is about, so one run shows everything to fix.
    /// </summary>
    public static partial class ConfigurationLoader
    {
        public static readonly TimeSpan DefaultRetrievalInterval = TimeSpan.FromMinutes(5);
        public static readonly TimeSpan MinimumRetrievalInterval = TimeSpan.FromMinutes(1);
        public static readonly TimeSpan MaximumRetrievalInterval = TimeSpan.FromHours(24);

        private static readonly string[] TopKeys = { "apiVersion", "name", "connections" };
        private static readonly string[] CommonKeys = { "name", "type", "state", "description" };
        private static readonly string[] SystemKeys = { "instanceUrl", "environmentType", "retrievalInterval", "defaultCustomer", "authorization" };
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
    }
}
