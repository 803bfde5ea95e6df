using System;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization;
using ConnectionTools.Errors;
using ConnectionTools.Jobs.Retrieval;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>
    /// The HTTP side both case writers share: one request through <see cref="ProviderRetry"/>, one refresh and one resend on 401,
    /// and for idempotent requests a resend on a 5xx answer. The access token goes into the Authorization header and nowhere else.
    /// </summary>
    internal sealed class WriterChannel
    {
        private readonly HttpClient _http;
        private readonly Func<bool, CancellationToken, Task<string>> _accessToken;
        private readonly TimeSpan _timeout;
        private readonly string _provider;

        public WriterChannel(string provider, HttpClient http, Uri root, Func<bool, CancellationToken, Task<string>> accessToken, TimeSpan timeout)
        {
            _http = http ?? throw new ArgumentNullException(nameof(http));
            Root = CasePager.OrgRoot(root, timeout);
            _accessToken = accessToken ?? throw new ArgumentNullException(nameof(accessToken));
            _timeout = timeout;
            _provider = provider;
        }

        public Uri Root { get; }

        /// <summary>
        /// Sends the request <paramref name="make"/> builds (one per attempt, with the current token) and returns status and body.
        /// <paramref name="idempotent"/>: the request does the same thing when it arrives twice, so timeouts, network failures and
        /// 5xx answers are sent again (<see cref="ProviderRetry.MaxAttempts"/> in all). Otherwise it is sent again only when it
        /// certainly did not arrive (never sent, 429/503 with Retry-After, 401); a lost answer throws ProviderUnavailable marked with
        /// <see cref="ProviderRetry.MayHaveArrivedKey"/>.
        /// </summary>
        public async Task<Answer> SendAsync(Func<string, HttpRequestMessage> make, string what, bool idempotent, CancellationToken cancellationToken)
        {
            var token = await TokenAsync(forceRefresh: false, what, cancellationToken).ConfigureAwait(false);
            var refreshed = false;
            for (var attempt = 1; ; attempt++)
            {
                var bearer = token;
                using (var response = await ProviderRetry.SendAsync(_http, () => WithToken(make(bearer), bearer), _timeout, $"{_provider} ({what})", idempotent, cancellationToken).ConfigureAwait(false))
                {
                    var body = response.Content is null ? string.Empty : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.Unauthorized)
                    {
                        // A 401 means the request was not processed, so sending it again is safe for any request.
                        if (refreshed)
                        {
                            throw Unauthorized(what);
                        }

                        refreshed = true;
                        token = await TokenAsync(forceRefresh: true, what, cancellationToken).ConfigureAwait(false);
                        attempt--;
                        continue;
                    }

                    if (idempotent && (int)response.StatusCode >= 500 && attempt < ProviderRetry.MaxAttempts)
                    {
                        await Task.Delay(ProviderRetry.Backoff(attempt), cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    var entityId = response.Headers.TryGetValues("OData-EntityId", out var ids) ? string.Join(",", ids) : response.Headers.Location?.ToString();
                    return new Answer(response.StatusCode, body, entityId, response.Content?.Headers.ContentType?.ToString());
                }
            }
        }

        public static HttpContent Json(string json) => new StringContent(json, Encoding.UTF8, "application/json");

        private static HttpRequestMessage WithToken(HttpRequestMessage request, string token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            return request;
        }

        private async Task<string> TokenAsync(bool forceRefresh, string what, CancellationToken cancellationToken)
        {
            var token = await _accessToken(forceRefresh, cancellationToken).ConfigureAwait(false);
            if (string.IsNullOrWhiteSpace(token))
            {
                throw Unauthorized(what);
            }

            return token;
        }

        public ConnectionToolsException Unauthorized(string what) => new ConnectionToolsException(
            ErrorIds.SyncApplyUnauthorized,
            ErrorKind.AuthenticationError,
            $"{_provider} refused the connection's access token for {what}, also after a refresh. The cases of this call that were not answered were not written.",
            Root.Host,
            "Run Test-ConnectionAuthorization, then Update-ConnectionAuthorization for the connection; the next sync writes the cases again (writes are keyed by the partner's case id, so none is doubled).");

        public ConnectionToolsException Failed(string what, HttpStatusCode status, string? code, string? detail) => new ConnectionToolsException(
            ErrorIds.SyncApplyFailed,
            (int)status >= 500 ? ErrorKind.ConnectionError : status == HttpStatusCode.Forbidden ? ErrorKind.PermissionDenied : ErrorKind.InvalidOperation,
            string.Format(
                CultureInfo.InvariantCulture,
                "{0} answered HTTP {1}{2} to {3}{4}. The cases of this call that were not answered were not written.",
                _provider,
                (int)status,
                code is null ? string.Empty : " (" + code + ")",
                what,
                string.IsNullOrEmpty(detail) ? string.Empty : ": " + detail),
            Root.Host,
            (int)status >= 500
                ? "Check the org's status; the next sync writes the cases again (writes are keyed by the partner's case id, so none is doubled)."
                : "Check the connected user's permissions to create and edit cases and comments; the next sync writes the cases again.");

        public ConnectionToolsException Malformed(string what, string why) => new ConnectionToolsException(
            ErrorIds.SyncApplyFailed,
            ErrorKind.InvalidData,
            $"{_provider}'s answer to {what} could not be read: {why}. The cases of this call that were not answered may or may not have been written.",
            Root.Host,
            "The next sync writes the cases again (writes are keyed by the partner's case id, so none is doubled). If the error persists, report it with the verbose output.");

        /// <summary>An answer: status and body (already read).</summary>
        internal readonly struct Answer
        {
            public Answer(HttpStatusCode status, string body, string? entityId, string? contentType = null)
            {
                Status = status;
                Body = body;
                EntityId = entityId;
                ContentType = contentType;
            }

            /// <summary>The answer's Content-Type (a $batch answer names its multipart boundary there).</summary>
            public string? ContentType { get; }

            /// <summary>OData-EntityId (or Location) of the answer, if any.</summary>
            public string? EntityId { get; }

            public HttpStatusCode Status { get; }

            public string Body { get; }

            public bool IsSuccess => (int)Status >= 200 && (int)Status <= 299;
        }

        /// <summary>Keeps error codes that are identifiers (REQUIRED_FIELD_MISSING, 0x80040216); anything else is not echoed.</summary>
        public static string? PlainCode(string? code)
        {
            if (code is null || code.Length == 0 || code.Length > 100)
            {
                return null;
            }

            foreach (var c in code)
            {
                if (!(char.IsLetterOrDigit(c) || c == '_' || c == '-' || c == '.'))
                {
                    return null;
                }
            }

            return code;
        }

        /// <summary>A system's message, shortened and on one line, for an error message.</summary>
        public static string Clip(string? message)
        {
            if (string.IsNullOrEmpty(message))
            {
                return "(no message)";
            }

            var one = message!.Replace("\r", " ").Replace("\n", " ");
            return one.Length <= 500 ? one : one.Substring(0, 500) + "…";
        }
    }
}
