using System;
using System.Net.Http;
using Microsoft.Identity.Client;

namespace ConnectionTools.Authorization.Entra
{
    /// <summary>
    /// Hands MSAL the caller's HttpClient (<see cref="AuthorizationContext.Http"/>), so every request MSAL makes (instance
    /// discovery, device code, token) goes through the same handler, proxy settings and, in tests, the loopback router.
    /// </summary>
    internal sealed class MsalHttpClientFactory : IMsalHttpClientFactory
    {
        private readonly HttpClient _http;

        public MsalHttpClientFactory(HttpClient http)
        {
            _http = http ?? throw new ArgumentNullException(nameof(http));
        }

        public HttpClient GetHttpClient() => _http;
    }
}
