using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Core.Tests;

/// <summary>Set-Connection -DefaultCustomer: the customer Dataverse incidents made from partner cases are created under.</summary>
public sealed class DefaultCustomerTests : IDisposable
{
    private const string Account = "accounts(00000000-0000-0000-0000-0000000000a1)";

    private readonly TestStore _store = new();
    private readonly RecordingHost _host = new();

    public void Dispose() => _store.Dispose();

    private void Set(string name, string customer) =>
        _store.Commands(_host).Set(new[] { ConnectionTarget.ByName(name) }, new ConnectionEdit { DefaultCustomer = customer }, passThru: false);

    [Fact]
    public void A_Dynamics_365_connection_keeps_its_default_customer_written_as_the_Web_API_binds_it_and_an_empty_value_clears_it()
    {
        var d365 = _store.Add("d365", ConnectionStatus.Active, ConnectionType.Dynamics365);

        Set("d365", " Accounts(00000000-0000-0000-0000-0000000000A1) ");

        Assert.Empty(_host.Errors);
        Assert.Equal(Account, _store.Get("d365").DefaultCustomer);
        Assert.Contains("Default customer: none -> " + Account, _store.Store.History(d365.Id).Last().Summary, StringComparison.Ordinal);

        Set("d365", "");
        Assert.Null(_store.Get("d365").DefaultCustomer);
    }

    [Theory]
    [InlineData("d365", "accounts(not-a-guid)")]
    [InlineData("d365", "leads(00000000-0000-0000-0000-0000000000a1)")]
    [InlineData("sf", Account)]
    public void Anything_else_is_refused_with_its_error_id_and_nothing_changes(string name, string customer)
    {
        _store.Add("d365", ConnectionStatus.Active, ConnectionType.Dynamics365);
        _store.Add("sf", ConnectionStatus.Active, ConnectionType.SalesforceProduction);
        var before = _store.Get(name);

        Set(name, customer);

        Assert.Equal(ErrorIds.ConnectionInvalidDefaultCustomer, Assert.Single(_host.Errors).ErrorId);
        Assert.Equal(before, _store.Get(name));
    }
}
