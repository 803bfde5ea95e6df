using System;
using System.Collections.Generic;
using ConnectionTools.Connections;

namespace ConnectionTools.Configuration
{
    /// <summary>Desired and actual state as flat key/value maps (what Test-ConnectionConfiguration compares and shows), and the differences between them.</summary>
    public static partial class ConfigurationPlanner
    {
        internal static Dictionary<string, string?> DesiredOf(ConnectionDeclaration d)
        {
            var state = new Dictionary<string, string?> { ["type"] = d.Type.ToString() };
            if (d is PrivateConnectionDeclaration privateDeclaration)
            {
                state["side"] = privateDeclaration.Side.ToString();
            }

            state["state"] = d.State.ToString();
            if (d.Description != null)
            {
                state["description"] = d.Description;
            }

            switch (d)
            {
                case SystemConnectionDeclaration s:
                    state["instanceUrl"] = Url(s.InstanceUrl);
                    state["environmentType"] = s.EnvironmentType.ToString();
                    state["retrievalInterval"] = ConfigurationLoader.FormatInterval(s.RetrievalInterval);
                    state["defaultCustomer"] = s.DefaultCustomer;
                    state["authorization.flow"] = s.Authorization.Flow.ToString();
                    state["authorization.clientId"] = s.Authorization.ClientId;
                    state["authorization.username"] = s.Authorization.Username;
                    state["authorization.tenantId"] = s.Authorization.TenantId;
                    state["authorization.certificatePath"] = s.Authorization.CertificatePath;
                    state["authorization.certificateThumbprint"] = s.Authorization.CertificateThumbprint;
                    break;
                case PrivateConnectionDeclaration p:
                    if (p.Side == PrivateConnectionSide.Public)
                    {
                        state["mode"] = p.Mode.ToString();
                    }

                    if (p.LocalInstanceName != null)
                    {
                        state["localInstanceName"] = p.LocalInstanceName;
                    }

                    if (p.System != null)
                    {
                        state["system"] = p.System;
                    }

                    break;
            }

            return state;
        }

        /// <summary>The connection described with the same keys as a declaration, so the two compare key by key.</summary>
        /// <param name="withSystem">Whether the declaration manages the bound system; "" stands for none.</param>
        internal static Dictionary<string, string?> ActualOf(Connection c, SystemConnectionSettings? s, bool withDescription, bool withSystem = false)
        {
            var state = new Dictionary<string, string?> { ["type"] = c.Type.ToString() };
            if (c.Type == ConnectionType.Private)
            {
                state["side"] = c.Side?.ToString();
            }

            state["state"] = c.Status.ToString();
            if (withDescription)
            {
                state["description"] = c.Description;
            }

            if (s != null)
            {
                state["instanceUrl"] = Url(s.InstanceUrl);
                state["environmentType"] = s.EnvironmentType.ToString();
                state["retrievalInterval"] = ConfigurationLoader.FormatInterval(s.RetrievalInterval);
                state["defaultCustomer"] = s.DefaultCustomer;
                state["authorization.flow"] = s.Flow.ToString();
                state["authorization.clientId"] = s.ClientId;
                state["authorization.username"] = s.Username;
                state["authorization.tenantId"] = s.TenantId;
                state["authorization.certificatePath"] = s.CertificatePath;
                state["authorization.certificateThumbprint"] = s.CertificateThumbprint;
            }

            if (c.Type == ConnectionType.Private)
            {
                if (c.Side == PrivateConnectionSide.Public)
                {
                    state["mode"] = c.Mode?.ToString();
                }

                state["localInstanceName"] = c.LocalInstanceName;
                if (withSystem)
                {
                    state["system"] = c.System ?? "";
                }
            }

            return state;
        }

        /// <summary>The keys whose values differ; keys the actual state does not know (settings it cannot read) are not compared.</summary>
        private static List<string> Differences(Dictionary<string, string?> desired, Dictionary<string, string?> actual)
        {
            var differing = new List<string>();
            foreach (var pair in desired)
            {
                // Connection names are compared without regard to case, as the node does.
                var comparison = pair.Key == "system" ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
                if (actual.TryGetValue(pair.Key, out var value) && !string.Equals(pair.Value, value, comparison))
                {
                    differing.Add(pair.Key);
                }
            }

            return differing;
        }

        private static string Url(Uri url) => url.AbsoluteUri.TrimEnd('/');

        private static Dictionary<string, string?> Absent() => new Dictionary<string, string?> { ["state"] = null };
    }
}
