using System;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Entra
{
    /// <summary>Reads the environment's OrganizationId with the Dataverse Web API's WhoAmI function.</summary>
    internal static class DataverseWhoAmI
    {
        public const string Path = "api/data/v9.2/WhoAmI";

        /// <summary>The OrganizationId as a GUID in "D" format.</summary>
        public static async Task<string> OrganizationIdAsync(Uri instance, string accessToken, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var url = new Uri(new Uri(instance.GetLeftPart(UriPartial.Authority) + "/"), Path);
            var what = $"Dataverse ({instance.Host})";
            context.Verbose($"Entra ID: reading the organization with GET {url.AbsoluteUri}.");
            using (var response = await ProviderRetry.SendAsync(context.Http, () => Request(url, accessToken), context.RequestTimeout, what, cancellationToken).ConfigureAwait(false))
            {
                var body = response.Content is null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.Unauthorized || response.StatusCode == HttpStatusCode.Forbidden)
                {
                    // The token was just issued: Dataverse refusing it means the user or app has no access to this environment.
                    throw new ProviderRefusedException(
                        InactiveReason.ConsentRequired,
                        $"Dataverse WhoAmI answered HTTP {(int)response.StatusCode}{EntraErrors.ODataError(body)}: the account has no access to {instance.Host}");
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw Protocol(what, $"WhoAmI answered HTTP {(int)response.StatusCode}{EntraErrors.ODataError(body)}");
                }

                try
                {
                    using (var json = JsonDocument.Parse(body))
                    {
                        if (json.RootElement.ValueKind == JsonValueKind.Object &&
                            json.RootElement.TryGetProperty("OrganizationId", out var id) && id.ValueKind == JsonValueKind.String &&
                            Guid.TryParse(id.GetString(), out var organizationId))
                        {
                            return organizationId.ToString("D");
                        }
                    }
                }
                catch (JsonException)
                {
                    // Reported below.
                }

                throw Protocol(what, "WhoAmI answered without an OrganizationId");
            }
        }

        private static HttpRequestMessage Request(Uri url, string accessToken)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            request.Headers.TryAddWithoutValidation("OData-MaxVersion", "4.0");
            request.Headers.TryAddWithoutValidation("OData-Version", "4.0");
            return request;
        }

        private static ConnectionToolsException Protocol(string what, string detail) => new ConnectionToolsException(
            ErrorIds.AuthorizationProtocol,
            ErrorKind.InvalidData,
            $"{what} gave an unexpected answer ({detail}). Nothing was stored.",
            what,
            "Check -InstanceUrl (the environment URL, for example https://contoso.crm.dynamics.com) and run the command again.");
    }
}
