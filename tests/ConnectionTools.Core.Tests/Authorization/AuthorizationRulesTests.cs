using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Core.Tests.Authorization;

public class AuthorizationRulesTests
{
    [Theory]
    [InlineData(EnvironmentType.Public, "login.microsoftonline.com")]
    [InlineData(EnvironmentType.GCC, "login.microsoftonline.com")]
    [InlineData(EnvironmentType.GCCHigh, "login.microsoftonline.us")]
    [InlineData(EnvironmentType.DoD, "login.microsoftonline.us")]
    [InlineData(EnvironmentType.China, "login.partner.microsoftonline.cn")]
    public void Each_cloud_signs_in_at_its_own_authority(EnvironmentType environment, string host)
    {
        Assert.Equal(new Uri($"https://{host}/contoso.onmicrosoft.com/"), CloudEndpoints.For(environment).Authority("contoso.onmicrosoft.com"));
    }

    [Theory]
    [InlineData("https://contoso.crm.dynamics.com", EnvironmentType.Public)]
    [InlineData("https://contoso.crm4.dynamics.com/main.aspx", EnvironmentType.Public)]
    [InlineData("https://agency.crm9.dynamics.com", EnvironmentType.GCC)]
    [InlineData("https://agency.crm.microsoftdynamics.us", EnvironmentType.GCCHigh)]
    [InlineData("https://agency.crm.appsplatform.us", EnvironmentType.DoD)]
    [InlineData("https://contoso.crm.dynamics.cn", EnvironmentType.China)]
    public void Environment_URLs_are_accepted_in_their_cloud_and_give_the_Dataverse_scope(string url, EnvironmentType environment)
    {
        var instance = InstanceUrls.ForDynamics(url, environment);

        Assert.Equal("/", instance.AbsolutePath);
        Assert.Equal($"https://{new Uri(url).Host}/.default", InstanceUrls.DataverseScope(instance));
    }

    [Theory]
    [InlineData("https://agency.crm9.dynamics.com", EnvironmentType.Public, "-EnvironmentType GCC")]
    [InlineData("https://agency.crm.microsoftdynamics.us", EnvironmentType.Public, "-EnvironmentType GCCHigh")]
    [InlineData("https://contoso.crm.dynamics.com", EnvironmentType.China, "-EnvironmentType Public")]
    public void A_URL_from_another_cloud_is_refused_with_the_right_environment_type(string url, EnvironmentType environment, string hint)
    {
        var error = Assert.Throws<ConnectionToolsException>(() => InstanceUrls.ForDynamics(url, environment));

        Assert.Equal(ErrorIds.AuthorizationInvalidInstanceUrl, error.ErrorId);
        Assert.Contains(hint, error.RecommendedAction);
        Assert.Contains("Nothing was sent", error.Message);
    }

    [Theory]
    [InlineData("http://contoso.crm.dynamics.com")]
    [InlineData("contoso.crm.dynamics.com")]
    [InlineData("https://user:pw@contoso.crm.dynamics.com")]
    [InlineData("https://contoso.example.com")]
    [InlineData("")]
    public void Unusable_Dynamics_URLs_are_refused(string url)
    {
        Assert.Equal(ErrorIds.AuthorizationInvalidInstanceUrl, Assert.Throws<ConnectionToolsException>(() => InstanceUrls.ForDynamics(url, EnvironmentType.Public)).ErrorId);
    }

    [Theory]
    [InlineData("https://login.salesforce.com", ConnectionType.SalesforceProduction)]
    [InlineData("https://contoso.my.salesforce.com", ConnectionType.SalesforceProduction)]
    [InlineData("https://test.salesforce.com", ConnectionType.SalesforceSandbox)]
    [InlineData("https://contoso--uat.sandbox.my.salesforce.com", ConnectionType.SalesforceSandbox)]
    [InlineData("http://127.0.0.1:5000", ConnectionType.SalesforceSandbox)]
    public void Salesforce_login_hosts_match_their_kind_of_org(string url, ConnectionType type)
    {
        Assert.Equal(new Uri(url).Host, InstanceUrls.ForSalesforce(url, type).Host);
    }

