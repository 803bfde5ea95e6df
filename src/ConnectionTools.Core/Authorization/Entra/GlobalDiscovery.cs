using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Entra
{
    /// <summary>One Dynamics 365 / Dataverse environment a signed-in user can reach, as the Global Discovery Service lists it.</summary>
    public sealed class DiscoveredEnvironment
    {
        public string FriendlyName { get; internal set; } = "";

        public string UniqueName { get; internal set; } = "";

        /// <summary>The environment's URL, for example https://contoso.crm.dynamics.com/: what -InstanceUrl takes.</summary>
        public string Url => Uri.AbsoluteUri;

        public string? EnvironmentId { get; internal set; }

        /// <summary>The Dataverse organization (instance) id; WhoAmI's OrganizationId, which a connection is pinned to.</summary>
        public Guid OrganizationId { get; internal set; }

        public string? Region { get; internal set; }

        public string? Version { get; internal set; }

        /// <summary>The Global Discovery Service's State: 0 enabled, 1 disabled.</summary>
        public int State { get; internal set; }

        public EnvironmentType EnvironmentType { get; internal set; }

        /// <summary>Who signed in to list it.</summary>
        public string AuthorizedAs { get; internal set; } = "";

        internal Uri Uri { get; set; } = null!;

        /// <summary>"Contoso Sales (https://contoso.crm.dynamics.com/, NA)", for lists in messages and the choice prompt.</summary>
        public string Describe() => $"{FriendlyName} ({Url}{(string.IsNullOrEmpty(Region) ? "" : ", " + Region)})";

        public override string ToString() => $"{FriendlyName} {Url}";
    }

    /// <summary>
    /// The Global Discovery Service (GDS) of one Microsoft cloud: GET api/discovery/v2.0/Instances with a token for
    /// https://globaldisco.&lt;cloud&gt;/, answered with { "value": [ { Id, UniqueName, UrlName, FriendlyName, State, Version, Url, ApiUrl, Region, ... } ] }.
    /// </summary>
    internal static class GlobalDiscovery
    {
        public const string InstancesPath = "api/discovery/v2.0/Instances";

        /// <summary>The scope a token for the discovery service asks for: its resource with /.default.</summary>
        public static string Scope(CloudEndpoints cloud) => cloud.DiscoveryUrl.GetLeftPart(UriPartial.Authority) + "/.default";

        public static async Task<IReadOnlyList<DiscoveredEnvironment>> ListAsync(CloudEndpoints cloud, string accessToken, string account, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var url = new Uri(cloud.DiscoveryUrl, InstancesPath);
            var what = $"the Global Discovery Service ({cloud.DiscoveryHost})";
            context.Verbose($"Entra ID: listing the environments {account} can reach with GET {url.AbsoluteUri}.");
            HttpRequestMessage Request()
            {
                var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                return request;
            }

            using (var response = await ProviderRetry.SendAsync(context.Http, Request, context.RequestTimeout, what, cancellationToken).ConfigureAwait(false))
            {
                var body = response.Content is null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.Unauthorized || response.StatusCode == HttpStatusCode.Forbidden)
                {
                    // The token was issued a moment ago: a refusal is about the account (no Dataverse licence, Conditional Access), not the grant.
                    throw new ConnectionToolsException(
                        ErrorIds.EnvironmentDiscoveryRefused,
                        ErrorKind.PermissionDenied,
                        $"{what} refused to list the environments of {account}: HTTP {(int)response.StatusCode}{EntraErrors.ODataError(body)}. Nothing was stored.",
                        account,
                        $"Check that {account} has a Dynamics 365 / Dataverse licence and that no Conditional Access policy blocks the app; or give the environment's URL with -InstanceUrl.");
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw Protocol(what, $"HTTP {(int)response.StatusCode}{EntraErrors.ODataError(body)}");
                }

                try
                {
                    return Parse(body, cloud.Environment, account);
                }
                catch (Exception e) when (e is JsonException || e is InvalidOperationException || e is FormatException)
                {
                    throw Protocol(what, "the answer is not an OData list of instances");
                }
            }
        }

        internal static IReadOnlyList<DiscoveredEnvironment> Parse(string body, EnvironmentType cloud, string account)
        {
            var found = new List<DiscoveredEnvironment>();
            using (var json = JsonDocument.Parse(body))
            {
                if (!json.RootElement.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.Array)
                {
                    throw new InvalidOperationException("no value array");
                }

                foreach (var item in value.EnumerateArray())
                {
                    var url = Text(item, "Url");
                    if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
                    {
                        continue;
                    }

                    found.Add(new DiscoveredEnvironment
                    {
                        FriendlyName = Text(item, "FriendlyName") ?? Text(item, "UniqueName") ?? uri.Host,
                        UniqueName = Text(item, "UniqueName") ?? "",
                        Uri = new Uri(uri.GetLeftPart(UriPartial.Authority) + "/"),
                        EnvironmentId = Text(item, "EnvironmentId"),
                        OrganizationId = Guid.TryParse(Text(item, "Id"), out var id) ? id : Guid.Empty,
                        Region = Text(item, "Region"),
                        Version = Text(item, "Version"),
                        State = item.TryGetProperty("State", out var state) && state.ValueKind == JsonValueKind.Number ? state.GetInt32() : 0,
                        EnvironmentType = cloud,
                        AuthorizedAs = account,
                    });
                }
            }

            found.Sort((a, b) => string.Compare(a.FriendlyName, b.FriendlyName, StringComparison.OrdinalIgnoreCase));
            return found;
        }

        private static string? Text(JsonElement item, string name) =>
            item.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(v.GetString()) ? v.GetString() : null;

        private static ConnectionToolsException Protocol(string what, string detail) => new ConnectionToolsException(
            ErrorIds.AuthorizationProtocol,
            ErrorKind.InvalidData,
            $"{what} gave an unexpected answer ({detail}). Nothing was stored.",
            what,
            "Run the command again; if it keeps failing, give the environment's URL with -InstanceUrl.");
    }
}
