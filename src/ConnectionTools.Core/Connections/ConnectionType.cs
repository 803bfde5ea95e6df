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
}
