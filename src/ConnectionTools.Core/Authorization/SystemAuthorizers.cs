using System;
using ConnectionTools.Connections;

namespace ConnectionTools.Authorization
{
    /// <summary>Which provider implementation serves each system connection type.</summary>
    public static class SystemAuthorizers
    {
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
