using System.Runtime.InteropServices;
using ConnectionTools.Authorization;
using ConnectionTools.Configuration;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Core.Tests.Configuration;

/// <summary>
/// A plan never promises what the apply cannot do: every check that needs no network runs while planning, so Test and
/// -WhatIf name the connections that would fail, with the error the apply would give. Runs the real system-connection engine,
/// whose checks all fail before any network call.
/// </summary>
public sealed class PlanChecksTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly string _secretVariable = "CT_TEST_SECRET_" + Guid.NewGuid().ToString("N");

    public PlanChecksTests()
    {
        Environment.SetEnvironmentVariable(_secretVariable, "a-client-secret");
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_secretVariable, null);
        _store.Dispose();
    }

    private string Configuration => $"""
        apiVersion: connectiontools/v1
        name: contoso
        connections:
          - name: sf-prod
            type: SalesforceProduction
            instanceUrl: https://contoso.my.salesforce.com
            authorization:
              flow: JwtBearer
              clientId: 3MVG9-consumer-key
              username: integration@contoso.com
              certificatePath: certs/missing.pfx
          - name: sf-uat
            type: SalesforceSandbox
            instanceUrl: https://contoso--uat.sandbox.my.salesforce.com
            authorization:
              flow: JwtBearer
              clientId: 3MVG9-consumer-key
              username: integration@contoso.com.uat
              certificateThumbprint: 0123456789ABCDEF0123456789ABCDEF01234567
          - name: crm-gov
            type: Dynamics365
            instanceUrl: https://contoso.crm.microsoftdynamics.us
            environmentType: GCCHigh
            authorization:
              flow: ClientSecret
              clientId: 11111111-2222-3333-4444-555555555555
              tenantId: contoso.onmicrosoft.us
              clientSecret: env:{_secretVariable}
          - name: partner-fabrikam
            type: Private
            side: Public
            localInstanceName: contoso-public
            invitationCodePath: codes/partner-fabrikam.txt
        """;

    private string Write(string yaml, string name = "contoso.yaml")
    {
        var path = Path.Combine(_store.Folder, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    private ConfigurationCommands Commands(RecordingHost host) =>
        new(_store.Node, host, new ConfigurationServices { SystemConnections = new SystemConnectionActions(_store.Node) });

    [Fact]
    public void Test_names_the_connections_that_would_fail_and_why()
    {
        var host = new RecordingHost();
        Commands(host).Test(Write(Configuration));

        var results = host.OutputOf<ConnectionTestResult>().ToDictionary(r => r.Name);
        Assert.Empty(host.Errors);
        Assert.Equal(ErrorIds.AuthorizationCertificateNotFound, results["sf-prod"].ErrorId);
        Assert.Contains("missing.pfx", results["sf-prod"].Note, StringComparison.Ordinal);
        Assert.Equal(ErrorIds.AuthorizationCertificateNotFound, results["sf-uat"].ErrorId);
        Assert.Contains("0123456789ABCDEF0123456789ABCDEF01234567", results["sf-uat"].Note, StringComparison.Ordinal);
        Assert.Equal(ErrorIds.NodeNoPublicUrl, results["partner-fabrikam"].ErrorId);
        Assert.Contains("partner-fabrikam", results["partner-fabrikam"].Note, StringComparison.Ordinal);

        // The one that can only fail on the network is planned as a creation.
        Assert.Null(results["crm-gov"].ErrorId);
        Assert.Equal(PlanAction.Create, results["crm-gov"].PlannedAction);
        Assert.All(results.Values, r => Assert.False(r.InDesiredState));
    }

    [Fact]
    public void WhatIf_reports_each_connection_that_would_fail_with_the_error_the_apply_gives()
    {
        var path = Write(Configuration);
        var whatIf = new RecordingHost { Proceed = false };
        Commands(whatIf).Invoke(path, prune: false);

        Assert.Equal(
            new[] { ErrorIds.AuthorizationCertificateNotFound, ErrorIds.AuthorizationCertificateNotFound, ErrorIds.NodeNoPublicUrl },
            whatIf.Errors.Select(e => e.ErrorId));
        Assert.Equal(
            new[] { ApplyOutcome.Failed, ApplyOutcome.Failed, ApplyOutcome.Skipped, ApplyOutcome.Failed },
            whatIf.OutputOf<ConnectionApplyResult>().Select(r => r.Outcome));
        Assert.All(whatIf.Errors, e => Assert.StartsWith(path + ":", e.Message, StringComparison.Ordinal));

        // Asked only about the one it could do; nothing was written.
        Assert.Equal("Connection 'crm-gov' (Dynamics365, not on this node)", Assert.Single(whatIf.ShouldProcessCalls).Target);
        Assert.Empty(_store.Store.List(new Storage.ConnectionFilter { IncludeRemoved = true }));
        Assert.False(Directory.Exists(Path.Combine(_store.Folder, "codes")));
    }

    [Fact]
    public void With_a_public_url_the_invitation_is_planned_and_created()
    {
        new NodeCommands(_store.Node, new RecordingHost()).SetPublicUrl("https://node.contoso.example/", passThru: false);
        var host = new RecordingHost();
        Commands(host).Test(Write(Configuration));

        var result = host.OutputOf<ConnectionTestResult>().Single(r => r.Name == "partner-fabrikam");
        Assert.Null(result.ErrorId);
        Assert.Equal(PlanAction.Create, result.PlannedAction);
    }

    [Fact]
    public void An_expired_invitation_code_is_refused_in_the_plan_without_a_request()
    {
        var clock = DateTimeOffset.UtcNow;
        using var publicNode = new TestStore();
        new NodeCommands(publicNode.Node, new RecordingHost()).SetPublicUrl("http://127.0.0.1:9/", passThru: false);
        var issued = new RecordingHost();
        new InvitationCommands(publicNode.Node, issued).New(new NewPrivateConnectionRequest { Name = "from-contoso", LocalInstanceName = "contoso", InvitationLifetime = TimeSpan.FromMinutes(15) });
        using var late = new TestStore(() => clock.AddHours(1));
        File.WriteAllText(Path.Combine(late.Folder, "code.txt"), issued.OutputOf<PrivateConnectionInvitation>().Single().InvitationCode + "\n");
        var path = Path.Combine(late.Folder, "accept.yaml");
        File.WriteAllText(path, """
            apiVersion: connectiontools/v1
            connections:
              - name: from-contoso
                type: Private
                side: Private
                localInstanceName: fabrikam
                invitationCode: file:code.txt
            """);

        var host = new RecordingHost();
        new ConfigurationCommands(late.Node, host).Test(path);

        var result = Assert.Single(host.OutputOf<ConnectionTestResult>());
        Assert.Equal(ErrorIds.InvitationExpired, result.ErrorId);
        Assert.Equal(PlanAction.Accept, result.PlannedAction);
        Assert.DoesNotContain("CT1-", result.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_not_in_the_store_gets_the_fix_for_this_platform()
    {
        var error = Assert.Throws<ConnectionToolsException>(() => CertificateLoader.FromStore("0123456789ABCDEF0123456789ABCDEF01234567"));

        Assert.Equal(ErrorIds.AuthorizationCertificateNotFound, error.ErrorId);
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            Assert.Contains("Import-PfxCertificate", error.RecommendedAction, StringComparison.Ordinal);
        }
        else
        {
            // No Cert: drive and no Import-PfxCertificate in PowerShell on Linux or macOS.
            Assert.DoesNotContain("Cert:\\", error.Message + error.RecommendedAction, StringComparison.Ordinal);
            Assert.DoesNotContain("Import-PfxCertificate", error.RecommendedAction, StringComparison.Ordinal);
            Assert.Contains("X509Store", error.RecommendedAction, StringComparison.Ordinal);
            Assert.Contains("certificatePath", error.RecommendedAction, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_Windows_fix_names_the_Cert_drive_and_Import_PfxCertificate()
    {
        var windows = CertificateLoader.ThumbprintNotFound("0123456789ABCDEF0123456789ABCDEF01234567", windows: true);
        var elsewhere = CertificateLoader.ThumbprintNotFound("0123456789ABCDEF0123456789ABCDEF01234567", windows: false);

        Assert.Contains("Cert:\\CurrentUser\\My", windows.Message, StringComparison.Ordinal);
        Assert.Contains("Import-PfxCertificate", windows.RecommendedAction, StringComparison.Ordinal);
        Assert.DoesNotContain("Import-PfxCertificate", elsewhere.RecommendedAction, StringComparison.Ordinal);
    }
}
