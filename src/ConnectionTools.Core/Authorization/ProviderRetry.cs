using System;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// Retry for calls to Salesforce and Entra ID: at most <see cref="MaxAttempts"/> attempts, on 429/503 (waiting what
    /// Retry-After asks, within <see cref="MaxRetryAfter"/>), on timeouts and on network failures. Anything else is the provider's answer.
    /// </summary>
    public static class ProviderRetry
    {
        public const int MaxAttempts = 3;

        /// <summary>A Retry-After longer than this is not waited for: the call fails with ProviderUnavailable instead.</summary>
        public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

        /// <summary>Sends a fresh request from <paramref name="makeRequest"/> per attempt; returns the first answer that is not 429/503.</summary>
        public static async Task<HttpResponseMessage> SendAsync(HttpClient http, Func<HttpRequestMessage> makeRequest, TimeSpan timeout, string what, CancellationToken cancellationToken)
        {
            if (http is null)
            {
                throw new ArgumentNullException(nameof(http));
            }

            if (makeRequest is null)
            {
                throw new ArgumentNullException(nameof(makeRequest));
            }

            for (var attempt = 1; ; attempt++)
            {
                using (var perAttempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    perAttempt.CancelAfter(timeout);
                    HttpResponseMessage response;
                    try
                    {
                        using (var request = makeRequest())
                        {
                            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, perAttempt.Token).ConfigureAwait(false);
                        }
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        if (attempt >= MaxAttempts)
                        {
                            throw Unavailable(what, $"no answer within {timeout.TotalSeconds:0} s, {attempt} attempts");
                        }

                        await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    catch (HttpRequestException e)
                    {
                        if (attempt >= MaxAttempts)
                        {
                            throw Unavailable(what, $"{e.Message}, {attempt} attempts");
                        }

                        await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    if (!IsThrottle(response.StatusCode))
                    {
                        return response;
                    }

                    var wait = RetryAfter(response) ?? Backoff(attempt);
                    var status = (int)response.StatusCode;
                    response.Dispose();
                    if (attempt >= MaxAttempts || wait > MaxRetryAfter)
                    {
                        throw Unavailable(what, $"HTTP {status} after {attempt} attempts");
                    }

                    await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        /// <summary>
        /// Runs <paramref name="call"/> (for example an MSAL request) up to <see cref="MaxAttempts"/> times while
        /// <paramref name="retryAfterOf"/> says the failure is a throttle or outage and how long to wait (null: not retryable).
        /// </summary>
        public static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, Func<Exception, TimeSpan?> retryAfterOf, string what, CancellationToken cancellationToken)
        {
            if (call is null)
            {
                throw new ArgumentNullException(nameof(call));
            }

            if (retryAfterOf is null)
            {
                throw new ArgumentNullException(nameof(retryAfterOf));
            }

            for (var attempt = 1; ; attempt++)
            {
                TimeSpan wait;
                try
                {
                    return await call(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested) && retryAfterOf(e) is TimeSpan after)
                {
                    if (attempt >= MaxAttempts || after > MaxRetryAfter)
                    {
                        throw Unavailable(what, $"{e.Message} ({attempt} attempts)");
                    }

                    wait = after;
                }

                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }

        public static bool IsThrottle(HttpStatusCode status) => (int)status == 429 || status == HttpStatusCode.ServiceUnavailable;

        /// <summary>Retry-After as seconds or as an HTTP date.</summary>
        public static TimeSpan? RetryAfter(HttpResponseMessage response)
        {
            var header = response?.Headers.RetryAfter;
            if (header?.Delta is TimeSpan delta)
            {
                return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
            }

            if (header?.Date is DateTimeOffset date)
            {
                var wait = date - DateTimeOffset.UtcNow;
                return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
            }

            return null;
        }

        /// <summary>Backoff when the provider gave no Retry-After: 0.5 s, 1 s, 2 s.</summary>
        public static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(500 * (1 << Math.Min(attempt - 1, 4)));

        public static ConnectionToolsException Unavailable(string what, string detail) => new ConnectionToolsException(
            ErrorIds.AuthorizationProviderUnavailable,
            ErrorKind.ConnectionError,
            $"{what} could not be reached ({detail}). Nothing was changed.",
            what,
            "Check the network and the provider's status, then run the command again.");
    }
}
