using ConnectionTools.Authorization.Entra;
using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Emulators;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// New-Connection for Dynamics 365 without -InstanceUrl, end to end: a real browser sign-in through MSAL at the Entra ID
/// emulator (under the cloud's real host names), the cloud's Global Discovery Service, the choice, the silent token for the
/// chosen environment, WhoAmI, and the real store. Every failure: its own error id, nothing stored, no audit entry.
/// </summary>
public sealed class ChooseEnvironmentTests
{
    private static readonly EmulatedEnvironment Sales = new("Contoso Sales", "contoso", new Uri("https://contoso.crm.dynamics.com/"), "NA");
    private static readonly EmulatedEnvironment Finance = new("Contoso Finance", "contosofin", new Uri("https://contoso-fin.crm4.dynamics.com/"), "EMEA");
    private static readonly EmulatedEnvironment Dev = new("Contoso Dev", "contosodev", new Uri("https://contoso-dev.crm.dynamics.com/"), "NA");

    /// <summary>A Public-cloud rig whose user reaches <paramref name="environments"/>, and a node whose HTTP and browser are the rig's.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        private Setup(EntraRig rig, TestStore store, IReadOnlyList<(Guid OrganizationId, Guid EnvironmentId)> ids)
        {
            Rig = rig;
            Store = store;
            Ids = ids;
        }

        public EntraRig Rig { get; }

        public TestStore Store { get; }

        public IReadOnlyList<(Guid OrganizationId, Guid EnvironmentId)> Ids { get; }

        public ChoosingHost Host { get; } = new();

        public static async Task<Setup> StartAsync(EnvironmentType cloud, params EmulatedEnvironment[] environments)
        {
            var rig = await EntraRig.StartAsync(cloud);
            var discovery = CloudEndpoints.For(cloud).DiscoveryHost;
            rig.Router.Route(discovery, rig.Emulator);
            foreach (var environment in environments)
            {
                rig.Router.Route(environment.Url.Host, rig.Emulator);
            }

            rig.Emulator.ServeDiscovery(discovery);
            var ids = rig.Emulator.SetEnvironments(EntraRig.User, environments);
            var store = new TestStore(clients: new Nodes.NodeClients { ProviderHttp = rig.Http, OpenBrowser = rig.Context.OpenBrowser });
            return new Setup(rig, store, ids);
        }

        public SystemConnectionCommands Commands => new(Store.Node, Host);

        public void AssertNothingStored(string name)
        {
            Assert.Null(Store.Store.FindByName(name));
            Assert.Equal(0, Store.Store.AuditCount());
        }

