using System.Text;
using ConnectionTools.Authorization.Salesforce;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Tests;

/// <summary>Bad input fails before any network call; provider answers map to typed errors; nothing secret leaks.</summary>
public sealed class SalesforceFailureTests
{
    private readonly SalesforceAuthorizer _authorizer = new();

    private static async Task<ConnectionToolsException> Fails(Func<Task> call, string errorId)
    {
        var e = await Assert.ThrowsAsync<ConnectionToolsException>(call);
        Assert.Equal(errorId, e.ErrorId);
        Assert.False(string.IsNullOrWhiteSpace(e.RecommendedAction));
        return e;
    }

    [Theory]
    [InlineData(AuthorizationFlow.Interactive)]
    [InlineData(AuthorizationFlow.DeviceCode)]
    public async Task Interactive_flows_without_a_person_fail_at_once_naming_the_unattended_alternative(AuthorizationFlow flow)
    {
        await using var org = await SalesforceOrg.StartAsync();
        var e = await Fails(() => _authorizer.AuthorizeAsync(org.Spec(flow, canInteract: false), org.Context(), CancellationToken.None),
            ErrorIds.AuthorizationInteractionRequired);
        Assert.Contains("-ClientId", e.RecommendedAction, StringComparison.Ordinal);
        Assert.Contains("-Username", e.RecommendedAction, StringComparison.Ordinal);
        Assert.Contains("-CertificatePath", e.RecommendedAction, StringComparison.Ordinal);
        Assert.Empty(org.Opened);
        Assert.Equal(0, org.Emulator.RequestCount);
    }

    [Theory]
    [InlineData(AuthorizationFlow.ClientSecret)]
    [InlineData(AuthorizationFlow.ClientCertificate)]
    public async Task Entra_only_flows_are_an_invalid_flow(AuthorizationFlow flow)
    {
        await using var org = await SalesforceOrg.StartAsync();
        await Fails(() => _authorizer.AuthorizeAsync(org.Spec(flow), org.Context(), CancellationToken.None), ErrorIds.AuthorizationInvalidFlow);
        await Fails(() => _authorizer.RefreshAsync(org.Target, new GrantMaterial { Flow = flow, ClientId = "x" }, org.Context(), CancellationToken.None), ErrorIds.AuthorizationInvalidFlow);
        Assert.Equal(0, org.Emulator.RequestCount);
    }

    [Fact]
    public async Task Bad_certificates_fail_before_any_network_call()
    {
        await using var org = await SalesforceOrg.StartAsync();
        var missing = org.Spec(AuthorizationFlow.JwtBearer);
        missing.CertificatePath = Path.Combine(SalesforceCertificates.Directory, "nope.pfx");
        var e = await Fails(() => _authorizer.AuthorizeAsync(missing, org.Context(), CancellationToken.None), ErrorIds.AuthorizationCertificateNotFound);
        Assert.Contains("nope.pfx", e.Message, StringComparison.Ordinal);

        var noKey = org.Spec(AuthorizationFlow.JwtBearer);
        noKey.CertificatePath = SalesforceCertificates.CerPath;
        noKey.CertificatePassword = null;
        e = await Fails(() => _authorizer.AuthorizeAsync(noKey, org.Context(), CancellationToken.None), ErrorIds.AuthorizationCertificateNoPrivateKey);
        Assert.Contains("private key", e.Message, StringComparison.Ordinal);

        var loadedNoKey = org.Spec(AuthorizationFlow.JwtBearer);
        using var publicOnly = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(SalesforceCertificates.Certificate.RawData);
        loadedNoKey.Certificate = publicOnly;
        await Fails(() => _authorizer.AuthorizeAsync(loadedNoKey, org.Context(), CancellationToken.None), ErrorIds.AuthorizationCertificateNoPrivateKey);

        var wrongPassword = org.Spec(AuthorizationFlow.JwtBearer);
        wrongPassword.CertificatePassword = "Wrong-Password-991";
        e = await Fails(() => _authorizer.AuthorizeAsync(wrongPassword, org.Context(), CancellationToken.None), ErrorIds.AuthorizationCertificatePassword);
        Assert.DoesNotContain("Wrong-Password-991", e.ToString(), StringComparison.Ordinal);
        Assert.Contains("wrong", e.Message, StringComparison.Ordinal);

        var noPassword = org.Spec(AuthorizationFlow.JwtBearer);
        noPassword.CertificatePassword = null;
        e = await Fails(() => _authorizer.AuthorizeAsync(noPassword, org.Context(), CancellationToken.None), ErrorIds.AuthorizationCertificatePassword);
        Assert.Contains("-CertificatePassword", e.RecommendedAction, StringComparison.Ordinal);

        // Refresh reloads the certificate from the stored path: the same checks, still before any call.
        var grant = new GrantMaterial { Flow = AuthorizationFlow.JwtBearer, ClientId = SalesforceOrg.ConsumerKey, Username = SalesforceOrg.Username, CertificatePath = missing.CertificatePath };
        await Fails(() => _authorizer.RefreshAsync(org.Target, grant, org.Context(), CancellationToken.None), ErrorIds.AuthorizationCertificateNotFound);
        Assert.Equal(0, org.Emulator.RequestCount);
    }

