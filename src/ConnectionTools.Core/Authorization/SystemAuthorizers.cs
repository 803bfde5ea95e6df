using System;
using System.Net.Http;
using ConnectionTools.Connections;

namespace ConnectionTools.Authorization
{
    /// <summary>Which provider implementation serves each system connection type.</summary>
    public static class SystemAuthorizers
    {
        /// <summary>One HttpClient for the process: it pools connections and holds no per-call state. Each call sets its own timeout.</summary>
        public static readonly HttpClient SharedHttp = new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };

        public static ISystemAuthorizer For(ConnectionType type)
        {
            switch (type)
            {
                case ConnectionType.SalesforceProduction:
                case ConnectionType.SalesforceSandbox:
                    return Salesforce;
                case ConnectionType.Dynamics365:
                    return Dynamics;
                default:
                    throw new ArgumentOutOfRangeException(nameof(type), type, "Not a system connection type.");
            }
        }

        private static readonly ISystemAuthorizer Salesforce = new Salesforce.SalesforceAuthorizer();

        private static readonly ISystemAuthorizer Dynamics = new Entra.EntraAuthorizer();

    }
}
