using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Core.Tests.SystemConnections;

/// <summary>
/// SignInSpec, table-driven: which flow and credentials a sign-in uses for what was given now and what was stored, and
/// which New-Connection requests are refused before anything is sent. No network, no store, no certificate is loaded.
/// </summary>
public class SignInSpecTests
{
    private const string NodeApp = "node-consumer-key";
    private const string Pfx = "/certs/app.pfx";
    private static readonly Uri SalesforceOrg = new("https://contoso.my.salesforce.com/");
    private static readonly Uri Sandbox = new("https://contoso--uat.sandbox.my.salesforce.com/");

    /// <summary>One sign-in: the target, what was given and stored, and either the spec expected or the error id.</summary>
    public sealed record SpecRow(
        ConnectionType Type,
        EnvironmentType Cloud,
        CredentialParameters Given,
        GrantMaterial? Stored,
        AuthorizationFlow? Flow,
        string? ErrorId = null,
        string? ClientId = null,
        string? Username = null,
        string? TenantId = null,
        string? CertificatePath = null,
        string? CertificateThumbprint = null,
        string? ClientSecret = null);

    private static CredentialParameters Person(bool deviceCode = false) => new() { Interactive = true, UseDeviceCode = deviceCode };

    private static CredentialParameters Unattended() => new() { Interactive = false };

    private static readonly Dictionary<string, SpecRow> Rows = Build();

