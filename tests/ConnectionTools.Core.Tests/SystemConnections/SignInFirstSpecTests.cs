using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Core.Tests.SystemConnections;

/// <summary>New-Connection without -InstanceUrl (issue #19): where each sign-in starts, and which hosts are of which kind of Salesforce org.</summary>
public sealed class SignInFirstSpecTests
{
    [Theory]
    [InlineData("Dynamics365", null, "https://globaldisco.crm.dynamics.com/")]
    [InlineData("Dynamics365", "GCC", "https://globaldisco.crm9.dynamics.com/")]
    [InlineData("Dynamics365", "GCCHigh", "https://globaldisco.crm.microsoftdynamics.us/")]
    [InlineData("Dynamics365", "DoD", "https://globaldisco.crm.appsplatform.us/")]
    [InlineData("Dynamics365", "China", "https://globaldisco.crm.dynamics.cn/")]
    [InlineData("SalesforceProduction", null, "https://login.salesforce.com/")]
    [InlineData("SalesforceSandbox", null, "https://test.salesforce.com/")]
    public void Without_InstanceUrl_the_sign_in_starts_at_the_login_host_or_the_clouds_discovery_service(string type, string? cloud, string expected)
    {
        var request = new NewConnectionRequest { Name = "c", Type = type, EnvironmentType = cloud, AcceptDataProcessingAgreement = true };

        var (_, _, _, _, instance, target, discover) = SignInSpec.ValidateRequest(request);

        Assert.True(discover);
        Assert.Equal((expected, expected), (instance.AbsoluteUri, target.InstanceUrl.AbsoluteUri));
    }

    [Theory]
    [InlineData("Dynamics365", "https://contoso.crm.dynamics.com")]
    [InlineData("SalesforceProduction", null)]
    public void EnvironmentName_goes_only_with_Dynamics_365_without_InstanceUrl(string type, string? url)
    {
        var request = new NewConnectionRequest { Name = "c", Type = type, InstanceUrl = url, EnvironmentName = "Contoso", AcceptDataProcessingAgreement = true };

        Assert.Equal(ErrorIds.EnvironmentNotApplicable, Assert.Throws<ConnectionToolsException>(() => SignInSpec.ValidateRequest(request)).ErrorId);
    }

    [Theory]
    [InlineData("contoso.my.salesforce.com", ConnectionType.SalesforceProduction)]
    [InlineData("login.salesforce.com", ConnectionType.SalesforceProduction)]
    [InlineData("na139.salesforce.com", ConnectionType.SalesforceProduction)]
    [InlineData("contoso--uat.sandbox.my.salesforce.com", ConnectionType.SalesforceSandbox)]
    [InlineData("test.salesforce.com", ConnectionType.SalesforceSandbox)]
    [InlineData("cs42.salesforce.com", ConnectionType.SalesforceSandbox)]
    [InlineData("contoso.example.com", null)]
    [InlineData("csx.salesforce.com", null)]
    public void A_Salesforce_host_tells_the_kind_of_org_or_nothing(string host, ConnectionType? kind)
    {
        Assert.Equal(kind, InstanceUrls.SalesforceKindOf(host));
    }
}