    [Theory]
    [InlineData("https://contoso--uat.sandbox.my.salesforce.com", ConnectionType.SalesforceProduction, "-Type SalesforceSandbox")]
    [InlineData("https://contoso.my.salesforce.com", ConnectionType.SalesforceSandbox, "-Type SalesforceProduction")]
    [InlineData("http://contoso.my.salesforce.com", ConnectionType.SalesforceProduction, "https")]
    public void A_Salesforce_host_of_the_other_kind_or_over_http_is_refused(string url, ConnectionType type, string hint)
    {
        var error = Assert.Throws<ConnectionToolsException>(() => InstanceUrls.ForSalesforce(url, type));

        Assert.Equal(ErrorIds.AuthorizationInvalidInstanceUrl, error.ErrorId);
        Assert.Contains(hint, error.Message + error.RecommendedAction, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_JWT_bearer_audience_is_the_login_host_of_the_org_s_kind()
    {
        Assert.Equal("https://login.salesforce.com", InstanceUrls.SalesforceAudience(ConnectionType.SalesforceProduction));
        Assert.Equal("https://test.salesforce.com", InstanceUrls.SalesforceAudience(ConnectionType.SalesforceSandbox));
    }

    [Theory]
    [InlineData("invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.", null, InactiveReason.Expired)]
    [InlineData("invalid_grant", "AADSTS50173: The provided grant has expired due to it being revoked.", null, InactiveReason.Revoked)]
    [InlineData("interaction_required", "AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.", null, InactiveReason.PolicyBlocked)]
    [InlineData("invalid_grant", "something else", 50173, InactiveReason.Revoked)]
    [InlineData("invalid_grant", "AADSTS65001: The user or administrator has not consented.", null, InactiveReason.ConsentRequired)]
    [InlineData("invalid_grant", "unknown", null, InactiveReason.Expired)]
    public void Entra_failures_map_to_one_reason(string error, string description, int? code, InactiveReason expected)
    {
        Assert.Equal(expected, AuthorizationFailures.ClassifyEntra(error, description, code is null ? null : new[] { code.Value }));
    }

    [Theory]
    [InlineData("invalid_grant", "expired access/refresh token", InactiveReason.Expired)]
    [InlineData("invalid_grant", "user hasn't approved this consumer", InactiveReason.ConsentRequired)]
    [InlineData("invalid_grant", "ip restricted or invalid login hours", InactiveReason.PolicyBlocked)]
    [InlineData("invalid_grant", "inactive user", InactiveReason.PolicyBlocked)]
    [InlineData("invalid_grant", "authentication failure", InactiveReason.Expired)]
    public void Salesforce_failures_map_to_one_reason(string error, string description, InactiveReason expected)
    {
        Assert.Equal(expected, AuthorizationFailures.ClassifySalesforce(error, description));
    }

    [Theory]
    [InlineData(InactiveReason.Expired, ErrorIds.AuthorizationExpired, "Update-ConnectionAuthorization -Name 'crm'")]
    [InlineData(InactiveReason.Revoked, ErrorIds.AuthorizationRevoked, "Update-ConnectionAuthorization -Name 'crm'")]
    [InlineData(InactiveReason.ConsentRequired, ErrorIds.AuthorizationConsentRequired, "consent")]
    [InlineData(InactiveReason.PolicyBlocked, ErrorIds.AuthorizationPolicyBlocked, "Sign in interactively")]
    [InlineData(InactiveReason.OrgChanged, ErrorIds.AuthorizationOrgChanged, "-AcceptNewOrganizationId")]
    public void Every_reason_s_error_names_the_command_that_fixes_it(InactiveReason reason, string errorId, string fix)
    {
        var error = AuthorizationFailures.ToError(reason, "crm", "invalid_grant");

        Assert.Equal(errorId, error.ErrorId);
        Assert.Equal(ErrorKind.AuthenticationError, error.Kind);
        Assert.Contains(fix, error.RecommendedAction);
    }
}
