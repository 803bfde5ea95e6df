using System;
using System.Linq;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Peering;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// Checks the -InstanceUrl of a system connection before any network call: HTTPS (loopback aside, for emulators),
    /// and a host that belongs to the chosen provider and cloud, with a hint when it belongs to another one.
    /// </summary>
    public static class InstanceUrls
    {
        public const string SalesforceProductionLogin = "https://login.salesforce.com";
        public const string SalesforceSandboxLogin = "https://test.salesforce.com";

        public static Uri ForDynamics(string? value, EnvironmentType environment)
        {
            var url = Parse(value);
            if (PeerUrls.IsLoopback(url))
            {
                return Root(url);
            }

            var cloud = CloudEndpoints.For(environment);
            if (!cloud.IsEnvironmentHost(url.Host))
            {
                var actual = Enum.GetValues(typeof(EnvironmentType)).Cast<EnvironmentType>().Where(e => CloudEndpoints.For(e).IsEnvironmentHost(url.Host)).ToList();
                var hint = actual.Count > 0
                    ? $"It is a {actual[0]} environment: add -EnvironmentType {actual[0]}."
                    : $"Give the environment URL, for example https://contoso.{cloud.DataverseDomainDescription.Replace("*", "")}.";
                throw Invalid(value, $"'{url.Host}' is not a Dynamics 365 environment in the {environment} cloud, whose environments are at *.{cloud.DataverseDomainDescription}.", hint);
            }

            return Root(url);
        }

        /// <summary>The scope an Entra ID token needs to call this environment's Dataverse Web API.</summary>
        public static string DataverseScope(Uri instance) => instance.GetLeftPart(UriPartial.Authority) + "/.default";

        public static Uri ForSalesforce(string? value, ConnectionType type)
        {
            if (type != ConnectionType.SalesforceProduction && type != ConnectionType.SalesforceSandbox)
            {
                throw new ArgumentOutOfRangeException(nameof(type), type, "Not a Salesforce connection type.");
            }

            var url = Parse(value);
            if (PeerUrls.IsLoopback(url))
            {
                return Root(url);
            }

            var host = url.Host.ToLowerInvariant();
            var sandboxHost = IsSalesforceSandboxHost(host);
            var productionHost = IsSalesforceProductionHost(host);
            if (type == ConnectionType.SalesforceSandbox && !sandboxHost)
            {
                throw Invalid(value, $"'{host}' is not a Salesforce sandbox login host.", productionHost
                    ? "It is a production host: use -Type SalesforceProduction, or give the sandbox's My Domain (name--sandbox.sandbox.my.salesforce.com)."
                    : "Give test.salesforce.com or the sandbox's My Domain (name--sandbox.sandbox.my.salesforce.com).");
            }

            if (type == ConnectionType.SalesforceProduction && !productionHost)
            {
                throw Invalid(value, $"'{host}' is not a Salesforce production login host.", sandboxHost
                    ? "It is a sandbox host: use -Type SalesforceSandbox."
                    : "Give login.salesforce.com or the org's My Domain (name.my.salesforce.com).");
            }

            return Root(url);
        }

        /// <summary>
        /// The kind of org a Salesforce host belongs to: SalesforceSandbox for test.salesforce.com, name--sandbox.sandbox.my.salesforce.com
        /// and the legacy csNN instances; SalesforceProduction for login.salesforce.com and other My Domains; null when the host says neither.
        /// </summary>
        public static ConnectionType? SalesforceKindOf(string host)
        {
            host = host.ToLowerInvariant();
            if (IsSalesforceSandboxHost(host) || IsLegacyInstance(host, "cs"))
            {
                return ConnectionType.SalesforceSandbox;
            }

            if (IsSalesforceProductionHost(host) || IsLegacyInstance(host, "na") || IsLegacyInstance(host, "eu") || IsLegacyInstance(host, "ap") || IsLegacyInstance(host, "um"))
            {
                return ConnectionType.SalesforceProduction;
            }

            return null;
        }

        private static bool IsSalesforceSandboxHost(string host) =>
            host == "test.salesforce.com" || (host.EndsWith(".sandbox.my.salesforce.com", StringComparison.Ordinal) && host.Contains("--"));

        private static bool IsSalesforceProductionHost(string host) =>
            host == "login.salesforce.com" || (host.EndsWith(".my.salesforce.com", StringComparison.Ordinal) && !host.EndsWith(".sandbox.my.salesforce.com", StringComparison.Ordinal));

        // Instances from before My Domain was enforced: na12.salesforce.com (production), cs42.salesforce.com (sandbox).
        private static bool IsLegacyInstance(string host, string prefix)
        {
            var labels = host.Split('.');
            return labels.Length == 3 && labels[1] == "salesforce" && labels[2] == "com" && labels[0].Length > prefix.Length &&
                labels[0].StartsWith(prefix, StringComparison.Ordinal) && labels[0].Substring(prefix.Length).All(char.IsDigit);
        }

        /// <summary>The audience of a Salesforce JWT bearer assertion: the login host of the org's kind, never the My Domain.</summary>
        public static string SalesforceAudience(ConnectionType type) =>
            type == ConnectionType.SalesforceSandbox ? SalesforceSandboxLogin : SalesforceProductionLogin;

        private static Uri Parse(string? value)
        {
            if (string.IsNullOrWhiteSpace(value) || !Uri.TryCreate(value!.Trim(), UriKind.Absolute, out var url) ||
                (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp) || !string.IsNullOrEmpty(url.UserInfo))
            {
                throw Invalid(value, $"'{value}' is not an absolute https:// URL.", "Give the org's or environment's URL, for example https://contoso.my.salesforce.com.");
            }

            if (url.Scheme == Uri.UriSchemeHttp && !PeerUrls.IsLoopback(url))
            {
                throw Invalid(value, $"'{url}' uses http; tokens would cross the network in clear text.", "Use https://.");
            }

            return url;
        }

        private static Uri Root(Uri url) => new Uri(url.GetLeftPart(UriPartial.Authority) + "/");

        private static ConnectionToolsException Invalid(string? value, string message, string fix) =>
            new ConnectionToolsException(ErrorIds.AuthorizationInvalidInstanceUrl, ErrorKind.InvalidArgument, message + " Nothing was sent.", value, fix);
    }
}
