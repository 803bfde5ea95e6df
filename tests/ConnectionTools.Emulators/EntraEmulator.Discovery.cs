using System.Net;
using Microsoft.AspNetCore.Http;

namespace ConnectionTools.Emulators;

/// <summary>One Dataverse environment as the Global Discovery Service lists it for a user.</summary>
public sealed record EmulatedEnvironment(string FriendlyName, string UniqueName, Uri Url, string Region = "NA", string Version = "9.2.25063.00178")
{
    /// <summary>The organization (instance) id; WhoAmI at the environment's host answers it. Made when not given.</summary>
    public Guid? OrganizationId { get; init; }

    /// <summary>The Power Platform environment id. Made when not given.</summary>
    public Guid? EnvironmentId { get; init; }

    /// <summary>0 enabled, 1 disabled.</summary>
    public int State { get; init; }
}

/// <summary>
/// The Global Discovery Service of each cloud (GET /api/discovery/v2.0/Instances at globaldisco.crm.dynamics.com,
/// globaldisco.crm9.dynamics.com, …): the environments each user can reach, in the published OData shape. A request needs a
/// valid, current bearer token issued for the discovery host it reached (401 otherwise, as the service answers a token for
/// another audience); an app's token, or a user the service refuses (no licence, Conditional Access), gets 403.
/// </summary>
public sealed partial class EntraEmulator
{
    private sealed record ListedEnvironment(EmulatedEnvironment Environment, Guid OrganizationId, Guid EnvironmentId);

    private readonly HashSet<string> _discoveryResources = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<ListedEnvironment>> _environmentsByUser = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _discoveryRefusals = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Serves the Global Discovery Service at these hosts (for example globaldisco.crm.dynamics.com): each is a resource tokens can be asked for.</summary>
    public void ServeDiscovery(params string[] hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        lock (StateGate)
        {
            foreach (var host in hosts)
            {
                _discoveryResources.Add("https://" + host);
                _resources.Add("https://" + host);
            }
        }
    }

    /// <summary>
    /// What the discovery service lists for <paramref name="username"/> from now on (replacing the list before). Each environment
    /// becomes a resource tokens can be asked for, and WhoAmI at its host answers its organization id. Returns the ids given or made.
    /// </summary>
    public IReadOnlyList<(Guid OrganizationId, Guid EnvironmentId)> SetEnvironments(string username, IEnumerable<EmulatedEnvironment> environments)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(username);
        ArgumentNullException.ThrowIfNull(environments);
        RegisterUser(username);
        var listed = environments.Select(e => new ListedEnvironment(e, e.OrganizationId ?? Guid.NewGuid(), e.EnvironmentId ?? Guid.NewGuid())).ToList();
        lock (StateGate)
        {
            foreach (var item in listed)
            {
                _resources.Add(item.Environment.Url.GetLeftPart(UriPartial.Authority));
                _organizationsByHost[item.Environment.Url.Host] = item.OrganizationId;
            }
            _environmentsByUser[username] = listed;
        }
        return listed.Select(l => (l.OrganizationId, l.EnvironmentId)).ToList();
    }

    /// <summary>The discovery service answers this user with <paramref name="status"/> (401 or 403) from now on; 0 serves them again.</summary>
    public void RefuseDiscovery(string username, int status = 403)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(username);
        lock (StateGate)
        {
            if (status == 0)
            {
                _discoveryRefusals.Remove(username);
            }
            else
            {
                _discoveryRefusals[username] = status;
            }
        }
    }

    /// <summary>How many times the discovery service answered 200.</summary>
    public int DiscoveryListings { get; private set; }

    private static bool IsDiscoveryPath(string path) => path.Equals("/api/discovery/v2.0/Instances", StringComparison.OrdinalIgnoreCase);

    private Task DiscoveryInstancesAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            return WriteJsonAsync(context, 405, new { error = new { code = "MethodNotAllowed", message = "The discovery service is read-only." } });
        }
        var token = BearerToken(context.Request);
        var requestHost = context.Request.Host.Host;
        string? user = null;
        bool valid;
        int refusal = 0;
        List<ListedEnvironment> listed = [];
        lock (StateGate)
        {
            valid = token is not null && _grants.AccessTokens.TryGetValue(token, out var a) && !a.Grant.Revoked && a.Grant.Expired is null &&
                a.ExpiresAt > DateTimeOffset.UtcNow && _discoveryResources.Contains(a.Resource.TrimEnd('/')) && IsAudienceHost(a.Resource, requestHost);
            if (valid)
            {
                user = _grants.AccessTokens[token!].Grant.Username;
                if (user is not null)
                {
                    refusal = _discoveryRefusals.GetValueOrDefault(user);
                    listed = _environmentsByUser.TryGetValue(user, out var own) ? [.. own] : [];
                }
            }
        }
        if (!valid)
        {
            context.Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", authorization_uri={Authority.AbsoluteUri}oauth2/authorize";
            return WriteJsonAsync(context, 401, new { error = new { code = "InvalidAuthenticationToken", message = "The access token is missing, expired or not issued for this audience." } });
        }
        if (user is null)
        {
            return WriteJsonAsync(context, 403, new { error = new { code = "Forbidden", message = "The Global Discovery Service lists the environments of a user; an application token has none." } });
        }
        if (refusal != 0)
        {
            return WriteJsonAsync(context, refusal, new { error = new { code = refusal == 401 ? "Unauthorized" : "Forbidden", message = $"User {user} is not allowed to discover instances (no Dataverse licence, or blocked by Conditional Access)." } });
        }
        var origin = OriginOf(context);
        lock (StateGate)
        {
            DiscoveryListings++;
        }
        return WriteJsonAsync(context, 200, new Dictionary<string, object?>
        {
            ["@odata.context"] = $"{origin}/api/discovery/v2.0/$metadata#Instances",
            ["value"] = listed.Select(l => new Dictionary<string, object?>
            {
                ["Id"] = l.OrganizationId.ToString("D"),
                ["UniqueName"] = l.Environment.UniqueName,
                ["UrlName"] = l.Environment.Url.Host.Split('.')[0],
                ["FriendlyName"] = l.Environment.FriendlyName,
                ["State"] = l.Environment.State,
                ["Version"] = l.Environment.Version,
                ["Url"] = l.Environment.Url.GetLeftPart(UriPartial.Authority),
                ["ApiUrl"] = l.Environment.Url.Scheme + "://" + ApiHost(l.Environment.Url.Host),
                ["LastUpdated"] = DateTimeOffset.UtcNow.AddDays(-3).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                ["SchemaType"] = "Full",
                ["TenantId"] = TenantId.ToString("D"),
                ["EnvironmentId"] = l.EnvironmentId.ToString("D"),
                ["DatacenterId"] = Guid.Empty.ToString("D"),
                ["DatacenterName"] = null,
                ["Region"] = l.Environment.Region,
                ["Purpose"] = "",
                ["IsUserSysAdmin"] = true,
                ["OrganizationType"] = 0,
                ["TrialExpirationDate"] = null,
            }).ToList(),
        });
    }

    // contoso.crm.dynamics.com -> contoso.api.crm.dynamics.com, as the service names each environment's Web API host.
    private static string ApiHost(string host)
    {
        var dot = host.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? host[..dot] + ".api" + host[dot..] : host;
    }
}
