using ConnectionTools.Connections;
using ConnectionTools.Nodes;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>The writer of a bound system's kind, with the node's settings for it.</summary>
    internal static class CaseWriters
    {
        /// <summary>
        /// The node setting naming the customer Dataverse cases created from partner cases get ("accounts(guid)" or
        /// "contacts(guid)"): incident requires one. No cmdlet sets it yet; without it a new case fails with NoDefaultCustomer.
        /// </summary>
        public const string DataverseDefaultCustomerSetting = "dataverse_default_customer";

        public static ICaseWriter For(ConnectionNode node, SystemAccess access) => access.Target.Type == ConnectionType.Dynamics365
            ? new DataverseCaseWriter(node.Providers.Http, access.Target.InstanceUrl, access.AccessTokenAsync, access.RequestTimeout,
                defaultCustomer: node.Store.GetNodeSetting(DataverseDefaultCustomerSetting))
            : new SalesforceCaseWriter(node.Providers.Http, access.ApiUrl, access.AccessTokenAsync, access.RequestTimeout);
    }
}
