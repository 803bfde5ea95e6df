using System.Collections.Generic;

namespace ConnectionTools.Connections
{
    public enum ConnectionType
    {
        SalesforceProduction,
        SalesforceSandbox,
        Dynamics365,

        /// <summary>A connection to a peer node.</summary>
        Private,
    }

    /// <summary>The kinds of connection that reach a system (an org or environment) with an OAuth grant and a retrieval job.</summary>
    public static class SystemConnectionTypes
    {
        public static readonly IReadOnlyList<ConnectionType> All = new[]
        {
            ConnectionType.SalesforceProduction,
            ConnectionType.SalesforceSandbox,
            ConnectionType.Dynamics365,
        };
    }
}