    [Fact]
    public void CertificateLoader_reads_the_pfx_and_explains_what_is_wrong_otherwise()
    {
        using var loaded = CertificateLoader.FromFile(SalesforceCertificates.PfxPath, SalesforceCertificates.PfxPassword);
        Assert.Equal(SalesforceCertificates.Certificate.Thumbprint, loaded.Thumbprint);
        Assert.True(loaded.HasPrivateKey);

        var notThumbprint = Assert.Throws<ConnectionToolsException>(() => CertificateLoader.FromStore("not-a-thumbprint"));
        Assert.Equal(ErrorIds.AuthorizationCertificateNotFound, notThumbprint.ErrorId);
        var absent = Assert.Throws<ConnectionToolsException>(() => CertificateLoader.FromStore("\u200e00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33"));
        Assert.Equal(ErrorIds.AuthorizationCertificateNotFound, absent.ErrorId);
        Assert.Contains("00112233445566778899AABBCCDDEEFF00112233", absent.Message, StringComparison.Ordinal);
        var nothing = Assert.Throws<ConnectionToolsException>(() => CertificateLoader.Load(null, null, null));
        Assert.Equal(ErrorIds.AuthorizationCertificateNotFound, nothing.ErrorId);

        var garbage = Path.Combine(SalesforceCertificates.Directory, "garbage.pfx");
        File.WriteAllText(garbage, "not a certificate");
        var unreadable = Assert.Throws<ConnectionToolsException>(() => CertificateLoader.FromFile(garbage, "Secret-Garbage-Pass"));
        Assert.DoesNotContain("Secret-Garbage-Pass", unreadable.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Interactive_sign_in_times_out_when_no_one_completes_it()
    {
        await using var org = await SalesforceOrg.StartAsync();
        var context = org.Context();
        context.OpenBrowser = (_, _) => Task.CompletedTask;
        context.InteractionTimeout = TimeSpan.FromMilliseconds(400);
        await Fails(() => _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.Interactive), context, CancellationToken.None), ErrorIds.AuthorizationTimedOut);
        Assert.Equal(0, org.Emulator.RequestCount);
    }