        public async ValueTask DisposeAsync()
        {
            Store.Dispose();
            await Rig.DisposeAsync();
        }
    }

    private static NewConnectionRequest Request(string? environmentName = null, EnvironmentType? cloud = null, bool canChoose = true) => new()
    {
        Name = "d365",
        Type = "Dynamics365",
        EnvironmentType = cloud?.ToString(),
        EnvironmentName = environmentName,
        AcceptDataProcessingAgreement = true,
        Interactive = true,
        CanChoose = canChoose,
    };

    public static TheoryData<EnvironmentType> AllClouds => new(Enum.GetValues<EnvironmentType>());

    [Theory]
    [MemberData(nameof(AllClouds))]
    public async Task One_environment_is_used_and_verbose_says_which_in_every_cloud(EnvironmentType cloud)
    {
        var only = new EmulatedEnvironment("Contoso", "contoso", new Uri($"https://{EntraRig.EnvironmentHosts[cloud]}/"), "GOV");
        await using var setup = await Setup.StartAsync(cloud, only);

        setup.Commands.New(Request(cloud: cloud));

        var created = Assert.Single(setup.Host.Recorder.OutputOf<Connection>());
        Assert.Equal((only.Url.AbsoluteUri, setup.Ids[0].OrganizationId.ToString("D"), EntraRig.User, cloud), (created.InstanceUrl, created.OrganizationId, created.AuthorizedAs, created.EnvironmentType));
        Assert.Equal(created, setup.Store.Get("d365"));
        Assert.Empty(setup.Host.Prompts);
        Assert.Contains(setup.Host.Recorder.Verbose, v => v.Contains("can reach one environment", StringComparison.Ordinal) && v.Contains(only.Url.AbsoluteUri, StringComparison.Ordinal));
        Assert.Equal(1, setup.Rig.BrowserOpened); // one sign-in: the environment's token came from the same one
        Assert.Contains(setup.Rig.Router.Sent, u => u.Host == CloudEndpoints.For(cloud).DiscoveryHost && u.AbsolutePath == "/api/discovery/v2.0/Instances");
        foreach (var line in setup.Host.Recorder.Verbose)
        {
            EntraRig.AssertNoSecrets(line);
        }

        // The stored grant works for the chosen environment, without a prompt.
        setup.Commands.Test(null, new TestAuthorizationRequest());
        Assert.Equal(AuthorizationState.Valid, Assert.Single(setup.Host.Recorder.OutputOf<AuthorizationResult>()).Result);
    }

    [Fact]
    public async Task Several_environments_are_offered_at_the_choice_prompt_with_name_url_and_region()
    {
        await using var setup = await Setup.StartAsync(EnvironmentType.Public, Sales, Finance, Dev);
        setup.Host.Answer = 1; // sorted by friendly name: Dev, Finance, Sales

        setup.Commands.New(Request());

        var prompt = Assert.Single(setup.Host.Prompts);
        Assert.Equal(["&1 Contoso Dev", "&2 Contoso Finance", "&3 Contoso Sales"], prompt.Choices.Select(c => c.Key));
        foreach (var environment in new[] { Sales, Finance, Dev })
        {
            Assert.Contains($"{environment.FriendlyName}  {environment.Url.AbsoluteUri}  {environment.Region}", prompt.Message, StringComparison.Ordinal);
        }

        var created = Assert.Single(setup.Host.Recorder.OutputOf<Connection>());
        Assert.Equal((Finance.Url.AbsoluteUri, setup.Ids[1].OrganizationId.ToString("D")), (created.InstanceUrl, created.OrganizationId));
    }

    [Theory]
    [InlineData("Contoso Finance")]
    [InlineData("contosofin")]
    [InlineData("https://contoso-fin.crm4.dynamics.com")]
    [InlineData("*fin*")]
    public async Task EnvironmentName_chooses_without_a_prompt(string name)
    {
        await using var setup = await Setup.StartAsync(EnvironmentType.Public, Sales, Finance, Dev);

        setup.Commands.New(Request(name, canChoose: false));

        Assert.Empty(setup.Host.Prompts);
        Assert.Equal(Finance.Url.AbsoluteUri, Assert.Single(setup.Host.Recorder.OutputOf<Connection>()).InstanceUrl);
    }

    [Fact]
    public async Task A_disabled_environment_is_left_out_of_the_choice()
    {
        await using var setup = await Setup.StartAsync(EnvironmentType.Public, Sales, Finance with { State = 1 });

        setup.Commands.New(Request());

        Assert.Empty(setup.Host.Prompts);
        Assert.Equal(Sales.Url.AbsoluteUri, Assert.Single(setup.Host.Recorder.OutputOf<Connection>()).InstanceUrl);
        Assert.Contains(setup.Host.Recorder.Verbose, v => v.StartsWith("Leaving out Contoso Finance", StringComparison.Ordinal));
    }

    public static TheoryData<string, string?, bool, EmulatedEnvironment[]> Failures => new()
    {
        { ErrorIds.EnvironmentChoiceRequired, null, false, [Sales, Finance] },
        { ErrorIds.EnvironmentNotFound, "Contoso Marketing", true, [Sales, Finance] },
        { ErrorIds.EnvironmentAmbiguous, "Contoso*", true, [Sales, Finance] },
        { ErrorIds.EnvironmentNoneFound, null, true, [] },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Each_way_the_choice_fails_has_its_id_names_the_fix_and_stores_nothing(string errorId, string? name, bool canChoose, EmulatedEnvironment[] environments)
    {
        await using var setup = await Setup.StartAsync(EnvironmentType.Public, environments);

        var error = Assert.Throws<ConnectionToolsException>(() => setup.Commands.New(Request(name, canChoose: canChoose)));

        Assert.Equal(errorId, error.ErrorId);
        Assert.Contains("Nothing was stored", error.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(error.RecommendedAction));
        foreach (var environment in errorId == ErrorIds.EnvironmentNoneFound ? [] : environments)
        {
            Assert.Contains(environment.Url.AbsoluteUri, error.Message, StringComparison.Ordinal); // the error lists them
        }

        if (errorId == ErrorIds.EnvironmentNoneFound)
        {
            Assert.Contains(EntraRig.User, error.Message, StringComparison.Ordinal);
            Assert.Contains("Public cloud", error.Message, StringComparison.Ordinal);
        }

        if (errorId == ErrorIds.EnvironmentChoiceRequired)
        {
            Assert.Contains("-EnvironmentName", error.RecommendedAction, StringComparison.Ordinal);
        }

        Assert.Empty(setup.Host.Prompts);
        Assert.Contains(setup.Host.Recorder.Verbose, v => v.Contains("was not stored", StringComparison.Ordinal)); // the grant was discarded
        setup.AssertNothingStored("d365");
        EntraRig.AssertNoSecrets(error.Message);
    }

    [Theory]
    [InlineData(403)]
    [InlineData(401)]
    public async Task A_discovery_service_that_refuses_the_account_is_its_own_error_and_stores_nothing(int status)
    {
        await using var setup = await Setup.StartAsync(EnvironmentType.Public, Sales);
        setup.Rig.Emulator.RefuseDiscovery(EntraRig.User, status);

        var error = Assert.Throws<ConnectionToolsException>(() => setup.Commands.New(Request()));

        Assert.Equal(ErrorIds.EnvironmentDiscoveryRefused, error.ErrorId);
        Assert.Contains($"HTTP {status}", error.Message, StringComparison.Ordinal);
        Assert.Contains("-InstanceUrl", error.RecommendedAction, StringComparison.Ordinal);
        setup.AssertNothingStored("d365");
    }

    [Fact]
    public async Task The_discovery_service_refuses_a_token_for_another_audience_with_401()
    {
        await using var setup = await Setup.StartAsync(EnvironmentType.Public, Sales);
        var signedIn = await setup.Rig.AuthorizeAsync(setup.Rig.Spec(AuthorizationFlow.DeviceCode)); // a Dataverse token

        using var request = new HttpRequestMessage(HttpMethod.Get, "https://globaldisco.crm.dynamics.com/api/discovery/v2.0/Instances");
        request.Headers.Authorization = new("Bearer", signedIn.AccessToken);
        using var response = await setup.Rig.Http.SendAsync(request);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_discovery_service_answers_401_without_a_token_and_403_to_an_apps_token()
    {
        await using var setup = await Setup.StartAsync(EnvironmentType.Public, Sales);
        const string instances = "https://globaldisco.crm.dynamics.com/api/discovery/v2.0/Instances";

        using (var anonymous = await setup.Rig.Http.GetAsync(instances))
        {
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.StartsWith("Bearer", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        using var token = await setup.Rig.Http.PostAsync(setup.Rig.Emulator.TokenEndpoint.AbsoluteUri.Replace(setup.Rig.Emulator.BaseUri.GetLeftPart(UriPartial.Authority), "https://login.microsoftonline.com", StringComparison.Ordinal),
            new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = EntraRig.ConfidentialClient,
                ["client_secret"] = EntraRig.Secret,
                ["scope"] = "https://globaldisco.crm.dynamics.com/.default",
            }));
        Assert.Equal(System.Net.HttpStatusCode.OK, token.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await token.Content.ReadAsStringAsync());
        using var request = new HttpRequestMessage(HttpMethod.Get, instances);
        request.Headers.Authorization = new("Bearer", json.RootElement.GetProperty("access_token").GetString());
        using var app = await setup.Rig.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, app.StatusCode);
    }

    [Fact]
    public async Task Client_credentials_still_need_InstanceUrl_and_say_so_before_anything_is_sent()
    {
        await using var setup = await Setup.StartAsync(EnvironmentType.Public, Sales);
        var request = Request();
        request.TenantId = setup.Rig.Tenant;
        request.ClientId = EntraRig.ConfidentialClient;
        request.ClientSecret = EntraRig.Secret;

        var error = Assert.Throws<ConnectionToolsException>(() => setup.Commands.New(request));

        Assert.Equal(ErrorIds.AuthorizationInstanceUrlRequired, error.ErrorId);
        Assert.Contains("-InstanceUrl", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Empty(setup.Rig.Router.Sent);
        setup.AssertNothingStored("d365");
    }

    [Fact]
    public async Task Find_lists_what_the_sign_in_reaches_and_stores_nothing()
    {
        await using var setup = await Setup.StartAsync(EnvironmentType.Public, Sales, Finance);

        setup.Commands.FindEnvironments(new FindEnvironmentRequest { Type = "Dynamics365", Interactive = true });

        var found = setup.Host.Recorder.OutputOf<DiscoveredEnvironment>().ToList();
        Assert.Equal([Finance.Url.AbsoluteUri, Sales.Url.AbsoluteUri], found.Select(e => e.Url));
        Assert.Equal(setup.Ids[0].EnvironmentId.ToString("D"), found[1].EnvironmentId);
        Assert.Equal(("Contoso Sales", "contoso", "NA", EntraRig.User), (found[1].FriendlyName, found[1].UniqueName, found[1].Region, found[1].AuthorizedAs));
        Assert.False(string.IsNullOrEmpty(found[1].Version));
        setup.AssertNothingStored("d365");
    }

    [Fact]
    public async Task Find_refuses_a_Salesforce_type_and_a_client_secret_before_anything_is_sent()
    {
        await using var setup = await Setup.StartAsync(EnvironmentType.Public, Sales);

        var salesforce = Assert.Throws<ConnectionToolsException>(() => setup.Commands.FindEnvironments(new FindEnvironmentRequest { Type = "SalesforceProduction", Interactive = true }));
        var app = Assert.Throws<ConnectionToolsException>(() => setup.Commands.FindEnvironments(new FindEnvironmentRequest
        {
            TenantId = setup.Rig.Tenant,
            ClientId = EntraRig.ConfidentialClient,
            ClientSecret = EntraRig.Secret,
            Interactive = true,
        }));

        Assert.Equal((ErrorIds.EnvironmentNotApplicable, ErrorIds.AuthorizationInstanceUrlRequired), (salesforce.ErrorId, app.ErrorId));
        Assert.Empty(setup.Rig.Router.Sent);
    }

    /// <summary>The recording host, plus PowerShell's choice prompt: records what it was asked and answers <see cref="Answer"/>.</summary>
    internal sealed class ChoosingHost : IHostContext, IChoicePrompt
    {
        public RecordingHost Recorder { get; } = new();

        public List<(string Caption, string Message, IReadOnlyList<KeyValuePair<string, string>> Choices)> Prompts { get; } = [];

        public int Answer { get; set; }

        public CancellationToken CancellationToken => Recorder.CancellationToken;

        public int PromptForChoice(string caption, string message, IReadOnlyList<KeyValuePair<string, string>> choices, int defaultChoice)
        {
            Prompts.Add((caption, message, choices));
            return Answer;
        }

        public void WriteObject(object value) => Recorder.WriteObject(value);

        public void WriteError(ConnectionToolsException error) => Recorder.WriteError(error);

        public void WriteWarning(string message) => Recorder.WriteWarning(message);

        public void WriteVerbose(string message) => Recorder.WriteVerbose(message);

        public void WriteProgress(ProgressInfo progress) => Recorder.WriteProgress(progress);

        public bool ShouldProcess(string target, string action) => Recorder.ShouldProcess(target, action);
    }
}
