using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization;
using ConnectionTools.Errors;

namespace ConnectionTools.Jobs.Retrieval
{
    /// <summary>
    /// The paging loop both providers share: one request per page through <see cref="ProviderRetry"/> (timeouts, network failures,
    /// 429/503 with Retry-After), one refresh and one retry on 401, a typed error for anything else, and the page handed to the
    /// caller before the next one is requested. Access tokens go into the Authorization header and nowhere else.
    /// </summary>
    public abstract class CasePager : ICaseSource
    {
        private readonly HttpClient _http;
        private readonly Func<bool, CancellationToken, Task<string>> _accessToken;
        private readonly TimeSpan _timeout;

        private protected CasePager(HttpClient http, Uri root, Func<bool, CancellationToken, Task<string>> accessToken, TimeSpan timeout)
        {
            _http = http ?? throw new ArgumentNullException(nameof(http));
            Root = OrgRoot(root, timeout);
            _accessToken = accessToken ?? throw new ArgumentNullException(nameof(accessToken));
            _timeout = timeout;
        }

        /// <summary>
        /// Scheme, host and port of <paramref name="root"/>, the org every request of a reader or writer goes to, after checking it is
        /// an absolute http(s) URL and that <paramref name="timeout"/> is positive.
        /// </summary>
        internal static Uri OrgRoot(Uri root, TimeSpan timeout)
        {
            if (root is null)
            {
                throw new ArgumentNullException(nameof(root));
            }

            if (!root.IsAbsoluteUri || (root.Scheme != Uri.UriSchemeHttps && root.Scheme != Uri.UriSchemeHttp))
            {
                throw new ArgumentException("The org's URL must be an absolute http(s) URL.", nameof(root));
            }

            if (timeout <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive.");
            }

            return new Uri(root.GetLeftPart(UriPartial.Authority) + "/");
        }

        /// <summary>Scheme, host and port of the org; every page is requested there (a next-page link elsewhere is refused).</summary>
        public Uri Root { get; }

        /// <summary>"Salesforce" or "Dataverse", for messages.</summary>
        private protected abstract string Provider { get; }