    private static Dictionary<string, SpecRow> Build()
    {
        var rows = new Dictionary<string, SpecRow>
        {
            // Salesforce, production and sandbox alike.
            ["Salesforce: nothing given signs a person in with the node's connected app"] =
                new(ConnectionType.SalesforceProduction, EnvironmentType.Public, Person(), null, AuthorizationFlow.Interactive, ClientId: NodeApp),
            ["Salesforce: -UseDeviceCode signs a person in on another device"] =
                new(ConnectionType.SalesforceSandbox, EnvironmentType.Public, Person(deviceCode: true), null, AuthorizationFlow.DeviceCode, ClientId: NodeApp),
            ["Salesforce: -ClientId names the connected app"] =
                new(ConnectionType.SalesforceProduction, EnvironmentType.Public, new CredentialParameters { Interactive = true, ClientId = "own-app" }, null, AuthorizationFlow.Interactive, ClientId: "own-app"),
            ["Salesforce production: a certificate file with app and user is the JWT bearer flow"] =
                new(ConnectionType.SalesforceProduction, EnvironmentType.Public, new CredentialParameters { ClientId = "own-app", Username = "ops@contoso.com", CertificatePath = Pfx },
                    null, AuthorizationFlow.JwtBearer, ClientId: "own-app", Username: "ops@contoso.com", CertificatePath: Path.GetFullPath(Pfx)),
            ["Salesforce sandbox: a certificate thumbprint with app and user is the JWT bearer flow"] =
                new(ConnectionType.SalesforceSandbox, EnvironmentType.Public, new CredentialParameters { ClientId = "own-app", Username = "ops@contoso.com.uat", CertificateThumbprint = "AB12" },
                    null, AuthorizationFlow.JwtBearer, ClientId: "own-app", Username: "ops@contoso.com.uat", CertificateThumbprint: "AB12"),
            ["Salesforce: a certificate without a user is refused"] =
                new(ConnectionType.SalesforceProduction, EnvironmentType.Public, new CredentialParameters { ClientId = "own-app", CertificatePath = Pfx }, null, null, ErrorIds.AuthorizationInvalidFlow),
            ["Salesforce: a client secret is refused (Dynamics 365 only)"] =
                new(ConnectionType.SalesforceProduction, EnvironmentType.Public, new CredentialParameters { ClientId = "own-app", ClientSecret = "s3cret" }, null, null, ErrorIds.AuthorizationInvalidFlow),
            ["Salesforce: a tenant is refused (Dynamics 365 only)"] =
                new(ConnectionType.SalesforceSandbox, EnvironmentType.Public, new CredentialParameters { Interactive = true, TenantId = "contoso.onmicrosoft.com" }, null, null, ErrorIds.AuthorizationInvalidFlow),
            ["Salesforce: a certificate file and a thumbprint together are refused"] =
                new(ConnectionType.SalesforceProduction, EnvironmentType.Public, new CredentialParameters { ClientId = "own-app", Username = "ops@contoso.com", CertificatePath = Pfx, CertificateThumbprint = "AB12" }, null, null, ErrorIds.AuthorizationInvalidFlow),
            ["Salesforce: a person's sign-in where no one can answer is refused"] =
                new(ConnectionType.SalesforceProduction, EnvironmentType.Public, Unattended(), null, null, ErrorIds.AuthorizationInteractionRequired),

            // Stored grants: what was given now wins, what was not comes from the grant.
            ["Salesforce stored JWT bearer: renewed unattended with the stored app, user and certificate"] =
                new(ConnectionType.SalesforceProduction, EnvironmentType.Public, Unattended(),
                    new GrantMaterial { Flow = AuthorizationFlow.JwtBearer, ClientId = "own-app", Username = "ops@contoso.com", CertificatePath = Pfx },
                    AuthorizationFlow.JwtBearer, ClientId: "own-app", Username: "ops@contoso.com", CertificatePath: Path.GetFullPath(Pfx)),
            ["Salesforce stored interactive grant: renewing needs a person"] =
                new(ConnectionType.SalesforceProduction, EnvironmentType.Public, Unattended(),
                    new GrantMaterial { Flow = AuthorizationFlow.Interactive, ClientId = "own-app" }, null, ErrorIds.AuthorizationInteractionRequired),
            ["Salesforce stored JWT bearer, a new user given: keeps the stored certificate"] =
                new(ConnectionType.SalesforceSandbox, EnvironmentType.Public, new CredentialParameters { Username = "other@contoso.com" },
                    new GrantMaterial { Flow = AuthorizationFlow.JwtBearer, ClientId = "own-app", Username = "ops@contoso.com", CertificateThumbprint = "AB12" },
                    AuthorizationFlow.JwtBearer, ClientId: "own-app", Username: "other@contoso.com", CertificateThumbprint: "AB12"),
            ["Dynamics 365 stored client secret, a new client id given: keeps the stored secret"] =
                new(ConnectionType.Dynamics365, EnvironmentType.Public, new CredentialParameters { ClientId = "new-app" },
                    new GrantMaterial { Flow = AuthorizationFlow.ClientSecret, ClientId = "old-app", TenantId = "contoso", ClientSecret = "s3cret" },
                    AuthorizationFlow.ClientSecret, ClientId: "new-app", TenantId: "contoso", ClientSecret: "s3cret"),
            ["Dynamics 365 stored client secret, -UseDeviceCode given: a person signs in instead"] =
                new(ConnectionType.Dynamics365, EnvironmentType.Public, Person(deviceCode: true),
                    new GrantMaterial { Flow = AuthorizationFlow.ClientSecret, ClientId = "old-app", TenantId = "contoso", ClientSecret = "s3cret" },
                    AuthorizationFlow.DeviceCode, ClientId: "old-app", TenantId: "contoso"),

            // Dynamics 365 rules that hold in every cloud are below, once per cloud.
            ["Dynamics 365: a client secret without a tenant is refused"] =
                new(ConnectionType.Dynamics365, EnvironmentType.Public, new CredentialParameters { ClientId = "app", ClientSecret = "s3cret" }, null, null, ErrorIds.AuthorizationInvalidFlow),
            ["Dynamics 365: a client secret and a certificate together are refused"] =
                new(ConnectionType.Dynamics365, EnvironmentType.Public, new CredentialParameters { ClientId = "app", TenantId = "contoso", ClientSecret = "s3cret", CertificatePath = Pfx }, null, null, ErrorIds.AuthorizationInvalidFlow),
            ["Dynamics 365: a client secret with -UseDeviceCode is refused"] =
                new(ConnectionType.Dynamics365, EnvironmentType.Public, new CredentialParameters { Interactive = true, UseDeviceCode = true, ClientId = "app", TenantId = "contoso", ClientSecret = "s3cret" }, null, null, ErrorIds.AuthorizationInvalidFlow),
        };

        foreach (var cloud in Enum.GetValues<EnvironmentType>())
        {
            rows[$"Dynamics 365 {cloud}: app, tenant and secret are client credentials"] =
                new(ConnectionType.Dynamics365, cloud, new CredentialParameters { ClientId = "app", TenantId = "contoso", ClientSecret = "s3cret" }, null, AuthorizationFlow.ClientSecret, ClientId: "app", TenantId: "contoso", ClientSecret: "s3cret");
            rows[$"Dynamics 365 {cloud}: app, tenant and certificate are certificate credentials"] =
                new(ConnectionType.Dynamics365, cloud, new CredentialParameters { ClientId = "app", TenantId = "contoso", CertificateThumbprint = "AB12" }, null, AuthorizationFlow.ClientCertificate, ClientId: "app", TenantId: "contoso", CertificateThumbprint: "AB12");
            rows[$"Dynamics 365 {cloud}: nothing given signs a person in, without Salesforce's connected app"] =
                new(ConnectionType.Dynamics365, cloud, Person(), null, AuthorizationFlow.Interactive);
            rows[$"Dynamics 365 {cloud}: a person's sign-in where no one can answer is refused"] =
                new(ConnectionType.Dynamics365, cloud, Unattended(), null, null, ErrorIds.AuthorizationInteractionRequired);
        }

        return rows;
    }

