using System;
using System.Collections.Generic;

namespace ConnectionTools.Authorization
{
    /// <summary>Where each Microsoft cloud signs in (Entra ID authority) and which Dataverse domain its environments use.</summary>
    public sealed class CloudEndpoints
    {
        private static readonly Dictionary<EnvironmentType, CloudEndpoints> Clouds = new Dictionary<EnvironmentType, CloudEndpoints>
        {
            // The Global Discovery Service hosts are those Microsoft publishes per cloud ("Discover user organizations", Dataverse docs).
            [EnvironmentType.Public] = new CloudEndpoints(EnvironmentType.Public, "login.microsoftonline.com", "dynamics.com", "crm*.dynamics.com", "globaldisco.crm.dynamics.com"),
            [EnvironmentType.GCC] = new CloudEndpoints(EnvironmentType.GCC, "login.microsoftonline.com", "crm9.dynamics.com", "crm9.dynamics.com", "globaldisco.crm9.dynamics.com"),
            [EnvironmentType.GCCHigh] = new CloudEndpoints(EnvironmentType.GCCHigh, "login.microsoftonline.us", "crm.microsoftdynamics.us", "crm.microsoftdynamics.us", "globaldisco.crm.microsoftdynamics.us"),
            [EnvironmentType.DoD] = new CloudEndpoints(EnvironmentType.DoD, "login.microsoftonline.us", "crm.appsplatform.us", "crm.appsplatform.us", "globaldisco.crm.appsplatform.us"),
            [EnvironmentType.China] = new CloudEndpoints(EnvironmentType.China, "login.partner.microsoftonline.cn", "crm.dynamics.cn", "crm.dynamics.cn", "globaldisco.crm.dynamics.cn"),
        };

        private CloudEndpoints(EnvironmentType environment, string authorityHost, string dataverseSuffix, string dataverseDomainDescription, string discoveryHost)
        {
            DiscoveryHost = discoveryHost;
            Environment = environment;
            AuthorityHost = authorityHost;
            DataverseSuffix = dataverseSuffix;
            DataverseDomainDescription = dataverseDomainDescription;
        }

        public EnvironmentType Environment { get; }

        /// <summary>The Entra ID authority host, for example login.microsoftonline.us for GCC High and DoD.</summary>
        public string AuthorityHost { get; }

        /// <summary>The domain an environment's host ends with (Public: crmN.dynamics.com, so the check is on the first label too).</summary>
        public string DataverseSuffix { get; }

        /// <summary>How the domain is described in messages, for example crm*.dynamics.com.</summary>
        public string DataverseDomainDescription { get; }

        /// <summary>The cloud's Global Discovery Service host, for example globaldisco.crm9.dynamics.com for GCC.</summary>
        public string DiscoveryHost { get; }

        /// <summary>The Global Discovery Service root, https://globaldisco.../ (its API is at api/discovery/v2.0/Instances).</summary>
        public Uri DiscoveryUrl => new Uri($"https://{DiscoveryHost}/");

        public static CloudEndpoints For(EnvironmentType environment) =>
            Clouds.TryGetValue(environment, out var cloud) ? cloud : throw new ArgumentOutOfRangeException(nameof(environment), environment, "Not a Microsoft cloud.");

        public Uri Authority(string tenant) => new Uri($"https://{AuthorityHost}/{tenant}/");

        /// <summary>True when <paramref name="host"/> is an environment host of this cloud, for example contoso.crm4.dynamics.com for Public.</summary>
        public bool IsEnvironmentHost(string host)
        {
            host = host.ToLowerInvariant();
            if (Environment != EnvironmentType.Public)
            {
                return host.EndsWith("." + DataverseSuffix, StringComparison.Ordinal);
            }

            // Public regions are crm.dynamics.com, crm2..crm21.dynamics.com; crm9 is GCC and belongs to the GCC cloud.
            var labels = host.Split('.');
            return labels.Length == 4 && labels[2] == "dynamics" && labels[3] == "com" &&
                labels[1].StartsWith("crm", StringComparison.Ordinal) && labels[1] != "crm9" && IsRegionLabel(labels[1].Substring(3));
        }

        private static bool IsRegionLabel(string digits)
        {
            foreach (var c in digits)
            {
                if (c < '0' || c > '9')
                {
                    return false;
                }
            }

            return true;
        }
    }
}
