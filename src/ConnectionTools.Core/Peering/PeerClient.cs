using System;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;
using ConnectionTools.Http;

namespace ConnectionTools.Peering
{
    /// <summary>
    /// The private side's HTTP calls to the public node, through <see cref="HttpPolicy.PeerCalls"/>: every call has a timeout and
    /// the caller's cancellation token; 429 and 503 are retried as Retry-After asks; a node that does not answer is reported at once.
    /// </summary>
    public sealed class PeerClient
    {
        public static int MaxAttempts => HttpPolicy.PeerCalls.MaxAttempts;

        public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

        private readonly HttpClient _http;
        private readonly TimeSpan _timeout;

        /// <param name="http">Shared per process by the caller: HttpClient pools connections and is safe across threads.</param>
        public PeerClient(HttpClient http, TimeSpan timeout)
        {
            _http = http ?? throw new ArgumentNullException(nameof(http));
            _timeout = timeout;
        }

        public Task<AcceptResponse> AcceptAsync(Uri publicUrl, AcceptRequest request, CancellationToken cancellationToken) =>
            SendAsync<AcceptResponse>(publicUrl, PeerPaths.Accept, request, null, cancellationToken);

        public Task<ExchangeMessage> ExchangeAsync(Uri publicUrl, Guid connectionId, Func<string> token, ExchangeMessage message, CancellationToken cancellationToken) =>
            SendAsync<ExchangeMessage>(publicUrl, PeerPaths.Exchange(connectionId), message, token, cancellationToken);

        public Task<SyncResponse> SyncAsync(Uri publicUrl, Guid connectionId, Func<string> token, SyncRequest request, CancellationToken cancellationToken) =>
            SendAsync<SyncResponse>(publicUrl, PeerPaths.Sync(connectionId), request, token, cancellationToken);

        private async Task<T> SendAsync<T>(Uri publicUrl, string path, object body, Func<string>? token, CancellationToken cancellationToken)
            where T : class
        {
            // Relative to the public URL, so a prefix such as https://proxy.example/ct/ is kept.
            var baseUrl = publicUrl.AbsoluteUri.EndsWith("/", StringComparison.Ordinal) ? publicUrl : new Uri(publicUrl.AbsoluteUri + "/");
            var target = new Uri(baseUrl, path.TrimStart('/'));
            var payload = JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), PeerJson.Options);
            HttpRequestMessage MakeRequest()
            {
                var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new ByteArrayContent(payload) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                if (token != null)
                {
                    // A fresh token per attempt: a retried request must not look like a replay.
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token());
                }

                return request;
            }

            Exception Fail(HttpFailure failure) => failure.Status is HttpStatusCode status
                ? Refusal(publicUrl, status, Parse<PeerError>(failure.Body ?? ""))
                : failure.Exception is OperationCanceledException
                    ? Unreachable(publicUrl, $"no answer within {_timeout.TotalSeconds:0} seconds", null)
                    : Unreachable(publicUrl, failure.Exception?.InnerException?.Message ?? failure.Detail, failure.Exception);

            using (var response = await HttpPolicy.PeerCalls.SendAsync(_http, MakeRequest, _timeout, Fail, cancellationToken).ConfigureAwait(false))
            {
                var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return Parse<T>(text) ?? throw PeerErrors.Protocol($"the public node answered {(int)response.StatusCode} without a body");
                }

                throw Refusal(publicUrl, response.StatusCode, Parse<PeerError>(text));
            }
        }

        private static T? Parse<T>(string text)
            where T : class
        {
            try
            {
                return string.IsNullOrWhiteSpace(text) ? null : JsonSerializer.Deserialize<T>(text, PeerJson.Options);
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private static ConnectionToolsException Refusal(Uri publicUrl, HttpStatusCode status, PeerError? error)
        {
            if (error is null || string.IsNullOrEmpty(error.ErrorId) || !error.ErrorId.StartsWith("ConnectionTools.", StringComparison.Ordinal))
            {
                return new ConnectionToolsException(
                    ErrorIds.PeerProtocol,
                    ErrorKind.ConnectionError,
                    $"The public node at {publicUrl} answered HTTP {(int)status} {status} without a ConnectionTools error. Is that URL a ConnectionTools node?",
                    publicUrl.ToString(),
                    "Check the public URL in the invitation code, and any proxy in front of the node.");
            }

            // Carried over with the public node's id and category, so scripts see the same error on both sides.
            if (!Enum.TryParse(error.Kind, out ErrorKind kind))
            {
                kind = status == HttpStatusCode.NotFound ? ErrorKind.ObjectNotFound
                    : status == HttpStatusCode.Unauthorized || status == HttpStatusCode.Forbidden ? ErrorKind.AuthenticationError
                    : ErrorKind.InvalidOperation;
            }
            return new ConnectionToolsException(error.ErrorId, kind, $"{error.Message} (answer of the public node at {publicUrl})", publicUrl.ToString(), error.RecommendedAction);
        }

        private static ConnectionToolsException Unreachable(Uri publicUrl, string why, Exception? inner) => new ConnectionToolsException(
            ErrorIds.PeerUnreachable,
            ErrorKind.ConnectionError,
            $"Could not reach the public node at {publicUrl}: {why}. Nothing was changed.",
            publicUrl.ToString(),
            "Check that the node host runs at that URL and that this machine can reach it (proxy, firewall, DNS), then try again.",
            inner);
    }
}
