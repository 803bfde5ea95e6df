using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using ConnectionTools.Emulators;
using ConnectionTools.Jobs.Retrieval;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// One provider's case source against its emulator, reached through <see cref="ProviderHostRouter"/> at the org's real host
/// (contoso.my.salesforce.com, contoso.crm.dynamics.com). Access tokens come from the emulator's token endpoint; a forced
/// refresh asks for a new one (refresh_token for Salesforce, client_credentials for Entra ID) and is counted.
/// </summary>
internal sealed class RetrievalRig : IAsyncDisposable
{
    public const string SalesforceHost = "contoso.my.salesforce.com";
    public const string DataverseHost = "contoso.crm.dynamics.com";
    public static readonly DateTimeOffset Start = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);

    private const string ConsumerKey = "3MVG9retrieval.key";
    private const string Username = "integration@contoso.com";
    private const string EntraClient = "44444444-4444-4444-4444-444444444444";
    private const string EntraSecret = "retrieval~secret";
    private readonly List<string> _issued = [];
    private string _token = "";
    private string _refreshToken = "";
    private int _refreshes;

    private RetrievalRig(string provider, EmulatorHost emulator, ProviderHostRouter router)
    {
        Provider = provider;
        Emulator = emulator;
        Router = router;
        Http = new HttpClient(router) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public string Provider { get; }

    public EmulatorHost Emulator { get; }

    public ProviderHostRouter Router { get; }

    public HttpClient Http { get; }

    public bool IsSalesforce => Provider == "Salesforce";

    public Uri OrgUrl => new(IsSalesforce ? $"https://{SalesforceHost}/" : $"https://{DataverseHost}/");

    /// <summary>How many times the source asked for a forced refresh.</summary>
    public int Refreshes => Volatile.Read(ref _refreshes);

    /// <summary>Every access token the rig handed out.</summary>
    public IReadOnlyList<string> IssuedTokens { get { lock (_issued) { return [.. _issued]; } } }

    /// <summary>Replaces what a forced refresh returns (default: a new token from the emulator).</summary>
    public Func<Task<string>>? RefreshOverride { get; set; }

    public static async Task<RetrievalRig> StartAsync(string provider, int seed = 4242)
    {
        if (provider == "Salesforce")
        {
            var sf = await SalesforceEmulator.StartNewAsync(seed: seed);
            sf.RegisterConnectedApp(ConsumerKey, "secret");
            sf.RegisterUser(Username);
            var rig = new RetrievalRig(provider, sf, new ProviderHostRouter(sf).Route(SalesforceHost, sf));
            await rig.SignInAsync();
            return rig;
        }

        var entra = await EntraEmulator.StartNewAsync(seed: seed);
        entra.RegisterResource("https://" + DataverseHost);
        entra.RegisterClient(EntraClient, EntraSecret);
        var dv = new RetrievalRig(provider, entra, new ProviderHostRouter(entra).Route(DataverseHost, entra));
        await dv.SignInAsync();
        return dv;
    }

    public ICaseSource Source(TimeSpan? timeout = null) => IsSalesforce
        ? new SalesforceCaseSource(Http, OrgUrl, AccessTokenAsync, timeout ?? TimeSpan.FromSeconds(10))
        : new DataverseCaseSource(Http, OrgUrl, AccessTokenAsync, timeout ?? TimeSpan.FromSeconds(10));

    /// <summary>The rig's token source, as a case source or writer takes it.</summary>
    public Func<bool, CancellationToken, Task<string>> AccessToken => AccessTokenAsync;

    public void AddCases(int count, DateTimeOffset start, TimeSpan step)
    {
        if (Emulator is SalesforceEmulator sf) { sf.AddCases(count, start, step); } else { ((EntraEmulator)Emulator).AddCases(count, start, step); }
    }

    public int? FailOnPage
    {
        set
        {
            if (Emulator is SalesforceEmulator sf) { sf.FailOnPage = value; } else { ((EntraEmulator)Emulator).FailOnPage = value; }
        }
    }

    public void ExpireAccessTokens()
    {
        if (Emulator is SalesforceEmulator sf) { sf.ExpireAccessTokens(); } else { ((EntraEmulator)Emulator).ExpireAccessTokens(); }
    }

    public string CaseId(int number) => IsSalesforce ? SalesforceEmulator.CaseId(number) : EntraEmulator.CaseId(number);

    public void TouchCase(string id, DateTimeOffset at)
    {
        if (Emulator is SalesforceEmulator sf) { sf.TouchCase(id, at); } else { ((EntraEmulator)Emulator).TouchCase(id, at); }
    }

    /// <summary>Requests the API answered 401.</summary>
    public int Unauthorized => Emulator.Requests.Count(r => r.StatusCode == 401);

    /// <summary>The ModifiedAt the emulator gave case <paramref name="number"/> of one AddCases call starting at <paramref name="start"/>.</summary>
    public static DateTimeOffset ExpectedModifiedAt(int number, DateTimeOffset start, TimeSpan step)
    {
        var k = number - 1;
        return start + (step * (k - (k / 4)));
    }

    private async Task<string> AccessTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        if (forceRefresh)
        {
            Interlocked.Increment(ref _refreshes);
            _token = RefreshOverride is { } over ? await over() : await NewTokenAsync();
            lock (_issued) { _issued.Add(_token); }
        }
        return _token;
    }

    private async Task SignInAsync()
    {
        if (Emulator is SalesforceEmulator sf)
        {
            const string Redirect = "http://127.0.0.1:7777/callback";
            var verifier = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            var challenge = Convert.ToBase64String(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            var code = sf.CreateAuthorizationCode(ConsumerKey, Redirect, Username, challenge);
            var body = await PostAsync(sf.TokenEndpoint, ("grant_type", "authorization_code"), ("code", code), ("client_id", ConsumerKey),
                ("redirect_uri", Redirect), ("code_verifier", verifier));
            _token = body.GetProperty("access_token").GetString()!;
            _refreshToken = body.GetProperty("refresh_token").GetString()!;
        }
        else
        {
            _token = await NewTokenAsync();
        }
        lock (_issued) { _issued.Add(_token); }
    }

    private async Task<string> NewTokenAsync()
    {
        var body = Emulator is SalesforceEmulator sf
            ? await PostAsync(sf.TokenEndpoint, ("grant_type", "refresh_token"), ("client_id", ConsumerKey), ("refresh_token", _refreshToken))
            : await PostAsync(((EntraEmulator)Emulator).TokenEndpoint, ("grant_type", "client_credentials"), ("client_id", EntraClient),
                ("client_secret", EntraSecret), ("scope", $"https://{DataverseHost}/.default"));
        return body.GetProperty("access_token").GetString()!;
    }

    private async Task<JsonElement> PostAsync(Uri uri, params (string Key, string Value)[] form)
    {
        using var content = new FormUrlEncodedContent(form.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));
        using var response = await Http.PostAsync(uri, content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Emulator.DisposeAsync();
    }
}

/// <summary>What a run delivered to onPage, page by page.</summary>
internal sealed class PageLog
{
    public List<IReadOnlyList<CaseRecord>> Pages { get; } = [];

    public IEnumerable<CaseRecord> Records => Pages.SelectMany(p => p);

    /// <summary>Called after each page is recorded (the page's 1-based number).</summary>
    public Action<int>? AfterPage { get; set; }

    public Task OnPage(IReadOnlyList<CaseRecord> page, CancellationToken cancellationToken)
    {
        Pages.Add(page);
        AfterPage?.Invoke(Pages.Count);
        return Task.CompletedTask;
    }
}
