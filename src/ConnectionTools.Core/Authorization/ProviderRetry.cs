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

        /// <summary>
        /// Key in an Unavailable exception's Data: true when the request may have reached the provider (a timeout, a reset, a 5xx),
        /// false when it certainly did not (the name did not resolve, the connection was refused, the TLS handshake failed).
        /// </summary>
        public const string MayHaveArrivedKey = "ConnectionTools.MayHaveArrived";

        /// <summary>Sends a fresh request from <paramref name="makeRequest"/> per attempt; returns the first answer that is not 429/503.</summary>
        public static Task<HttpResponseMessage> SendAsync(HttpClient http, Func<HttpRequestMessage> makeRequest, TimeSpan timeout, string what, CancellationToken cancellationToken) =>
            SendAsync(http, makeRequest, timeout, what, repeatable: true, cancellationToken);

        /// <summary>
        /// As above. When <paramref name="repeatable"/> is false (a refresh under refresh-token rotation: sending it twice uses the
        /// token up and gets the grant revoked), a request is sent again only when it certainly did not reach the provider, or when
        /// the provider answered 429/503 with Retry-After; otherwise the failure is Unavailable at once, with <see cref="MayHaveArrivedKey"/>.
        /// </summary>
        public static async Task<HttpResponseMessage> SendAsync(HttpClient http, Func<HttpRequestMessage> makeRequest, TimeSpan timeout, string what, bool repeatable, CancellationToken cancellationToken)
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
                        if (attempt >= MaxAttempts || !repeatable)
                        {
                            throw Unavailable(what, $"no answer within {timeout.TotalSeconds:0} s, {attempt} attempts", mayHaveArrived: true);
                        }

                        await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    catch (HttpRequestException e)
                    {
                        var notSent = CertainlyNotSent(e);
                        if (attempt >= MaxAttempts || (!repeatable && !notSent))
                        {
                            throw Unavailable(what, $"{e.Message}, {attempt} attempts", mayHaveArrived: !notSent);
                        }

                        await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    if (!IsThrottle(response.StatusCode))
                    {
                        return response;
                    }

                    var asked = RetryAfter(response);
                    if (!repeatable && asked is null)
                    {
                        // A 503 without Retry-After may come from a server that processed the request: the caller decides.
                        return response;
                    }

                    var wait = asked ?? Backoff(attempt);
                    var status = (int)response.StatusCode;
                    response.Dispose();
                    if (attempt >= MaxAttempts || wait > MaxRetryAfter)
                    {
                        throw Unavailable(what, $"HTTP {status} after {attempt} attempts", mayHaveArrived: !repeatable ? false : true);
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

        /// <summary>
        /// Failures where the request cannot have reached the provider: the host name did not resolve, the connection was
        /// refused or the network unreachable, or the TLS handshake failed (nothing is sent before it completes).
        /// </summary>
        public static bool CertainlyNotSent(Exception e)
        {
            for (var inner = e; inner != null; inner = inner.InnerException)
            {
                if (inner is System.Security.Authentication.AuthenticationException)
                {
                    return true;
                }

                if (inner is System.Net.Sockets.SocketException socket)
                {
                    switch (socket.SocketErrorCode)
                    {
                        case System.Net.Sockets.SocketError.ConnectionRefused:
                        case System.Net.Sockets.SocketError.HostNotFound:
                        case System.Net.Sockets.SocketError.HostUnreachable:
                        case System.Net.Sockets.SocketError.NetworkUnreachable:
                        case System.Net.Sockets.SocketError.TryAgain:
                        case System.Net.Sockets.SocketError.NoData:
                            return true;
                        default:
                            return false;
                    }
                }
            }

            return false;
        }

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
