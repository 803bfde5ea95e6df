using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using ConnectionTools.Connections;

namespace ConnectionTools.Configuration
{
    /// <summary>
    /// Describes the node's connections as a configuration that Test reports as fully matching. Secrets are never written:
    /// not even references, since the node does not know where an admin keeps them (add them before applying elsewhere).
    /// </summary>
    internal static class ConfigurationExporter
    {
        private static readonly Regex Plain = new Regex("^[A-Za-z0-9_./@][A-Za-z0-9_./:@+-]*$", RegexOptions.CultureInvariant);
        private static readonly HashSet<string> Reserved = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "true", "false", "yes", "no", "on", "off", "null", "y", "n" };

        public static string Write(IReadOnlyList<Connection> connections, IReadOnlyDictionary<Guid, SystemConnectionSettings>? settings, out int written, out List<Connection> skipped)
        {
            var text = new StringBuilder();
            text.Append("# Exported by ConnectionTools. Secrets are not exported: add references (env:, file:, vault:) before creating these elsewhere.\n");
            text.Append("apiVersion: ").Append(ConnectionConfiguration.ApiVersionV1).Append('\n');
            written = 0;
            skipped = new List<Connection>();
            var body = new StringBuilder();
            // System connections first: a private connection bound to one (system:) can only be made once its system exists.
            foreach (var c in connections.Where(c => c.Type != ConnectionType.Private).Concat(connections.Where(c => c.Type == ConnectionType.Private)))
            {
                SystemConnectionSettings? s = null;
                if ((c.Type != ConnectionType.Private && (settings is null || !settings.TryGetValue(c.Id, out s))) || (c.Type == ConnectionType.Private && c.Side is null))
                {
                    skipped.Add(c);
                    continue;
                }

                written++;
                Line(body, "  - ", "name", c.Name);
                Line(body, "    ", "type", c.Type.ToString());
                if (c.Type == ConnectionType.Private)
                {
                    Line(body, "    ", "side", c.Side?.ToString());
                }

                // Pending and Inactive are the system's to set; what an admin asks for is Active (or Paused).
                Line(body, "    ", "state", c.Status == ConnectionStatus.Paused ? "Paused" : "Active");
                if (c.Description.Length > 0)
                {
                    Line(body, "    ", "description", c.Description);
                }

                if (s != null)
                {
                    Line(body, "    ", "instanceUrl", s.InstanceUrl.AbsoluteUri.TrimEnd('/'));
                    if (c.Type == ConnectionType.Dynamics365)
                    {
                        Line(body, "    ", "environmentType", s.EnvironmentType.ToString());
                    }

                    Line(body, "    ", "retrievalInterval", ConfigurationLoader.FormatInterval(s.RetrievalInterval));
                    Line(body, "    ", "defaultCustomer", s.DefaultCustomer);
                    body.Append("    authorization:\n");
                    Line(body, "      ", "flow", s.Flow.ToString());
                    Line(body, "      ", "clientId", s.ClientId);
                    Line(body, "      ", "username", s.Username);
                    Line(body, "      ", "tenantId", s.TenantId);
                    Line(body, "      ", "certificatePath", s.CertificatePath);
                    Line(body, "      ", "certificateThumbprint", s.CertificateThumbprint);
                }
                else if (c.Side == PrivateConnectionSide.Public)
                {
                    Line(body, "    ", "mode", c.Mode?.ToString());
                    Line(body, "    ", "localInstanceName", c.LocalInstanceName);
                    Line(body, "    ", "remoteInstanceName", c.RemoteInstanceName);
                    Line(body, "    ", "system", c.System);
                }
                else
                {
                    Line(body, "    ", "localInstanceName", c.LocalInstanceName);
                    Line(body, "    ", "system", c.System);
                }
            }

            text.Append(written == 0 ? "connections: []\n" : "connections:\n").Append(body);
            return text.ToString();
        }

        private static void Line(StringBuilder text, string indent, string key, string? value)
        {
            if (value is null)
            {
                return;
            }

            text.Append(indent).Append(key).Append(": ").Append(Quote(value)).Append('\n');
        }

        /// <summary>Plain when YAML reads it back as the same text; otherwise double-quoted with escapes.</summary>
        internal static string Quote(string value)
        {
            if (Plain.IsMatch(value) && !Reserved.Contains(value) && !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                return value;
            }

            var quoted = new StringBuilder("\"");
            foreach (var c in value)
            {
                switch (c)
                {
                    case '"': quoted.Append("\\\""); break;
                    case '\\': quoted.Append("\\\\"); break;
                    case '\n': quoted.Append("\\n"); break;
                    case '\r': quoted.Append("\\r"); break;
                    case '\t': quoted.Append("\\t"); break;
                    default:
                        if (char.IsControl(c))
                        {
                            quoted.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            quoted.Append(c);
                        }

                        break;
                }
            }

            return quoted.Append('"').ToString();
        }
    }
}
