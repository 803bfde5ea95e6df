using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;
using ConnectionTools.Http;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// Calls to Salesforce and Entra ID through <see cref="HttpPolicy.ProviderCalls"/> (or <see cref="HttpPolicy.TokenRefresh"/>),
    /// with the provider's error when the policy gives up: ProviderUnavailable, marked with whether the request may have arrived.
    /// </summary>
    public static class ProviderRetry
    {
        public static int MaxAttempts => HttpPolicy.ProviderCalls.MaxAttempts;

        /// <summary>A Retry-After longer than this is not waited for: the call fails with ProviderUnavailable instead.</summary>
        public static TimeSpan MaxRetryAfter => HttpPolicy.ProviderCalls.MaxRetryAfter;

        /// <summary>
        /// Key in an Unavailable exception's Data: true when the request may have reached the provider (a timeout, a reset, a 5xx),
        /// false when it certainly did not (the name did not resolve, the connection was refused, the TLS handshake failed).
        /// </summary>
        public const string MayHaveArrivedKey = "ConnectionTools.MayHaveArrived";

        /// <summary>Sends a fresh request from <paramref name="makeRequest"/> per attempt; returns the first answer that is not 429/503.</summary>
        public static Task<HttpResponseMessage> SendAsync(HttpClient http, Func<HttpRequestMessage> makeRequest, TimeSpan timeout, string what, CancellationToken cancellationToken) =>
            SendAsync(http, makeRequest, timeout, what, repeatable: true, cancellationToken);

        /// <summary>
        /// As above. When <paramref name="repeatable"/> is false (a refresh under refresh-token rotation), the request goes through
        /// <see cref="HttpPolicy.TokenRefresh"/>: sent again only when it certainly did not reach the provider, or when the provider
        /// answered 429/503 with Retry-After; otherwise the failure is Unavailable at once, with <see cref="MayHaveArrivedKey"/>.
        /// A 503 without Retry-After is then the caller's to judge.
        /// </summary>
        public static Task<HttpResponseMessage> SendAsync(HttpClient http, Func<HttpRequestMessage> makeRequest, TimeSpan timeout, string what, bool repeatable, CancellationToken cancellationToken) =>
            (repeatable ? HttpPolicy.ProviderCalls : HttpPolicy.TokenRefresh).SendAsync(
                http,
                makeRequest,
                timeout,
                failure => Unavailable(what, failure.Status is null ? $"{failure.Detail}, {failure.Attempts} attempts" : failure.Detail, failure.MayHaveArrived),
                cancellationToken);

        /// <summary>
        /// Runs <paramref name="call"/> (for example an MSAL request) up to <see cref="MaxAttempts"/> times while
        /// <paramref name="retryAfterOf"/> says the failure is a throttle or outage and how long to wait (null: not retryable).
        /// </summary>
        public static Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, Func<Exception, TimeSpan?> retryAfterOf, string what, CancellationToken cancellationToken) =>
            HttpPolicy.ProviderCalls.RunAsync(call, retryAfterOf, failure => Unavailable(what, $"{failure.Detail} ({failure.Attempts} attempts)"), cancellationToken);

        /// <summary>Backoff when the provider gave no Retry-After (see <see cref="HttpPolicy.Backoff"/>).</summary>
        public static TimeSpan Backoff(int attempt) => HttpPolicy.Backoff(attempt);

        /// <summary>Unavailable, marked with whether the request may have reached the provider.</summary>
        public static ConnectionToolsException Unavailable(string what, string detail, bool mayHaveArrived)
        {
            var e = Unavailable(what, detail);
            e.Data[MayHaveArrivedKey] = mayHaveArrived;
            return e;
        }

        /// <summary>Whether a failure may have left a request processed at the provider with its answer lost (see <see cref="MayHaveArrivedKey"/>).</summary>
        public static bool MayHaveArrived(Exception e) => !(e.Data[MayHaveArrivedKey] is bool arrived) || arrived;

        public static ConnectionToolsException Unavailable(string what, string detail) => new ConnectionToolsException(
            ErrorIds.AuthorizationProviderUnavailable,
            ErrorKind.ConnectionError,
            $"{what} could not be reached ({detail}). Nothing was changed.",
            what,
            "Check the network and the provider's status, then run the command again.");
    }
}
