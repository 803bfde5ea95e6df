using System;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionTools.Http
{
    /// <summary>
    /// The one retry loop of every outgoing HTTP call, configured per purpose. Each attempt is a fresh request from the caller
    /// (a peer token, say, must not look like a replay) with its own timeout. An answer of 429 or 503 is waited out as its
    /// Retry-After asks (or with <see cref="Backoff"/> where the purpose allows) and sent again; a Retry-After longer than
    /// <see cref="MaxRetryAfter"/> is not waited for. Timeouts and network failures are retried only as the purpose says.
    /// Failures go through the caller's mapper, so each purpose keeps its own errors. (Polly.Core would add its own assembly
    /// and its netstandard2.0 dependencies to the module folder for what is here one loop.)
    /// </summary>
    public sealed class HttpPolicy
    {
        private HttpPolicy(string name, int maxAttempts, TimeSpan maxRetryAfter, TransportRetry transport, bool throttleNeedsRetryAfter)
        {
            Name = name;
            MaxAttempts = maxAttempts;
            MaxRetryAfter = maxRetryAfter;
            Transport = transport;
            ThrottleNeedsRetryAfter = throttleNeedsRetryAfter;
        }

        /// <summary>Which timeouts and network failures a purpose sends again.</summary>
        public enum TransportRetry
        {
            /// <summary>Every one: the request does the same thing twice (a read, an idempotent write).</summary>
            Always,

            /// <summary>Only when the request certainly did not reach the server (see <see cref="CertainlyNotSent"/>).</summary>
            WhenNotSent,

            /// <summary>None: the caller reports the failure at once.</summary>
            Never,
        }

        /// <summary>Reads and writes at Salesforce and Entra ID (queries, WhoAmI, sign-in token requests, revocation).</summary>
        public static HttpPolicy ProviderCalls { get; } = new HttpPolicy("provider calls", 3, TimeSpan.FromSeconds(60), TransportRetry.Always, throttleNeedsRetryAfter: false);

        /// <summary>
        /// A token refresh under refresh-token rotation: sending it twice uses the token up and gets the grant revoked, so it is
        /// sent again only when it certainly never arrived, or when the provider said with Retry-After that it did not process it.
        /// </summary>
        public static HttpPolicy TokenRefresh { get; } = new HttpPolicy("token refresh", 3, TimeSpan.FromSeconds(60), TransportRetry.WhenNotSent, throttleNeedsRetryAfter: true);

        /// <summary>The private side's calls to a public node: a node that does not answer is reported at once (the next sync tries again).</summary>
        public static HttpPolicy PeerCalls { get; } = new HttpPolicy("peer calls", 3, TimeSpan.FromSeconds(30), TransportRetry.Never, throttleNeedsRetryAfter: false);

        public string Name { get; }

        public int MaxAttempts { get; }

        /// <summary>A Retry-After longer than this is not waited for: the call gives up.</summary>
        public TimeSpan MaxRetryAfter { get; }

        public TransportRetry Transport { get; }

        /// <summary>
        /// True: a 429/503 without Retry-After is handed back to the caller, not sent again (a 503 may come from a server
        /// that processed the request). False: it is sent again after <see cref="Backoff"/>.
        /// </summary>
        public bool ThrottleNeedsRetryAfter { get; }

        /// <summary>
        /// Sends a fresh request from <paramref name="makeRequest"/> per attempt, each within <paramref name="timeout"/>, and returns
        /// the answer (content read) that is not to be retried. When it gives up, it throws what <paramref name="fail"/> makes of why.
        /// The caller's own cancellation is never retried.
        /// </summary>
        public async Task<HttpResponseMessage> SendAsync(HttpClient http, Func<HttpRequestMessage> makeRequest, TimeSpan timeout, Func<HttpFailure, Exception> fail, CancellationToken cancellationToken)
        {
            if (http is null)
            {
                throw new ArgumentNullException(nameof(http));
            }

            if (makeRequest is null)
            {
                throw new ArgumentNullException(nameof(makeRequest));
            }

            if (fail is null)
            {
                throw new ArgumentNullException(nameof(fail));
            }

            for (var attempt = 1; ; attempt++)
            {
                TimeSpan wait;
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
                    catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                    {
                        if (attempt >= MaxAttempts || Transport != TransportRetry.Always)
                        {
                            throw fail(new HttpFailure($"no answer within {timeout.TotalSeconds:0} s", attempt, mayHaveArrived: true, e, null, null));
                        }

                        await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    catch (HttpRequestException e)
                    {
                        var notSent = CertainlyNotSent(e);
                        var again = Transport == TransportRetry.Always || (Transport == TransportRetry.WhenNotSent && notSent);
                        if (attempt >= MaxAttempts || !again)
                        {
                            throw fail(new HttpFailure(e.Message, attempt, mayHaveArrived: !notSent, e, null, null));
                        }

                        await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    if (!IsThrottle(response.StatusCode))
                    {
                        return response;
                    }

                    var asked = RetryAfter(response.Headers);
                    if (asked is null && ThrottleNeedsRetryAfter)
                    {
                        return response;
                    }

                    wait = asked ?? Backoff(attempt);
                    if (attempt >= MaxAttempts || wait > MaxRetryAfter)
                    {
                        // An answer with Retry-After says the server did not process the request.
                        using (response)
                        {
                            var body = response.Content is null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                            throw fail(new HttpFailure($"HTTP {(int)response.StatusCode} after {attempt} attempts", attempt, mayHaveArrived: asked is null, null, response.StatusCode, body));
                        }
                    }

                    response.Dispose();
                }

                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// The same policy for a call made by a library that sends the request itself (MSAL): <paramref name="call"/> runs up to
        /// <see cref="MaxAttempts"/> times while <paramref name="retryAfterOf"/> says its failure is a throttle, an outage or a
        /// network failure and how long to wait (null: not retryable, it goes through unchanged); a wait beyond
        /// <see cref="MaxRetryAfter"/> is not made. Giving up throws what <paramref name="fail"/> makes of the last failure.
        /// </summary>
        public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, Func<Exception, TimeSpan?> retryAfterOf, Func<HttpFailure, Exception> fail, CancellationToken cancellationToken)
        {
            if (call is null)
            {
                throw new ArgumentNullException(nameof(call));
            }

            if (retryAfterOf is null)
            {
                throw new ArgumentNullException(nameof(retryAfterOf));
            }

            if (fail is null)
            {
                throw new ArgumentNullException(nameof(fail));
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
                        throw fail(new HttpFailure(e.Message, attempt, mayHaveArrived: true, e, null, null));
                    }

                    wait = after;
                }

                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }

        public static bool IsThrottle(HttpStatusCode status) => (int)status == 429 || status == HttpStatusCode.ServiceUnavailable;

        /// <summary>The one reading of Retry-After, as seconds or as an HTTP date; never negative; null when absent.</summary>
        public static TimeSpan? RetryAfter(HttpResponseHeaders? headers)
        {
            var header = headers?.RetryAfter;
            var wait = header?.Delta ?? (header?.Date is DateTimeOffset date ? date - DateTimeOffset.UtcNow : (TimeSpan?)null);
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        /// <summary>The wait before attempt <paramref name="attempt"/> + 1 when the server named none: 0.5 s, 1 s, 2 s, up to 8 s.</summary>
        public static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(500 * (1 << Math.Min(attempt - 1, 4)));

        /// <summary>
        /// Failures where the request cannot have reached the server: the host name did not resolve, the connection was
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
    }

    /// <summary>Why <see cref="HttpPolicy.SendAsync"/> gave up, for the caller to turn into its own error.</summary>
    public sealed class HttpFailure
    {
        internal HttpFailure(string detail, int attempts, bool mayHaveArrived, Exception? exception, HttpStatusCode? status, string? body)
        {
            Detail = detail;
            Attempts = attempts;
            MayHaveArrived = mayHaveArrived;
            Exception = exception;
            Status = status;
            Body = body;
        }

        /// <summary>What happened, without the request: "no answer within 30 s", the network failure's message, "HTTP 429 after 3 attempts".</summary>
        public string Detail { get; }

        public int Attempts { get; }

        /// <summary>False only when the request certainly was not processed (never sent, or answered with Retry-After).</summary>
        public bool MayHaveArrived { get; }

        /// <summary>The timeout or network failure; null for an answer.</summary>
        public Exception? Exception { get; }

        /// <summary>The last answer's status when the server kept answering 429/503.</summary>
        public HttpStatusCode? Status { get; }

        /// <summary>The last answer's body, with <see cref="Status"/>.</summary>
        public string? Body { get; }
    }
}