    [Fact]
    public async Task Device_code_sign_in_times_out_when_no_one_approves_it()
    {
        await using var org = await SalesforceOrg.StartAsync();
        var context = org.Context();
        context.InteractionTimeout = TimeSpan.FromSeconds(2.5);
        await Fails(() => _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.DeviceCode), context, CancellationToken.None), ErrorIds.AuthorizationTimedOut);
        Assert.Contains(org.Emulator.Requests, r => r.GrantType == "device");
        Assert.DoesNotContain(org.Emulator.Requests, r => r.StatusCode == 200 && r.GrantType == "device");
    }

    [Fact]
    public async Task Declining_in_the_browser_or_on_the_device_is_Declined()
    {
        await using var org = await SalesforceOrg.StartAsync();
        org.Emulator.DeclineAuthorization = true;
        await Fails(() => _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.Interactive), org.Context(), CancellationToken.None), ErrorIds.AuthorizationDeclined);

        var context = org.Context((message, _) =>
        {
            var userCode = System.Text.RegularExpressions.Regex.Match(message, "code ([A-Z0-9]{8})").Groups[1].Value;
            Assert.True(org.Emulator.DenyDeviceCode(userCode));
        });
        await Fails(() => _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.DeviceCode), context, CancellationToken.None), ErrorIds.AuthorizationDeclined);
    }

    [Fact]
    public async Task An_unknown_consumer_key_is_an_invalid_client_not_an_inactive_reason()
    {
        await using var org = await SalesforceOrg.StartAsync();
        var outcome = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.DeviceCode), org.DeviceContext(), CancellationToken.None);
        outcome.Grant.ClientId = "3MVG9unknown";
        var e = await Fails(() => _authorizer.RefreshAsync(org.Target, outcome.Grant, org.Context(), CancellationToken.None), ErrorIds.AuthorizationInvalidClient);
        Assert.Contains("invalid_client_id", e.Message, StringComparison.Ordinal);

        var device = org.Spec(AuthorizationFlow.DeviceCode);
        device.ClientId = "3MVG9unknown";
        await Fails(() => _authorizer.AuthorizeAsync(device, org.Context(), CancellationToken.None), ErrorIds.AuthorizationInvalidClient);

        var noClient = org.Spec(AuthorizationFlow.Interactive);
        noClient.ClientId = null;
        var before = org.Emulator.RequestCount;
        await Fails(() => _authorizer.AuthorizeAsync(noClient, org.Context(), CancellationToken.None), ErrorIds.AuthorizationInvalidClient);
        Assert.Equal(before, org.Emulator.RequestCount);
    }

    [Fact]
    public async Task A_wrong_host_is_visible_as_a_protocol_error_and_an_unreachable_provider_as_unavailable()
    {
        await using var org = await SalesforceOrg.StartAsync();
        org.Emulator.ExpectedHost = "someone-else.my.salesforce.com";
        var e = await Fails(() => _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.JwtBearer), org.Context(), CancellationToken.None), ErrorIds.AuthorizationProtocol);
        Assert.Contains("421", e.Message, StringComparison.Ordinal);

        var unrouted = org.Spec(AuthorizationFlow.JwtBearer);
        unrouted.InstanceUrl = new Uri("https://elsewhere.my.salesforce.com/");
        var context = org.Context();
        context.RequestTimeout = TimeSpan.FromSeconds(2);
        await Fails(() => _authorizer.AuthorizeAsync(unrouted, context, CancellationToken.None), ErrorIds.AuthorizationProviderUnavailable);
    }

    [Fact]
    public async Task Cancellation_is_honoured()
    {
        await using var org = await SalesforceOrg.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var context = org.Context();
        context.OpenBrowser = (_, _) => Task.CompletedTask;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.Interactive), context, cts.Token));
        using var cts2 = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.DeviceCode), org.Context(), cts2.Token));
    }

    [Fact]
    public async Task No_token_assertion_verifier_code_or_password_appears_in_any_message_or_verbose_line()
    {
        await using var org = await SalesforceOrg.StartAsync();
        var texts = new List<string>();
        async Task Capture(Func<Task> call)
        {
            try
            {
                await call();
            }
            catch (Exception e)
            {
                texts.Add(e.ToString());
                if (e is ConnectionToolsException c)
                {
                    texts.Add(c.RecommendedAction ?? "");
                    texts.Add(c.Target?.ToString() ?? "");
                }
            }
        }

        var interactive = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.Interactive), org.Context(), CancellationToken.None);
        var device = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.DeviceCode), org.DeviceContext(), CancellationToken.None);
        var jwt = await _authorizer.AuthorizeAsync(org.Spec(AuthorizationFlow.JwtBearer), org.Context(), CancellationToken.None);
        await _authorizer.RefreshAsync(org.Target, interactive.Grant, org.Context(), CancellationToken.None);
        await _authorizer.RefreshAsync(org.Target, jwt.Grant, org.Context(), CancellationToken.None);
        await _authorizer.RevokeAsync(org.Target, interactive.Grant, org.Context(), CancellationToken.None);
        await Capture(() => _authorizer.RefreshAsync(org.Target, interactive.Grant, org.Context(), CancellationToken.None));
        await Capture(() => _authorizer.RevokeAsync(org.Target, interactive.Grant, org.Context(), CancellationToken.None));
        org.Emulator.ExpireTokens();
        await Capture(() => _authorizer.RefreshAsync(org.Target, device.Grant, org.Context(), CancellationToken.None));
        var wrong = org.Spec(AuthorizationFlow.JwtBearer);
        wrong.CertificatePassword = "Another-Secret-Pass-1";
        await Capture(() => _authorizer.AuthorizeAsync(wrong, org.Context(), CancellationToken.None));
        var badAudience = org.Spec(AuthorizationFlow.JwtBearer);
        badAudience.Type = ConnectionType.SalesforceSandbox;
        await Capture(() => _authorizer.AuthorizeAsync(badAudience, org.Context(), CancellationToken.None));

        texts.AddRange(org.Verbose);
        texts.Add(_authorizer.ToString()!);
        texts.Add(interactive.Grant.ToString()!);
        texts.Add(interactive.ToString()!);
        Assert.True(texts.Count > 15);

        var secrets = org.Recorder.Secrets().Concat([SalesforceCertificates.PfxPassword, "Another-Secret-Pass-1",
            interactive.AccessToken, interactive.Grant.RefreshToken!, device.AccessToken, device.Grant.RefreshToken!, jwt.AccessToken]).ToList();
        Assert.Contains(secrets, s => s.StartsWith("eyJ", StringComparison.Ordinal)); // the assertions were harvested
        Assert.True(secrets.Count >= 12, string.Join(", ", secrets.Count));
        var haystack = Encoding.UTF8.GetBytes(string.Join("\n", texts));
        foreach (var secret in secrets)
        {
            // Also any 16-character window of it, so a clipped or embedded copy is caught as well.
            var probe = secret.Length > 16 ? secret[^16..] : secret;
            Assert.True(haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, "a secret leaked");
            Assert.True(haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(probe)) < 0, "part of a secret leaked");
        }
    }
}