    public static TheoryData<string> SpecCases() => new(Rows.Keys);

    [Theory]
    [MemberData(nameof(SpecCases))]
    public void The_spec_follows_what_was_given_and_stored(string name)
    {
        var row = Rows[name];
        var instance = row.Type == ConnectionType.Dynamics365 ? new Uri("https://contoso.example/") : row.Type == ConnectionType.SalesforceSandbox ? Sandbox : SalesforceOrg;
        var target = new SystemTarget(row.Type, row.Cloud, instance);

        if (row.ErrorId != null)
        {
            var error = Assert.Throws<ConnectionToolsException>(() => SignInSpec.Build(target, row.Given, row.Stored, "crm", NodeApp));
            Assert.Equal(row.ErrorId, error.ErrorId);
            Assert.Equal("crm", error.Target);
            return;
        }

        var spec = SignInSpec.Build(target, row.Given, row.Stored, "crm", NodeApp);
        Assert.Equal(
            (row.Flow, row.ClientId, row.Username, row.TenantId, row.CertificatePath, row.CertificateThumbprint, row.ClientSecret),
            (spec.Flow, spec.ClientId, spec.Username, spec.TenantId, spec.CertificatePath, spec.CertificateThumbprint, spec.ClientSecret));
        Assert.Equal((row.Type, row.Cloud, instance, row.Given.Interactive), (spec.Type, spec.EnvironmentType, spec.InstanceUrl, spec.CanInteract));
        Assert.Null(spec.Certificate);
    }

    /// <summary>One New-Connection request: its type, cloud and URL, and either what they parse to or the error id.</summary>
    public sealed record RequestRow(string? Type, string? Cloud, string Url, bool Agreed, ConnectionType? ParsedType, EnvironmentType? ParsedCloud, string? ErrorId = null);

