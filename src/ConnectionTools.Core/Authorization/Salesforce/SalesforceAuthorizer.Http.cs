using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionTools.Authorization.Salesforce
{
    // Every request to Salesforce goes through SendAsync, and through ProviderRetry.
    public sealed partial class SalesforceAuthorizer
    {
        private static async Task<JsonElement> PostTokenAsync(AuthorizationContext context, Uri instance, string label, KeyValuePair<string, string>[] form, CancellationToken cancellationToken, bool repeatable = true)
        {
            var token = await PostFormAsync(context, instance, label, form, false, cancellationToken, repeatable).ConfigureAwait(false);
            if (string.IsNullOrEmpty(String(token, "access_token")))
            {
                throw Protocol(instance, "the token answer has no access_token", null);
            }

            return token;
        }

        /// <summary>POSTs a form to the token endpoint; the JSON object on 200, else the mapped error.</summary>
        private static async Task<JsonElement> PostFormAsync(AuthorizationContext context, Uri instance, string label, KeyValuePair<string, string>[] form, bool quiet, CancellationToken cancellationToken, bool repeatable = true)
        {
            var url = new Uri(instance, TokenPath);
            var (status, body) = await SendAsync(context, HttpMethod.Post, url, form, null, label, quiet, cancellationToken, repeatable).ConfigureAwait(false);
            if (status != 200)
            {
                var (error, description) = ReadError(body);
                throw TokenError(status, error, description, url);
            }

            return ParseObject(body, instance);
        }

        /// <summary>One HTTP exchange through <see cref="ProviderRetry"/>; verbose says method, URL, grant, status and time, nothing more.</summary>
        private static async Task<(int Status, string Body)> SendAsync(AuthorizationContext context, HttpMethod method, Uri url, KeyValuePair<string, string>[]? form, string? bearer, string label, bool quiet, CancellationToken cancellationToken, bool repeatable = true)
        {
            var attempts = 0;
            var watch = Stopwatch.StartNew();
            HttpRequestMessage Make()
            {
                attempts++;
                var request = new HttpRequestMessage(method, url);
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                if (form != null)
                {
                    request.Content = new FormUrlEncodedContent(form);
                }

                if (bearer != null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
                }

                return request;
            }

            using (var response = await ProviderRetry.SendAsync(context.Http, Make, context.RequestTimeout, $"Salesforce ({url.Host})", repeatable, cancellationToken).ConfigureAwait(false))
            {
                var body = response.Content is null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (!quiet)
                {
                    var tries = attempts > 1 ? $", {attempts} attempts" : "";
                    context.Verbose($"{method.Method} {url.AbsoluteUri} ({label}) → {status} in {watch.ElapsedMilliseconds.ToString(CultureInfo.InvariantCulture)} ms{tries}");
                }

                if (status >= 500)
                {
                    // The provider failed to answer, which says nothing about the grant: never a refusal.
                    throw ProviderRetry.Unavailable($"Salesforce ({url.Host})", $"HTTP {status} after {attempts} attempts", mayHaveArrived: true);
                }

                return (status, body);
            }
        }
    }
}
