using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Nodes;
using ConnectionTools.SystemConnections;
using ConnectionTools.Testing;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// A node whose Salesforce connection "sf" holds a real grant from the emulated org (interactive sign-in), and private
/// connections bound to it: what the apply and check tests start from.
/// </summary>
internal sealed class BoundSalesforce : IAsyncDisposable
{
    private BoundSalesforce(SalesforceOrg org, TestStore store, Connection system)
    {
        Org = org;
        Store = store;
        System = system;
    }

    public SalesforceOrg Org { get; }

    public TestStore Store { get; }

    public Connection System { get; }

    public static async Task<BoundSalesforce> StartAsync()
    {
        var org = await SalesforceOrg.StartAsync();
        var store = new TestStore(clients: org.NodeClients());
        store.Store.SetNodeSetting(ConnectionNode.SalesforceRedirectSetting, "0/OauthRedirect", "tester");
        new SystemConnectionCommands(store.Node, new RecordingHost()).New(org.InteractiveConnection("sf"));
        return new BoundSalesforce(org, store, store.Get("sf"));
    }

    /// <summary>A private connection, Active, bound to "sf".</summary>
    public Connection Bind(string name)
    {
        var partner = Seeding.Add(Store.Store, name, ConnectionType.Private, ConnectionStatus.Active, InactiveReason.Revoked, "tester");
        return Seeding.Bind(Store.Store, partner.Id, System.Id);
    }

    public async ValueTask DisposeAsync()
    {
        Store.Dispose();
        await Org.DisposeAsync();
    }
}
