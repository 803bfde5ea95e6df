using ConnectionTools.Connections;
using ConnectionTools.Nodes;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>The writer of a bound system's kind, with the system connection's settings for it.</summary>
    internal static class CaseWriters
    {
        public static ICaseWriter For(ConnectionNode node, SystemAccess access) => access.Target.Type == ConnectionType.Dynamics365
            ? new DataverseCaseWriter(node.Providers.Http, access.Target.InstanceUrl, access.AccessTokenAsync, access.RequestTimeout,
                defaultCustomer: access.Connection.DefaultCustomer)
            : new SalesforceCaseWriter(node.Providers.Http, access.ApiUrl, access.AccessTokenAsync, access.RequestTimeout);
    }
}