        public async Task RetrieveAsync(CaseQuery query, Func<IReadOnlyList<CaseRecord>, CancellationToken, Task> onPage, CancellationToken cancellationToken)
        {
            if (query is null)
            {
                throw new ArgumentNullException(nameof(query));
            }

            if (onPage is null)
            {
                throw new ArgumentNullException(nameof(onPage));
            }

            await BeforePagesAsync(query, onPage, cancellationToken).ConfigureAwait(false);
            await PagesAsync(FirstPage(query), query, "case query", ParsePage, onPage, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>
        /// Reads the pages of one query, starting at <paramref name="first"/>, and hands each page's items to <paramref name="onPage"/>
        /// before the next page is requested (empty pages are not handed over). <paramref name="what"/> names the query in errors.
        /// </summary>
        private protected async Task PagesAsync<T>(Uri first, CaseQuery query, string what, Func<JsonElement, Page<T>> parse, Func<IReadOnlyList<T>, CancellationToken, Task> onPage, CancellationToken cancellationToken)
        {
            var token = await TokenAsync(forceRefresh: false, page: 1, what, cancellationToken).ConfigureAwait(false);
            Uri? next = first;
            for (var page = 1; next is not null; page++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var uri = next;
                Page<T> result;
                for (var refreshed = false; ; refreshed = true)
                {
                    var bearer = token;
                    using (var response = await ProviderRetry.SendAsync(_http, () => NewRequest(uri, bearer, query), _timeout, $"{Provider} ({what}, page {page})", cancellationToken).ConfigureAwait(false))
                    {
                        if (response.StatusCode == HttpStatusCode.Unauthorized)
                        {
                            if (refreshed)
                            {
                                throw Unauthorized(page, what);
                            }

                            token = await TokenAsync(forceRefresh: true, page, what, cancellationToken).ConfigureAwait(false);
                            continue;
                        }

                        if (!response.IsSuccessStatusCode)
                        {
                            var code = await ErrorCodeAsync(response).ConfigureAwait(false);
                            throw SourceFailed(page, what, response.StatusCode, code);
                        }

                        result = await ReadPageAsync(response, page, what, parse, cancellationToken).ConfigureAwait(false);
                        break;
                    }
                }

                next = result.Next;
                if (next is not null && Uri.Compare(next, Root, UriComponents.SchemeAndServer, UriFormat.SafeUnescaped, StringComparison.OrdinalIgnoreCase) != 0)
                {
                    // The bearer token goes to the org's own host only.
                    throw Malformed(page, what, "its next-page link points to another host");
                }

                if (result.Items.Count > 0)
                {
                    await onPage(result.Items, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        /// <summary>What a provider reads before the case query's pages (Dataverse: the cases whose only change is a new note).</summary>
        private protected virtual Task BeforePagesAsync(CaseQuery query, Func<IReadOnlyList<CaseRecord>, CancellationToken, Task> onPage, CancellationToken cancellationToken) =>
            Task.CompletedTask;

        /// <summary>The first page's URL.</summary>
        private protected abstract Uri FirstPage(CaseQuery query);

        /// <summary>Adds the provider's headers (page size, protocol version) to a request that already has Authorization.</summary>
        private protected abstract void AddHeaders(HttpRequestMessage request, CaseQuery query);

        /// <summary>Reads one page; throws <see cref="FormatException"/> when the answer has not the expected shape.</summary>
        private protected abstract Page<CaseRecord> ParsePage(JsonElement root);

        /// <summary>The provider's error code from an error answer's JSON, or null.</summary>
        private protected abstract string? ErrorCode(JsonElement root);

        private HttpRequestMessage NewRequest(Uri uri, string token, CaseQuery query)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            AddHeaders(request, query);
            return request;
        }

        private async Task<string> TokenAsync(bool forceRefresh, int page, string what, CancellationToken cancellationToken)
        {
            var token = await _accessToken(forceRefresh, cancellationToken).ConfigureAwait(false);
            if (string.IsNullOrWhiteSpace(token))
            {
                throw Unauthorized(page, what);
            }

            return token;
        }

        private async Task<Page<T>> ReadPageAsync<T>(HttpResponseMessage response, int page, string what, Func<JsonElement, Page<T>> parse, CancellationToken cancellationToken)
        {
            try
            {
                using (var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false))
                using (var document = await JsonDocument.ParseAsync(stream, default, cancellationToken).ConfigureAwait(false))
                {
                    return parse(document.RootElement);
                }
            }
            catch (JsonException)
            {
                throw Malformed(page, what, "it is not valid JSON");
            }
            catch (FormatException e)
            {
                throw Malformed(page, what, e.Message);
            }
            catch (InvalidOperationException)
            {
                throw Malformed(page, what, "a field has an unexpected type");
            }
            catch (KeyNotFoundException)
            {
                throw Malformed(page, what, "a required field is missing");
            }
        }

        private async Task<string?> ErrorCodeAsync(HttpResponseMessage response)
        {
            try
            {
                var bytes = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                if (bytes.Length == 0)
                {
                    return null;
                }

                using (var document = JsonDocument.Parse(bytes))
                {
                    var code = ErrorCode(document.RootElement);
                    return code is not null && code.Length <= 100 && IsPlainCode(code) ? code : null;
                }
            }
            catch (JsonException)
            {
                return null;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
            catch (IOException)
            {
                return null;
            }
        }

        // Error codes are identifiers (INVALID_SESSION_ID, 0x80040216); anything else is not echoed into a message.
        private static bool IsPlainCode(string code)
        {
            foreach (var c in code)
            {
                if (!(char.IsLetterOrDigit(c) || c == '_' || c == '-' || c == '.'))
                {
                    return false;
                }
            }

            return true;
        }

        private ConnectionToolsException Unauthorized(int page, string what) => new ConnectionToolsException(
            ErrorIds.JobUnauthorized,
            ErrorKind.AuthenticationError,
            $"{Provider} refused the connection's access token on page {page} of the {what}, also after a refresh. No case was retrieved from that page on.",
            Root.Host,
            "Run Test-ConnectionAuthorization, then Update-ConnectionAuthorization for the connection; the next run resumes from the watermark.");

        private ConnectionToolsException SourceFailed(int page, string what, HttpStatusCode status, string? providerCode) => new ConnectionToolsException(
            ErrorIds.JobSourceFailed,
            (int)status >= 500 ? ErrorKind.ConnectionError : status == HttpStatusCode.Forbidden ? ErrorKind.PermissionDenied : ErrorKind.InvalidOperation,
            string.Format(
                CultureInfo.InvariantCulture,
                "{0} answered HTTP {1}{2} on page {3} of the {4}. The pages before it were delivered; the watermark stays at the last committed page.",
                Provider,
                (int)status,
                providerCode is null ? string.Empty : " (" + providerCode + ")",
                page,
                what),
            Root.Host,
            "The next run resumes from the watermark. If the error persists, check the org's status and the connected user's permissions on cases.");

        private ConnectionToolsException Malformed(int page, string what, string why) => new ConnectionToolsException(
            ErrorIds.JobSourceFailed,
            ErrorKind.InvalidData,
            $"{Provider}'s answer to page {page} of the {what} could not be read: {why}. The pages before it were delivered; the watermark stays at the last committed page.",
            Root.Host,
            "The next run resumes from the watermark. If the error persists, report it with the verbose output of the run.");

        /// <summary>Reads an optional string property (absent or null: null).</summary>
        private protected static string? OptionalString(JsonElement record, string name) =>
            record.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        /// <summary>Reads a required string property.</summary>
        private protected static string RequiredString(JsonElement record, string name) =>
            record.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
                ? text
                : throw new FormatException($"a record has no '{name}'");

        /// <summary>Reads a required timestamp property.</summary>
        private protected static DateTimeOffset RequiredTimestamp(JsonElement record, string name) =>
            CaseTimestamps.TryParse(OptionalString(record, name), out var value) ? value : throw new FormatException($"a record's '{name}' is not a timestamp");

        /// <summary>One page: its items and the next page's URL (null on the last page).</summary>
        private protected sealed class Page<T>
        {
            public Page(IReadOnlyList<T> items, Uri? next)
            {
                Items = items;
                Next = next;
            }

            public IReadOnlyList<T> Items { get; }

            public Uri? Next { get; }
        }
    }
}