/// <summary>Answers no emulator gives: a server error and bodies that are not what Salesforce sends.</summary>
public sealed class SalesforceOddAnswerTests
{
    private sealed class Stub(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public int Calls { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Calls++;
            return Task.FromResult(answer(request));
        }
    }

    private static AuthorizationSpec Jwt() => new()
    {
        Type = ConnectionType.SalesforceProduction,
        InstanceUrl = new Uri("https://contoso.my.salesforce.com/"),
        Flow = AuthorizationFlow.JwtBearer,
        ClientId = SalesforceOrg.ConsumerKey,
        Username = SalesforceOrg.Username,
        Certificate = SalesforceCertificates.Certificate,
    };

    private static async Task<ConnectionToolsException> Run(Func<HttpRequestMessage, HttpResponseMessage> answer)
    {
        using var stub = new Stub(answer);
        using var http = new HttpClient(stub);
        var e = await Assert.ThrowsAsync<ConnectionToolsException>(() => new SalesforceAuthorizer().AuthorizeAsync(Jwt(), new AuthorizationContext(http), CancellationToken.None));
        return e;
    }

    private static HttpResponseMessage Answer(System.Net.HttpStatusCode status, string body, string type = "application/json") =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, type) };

    [Fact]
    public async Task A_server_error_is_ProviderUnavailable_never_a_refusal()
    {
        var e = await Run(_ => Answer(System.Net.HttpStatusCode.InternalServerError, "<html>oops</html>", "text/html"));
        Assert.Equal(ErrorIds.AuthorizationProviderUnavailable, e.ErrorId);
    }

    [Theory]
    [InlineData(200, "<html>maintenance</html>")]
    [InlineData(200, "[]")]
    [InlineData(200, "{\"token_type\":\"Bearer\"}")]
    [InlineData(400, "{\"error\":\"unsupported_grant_type\",\"error_description\":\"grant type not supported\"}")]
    [InlineData(404, "not found")]
    public async Task Unexpected_token_answers_are_protocol_errors(int status, string body)
    {
        var e = await Run(_ => Answer((System.Net.HttpStatusCode)status, body));
        Assert.Equal(ErrorIds.AuthorizationProtocol, e.ErrorId);
        Assert.Contains("contoso.my.salesforce.com", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_userinfo_without_an_org_id_or_a_foreign_instance_url_is_a_protocol_error()
    {
        var e = await Run(r => r.RequestUri!.AbsolutePath.EndsWith("/token", StringComparison.Ordinal)
            ? Answer(System.Net.HttpStatusCode.OK, "{\"access_token\":\"00D!abcdefghijklmnop\",\"instance_url\":\"https://contoso.my.salesforce.com\"}")
            : Answer(System.Net.HttpStatusCode.OK, "{\"preferred_username\":\"a@b.c\"}"));
        Assert.Equal(ErrorIds.AuthorizationProtocol, e.ErrorId);
        Assert.DoesNotContain("abcdefghijklmnop", e.ToString(), StringComparison.Ordinal);

        e = await Run(_ => Answer(System.Net.HttpStatusCode.OK, "{\"access_token\":\"00D!abcdefghijklmnop\",\"instance_url\":\"http://evil.example\"}"));
        Assert.Equal(ErrorIds.AuthorizationProtocol, e.ErrorId);
    }
}