    private static readonly Dictionary<string, RequestRow> Requests = new()
    {
        ["SalesforceProduction at a My Domain"] = new("SalesforceProduction", null, "https://contoso.my.salesforce.com", true, ConnectionType.SalesforceProduction, null),
        ["SalesforceSandbox at test.salesforce.com, type in any case"] = new("salesforcesandbox", null, "https://test.salesforce.com", true, ConnectionType.SalesforceSandbox, null),
        ["Dynamics365 without a cloud is Public"] = new("Dynamics365", null, "https://contoso.crm4.dynamics.com", true, ConnectionType.Dynamics365, EnvironmentType.Public),
        ["Dynamics365 GCC"] = new("Dynamics365", "GCC", "https://contoso.crm9.dynamics.com", true, ConnectionType.Dynamics365, EnvironmentType.GCC),
        ["Dynamics365 GCCHigh, cloud in any case and padded"] = new("Dynamics365", " gcchigh ", "https://contoso.crm.microsoftdynamics.us", true, ConnectionType.Dynamics365, EnvironmentType.GCCHigh),
        ["Dynamics365 DoD"] = new("Dynamics365", "DoD", "https://contoso.crm.appsplatform.us", true, ConnectionType.Dynamics365, EnvironmentType.DoD),
        ["Dynamics365 China"] = new("Dynamics365", "China", "https://contoso.crm.dynamics.cn", true, ConnectionType.Dynamics365, EnvironmentType.China),
        ["Without the agreement"] = new("SalesforceProduction", null, "https://contoso.my.salesforce.com", false, null, null, ErrorIds.AuthorizationAgreementRequired),
        ["Private is not a system connection type"] = new("Private", null, "https://contoso.my.salesforce.com", true, null, null, ErrorIds.AuthorizationInvalidFlow),
        ["An unknown type"] = new("Dataverse", null, "https://contoso.crm.dynamics.com", true, null, null, ErrorIds.AuthorizationInvalidFlow),
        ["No type"] = new(null, null, "https://contoso.crm.dynamics.com", true, null, null, ErrorIds.AuthorizationInvalidFlow),
        ["A cloud for Salesforce"] = new("SalesforceProduction", "Public", "https://contoso.my.salesforce.com", true, null, null, ErrorIds.AuthorizationInvalidEnvironmentType),
        ["An unknown cloud"] = new("Dynamics365", "Azure", "https://contoso.crm.dynamics.com", true, null, null, ErrorIds.AuthorizationInvalidEnvironmentType),
        ["A Dynamics 365 URL of another cloud"] = new("Dynamics365", "GCC", "https://contoso.crm.dynamics.com", true, null, null, ErrorIds.AuthorizationInvalidInstanceUrl),
        ["A sandbox URL for production"] = new("SalesforceProduction", null, "https://test.salesforce.com", true, null, null, ErrorIds.AuthorizationInvalidInstanceUrl),
        ["An http URL"] = new("SalesforceProduction", null, "http://contoso.my.salesforce.com", true, null, null, ErrorIds.AuthorizationInvalidInstanceUrl),
    };

    public static TheoryData<string> RequestCases() => new(Requests.Keys);

    [Theory]
    [MemberData(nameof(RequestCases))]
    public void A_request_is_checked_before_anything_is_sent(string name)
    {
        var row = Requests[name];
        var request = new NewConnectionRequest { Name = "crm", Type = row.Type, EnvironmentType = row.Cloud, InstanceUrl = row.Url, AcceptDataProcessingAgreement = row.Agreed };

        if (row.ErrorId != null)
        {
            Assert.Equal(row.ErrorId, Assert.Throws<ConnectionToolsException>(() => SignInSpec.Validate(request)).ErrorId);
            return;
        }

        var (validName, _, type, environment, instance, target) = SignInSpec.Validate(request);
        Assert.Equal(("crm", row.ParsedType, row.ParsedCloud), (validName, (ConnectionType?)type, environment));
        Assert.Equal(new Uri(row.Url.TrimEnd('/') + "/"), instance);
        Assert.Equal((type, environment ?? EnvironmentType.Public, instance), (target.Type, target.EnvironmentType, target.InstanceUrl));
    }
}
