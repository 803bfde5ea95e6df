using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionTools.Authorization.Salesforce
{
    /// <summary>
    /// Receives the browser's redirect after an authorization-code sign-in: a minimal HTTP/1.1 listener on
    /// http://127.0.0.1:&lt;free port&gt;/ (TcpListener, so no URL ACL or admin rights are needed on Windows). It answers the
    /// browser with a short page and hands back the redirect's query. Requests to other paths, or without code or error,
    /// are answered and ignored (favicon, speculative connections). One instance serves one sign-in.
    /// </summary>
    internal sealed class LoopbackRedirectListener : IDisposable
    {
        private const int MaxRequestBytes = 16 * 1024;
        private static readonly TimeSpan ConnectionTimeout = TimeSpan.FromSeconds(10);

        private readonly TcpListener _listener;
        private int _disposed;

        private readonly string _path;

        private LoopbackRedirectListener(TcpListener listener, int port, string path)
        {
            _listener = listener;
            _path = path;
            RedirectUri = new Uri($"http://127.0.0.1:{port}{path}");
        }

        /// <summary>http://127.0.0.1:port/path — what the authorize request names as redirect_uri.</summary>
        public Uri RedirectUri { get; }

        /// <summary>Listens on the redirect's port (0: any free port) and accepts the redirect at its path.</summary>
        public static LoopbackRedirectListener Start(LoopbackRedirect redirect)
        {
            var listener = new TcpListener(IPAddress.Loopback, redirect.Port);
            try
            {
                listener.Start();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse || e.SocketErrorCode == SocketError.AccessDenied)
            {
                throw new Errors.ConnectionToolsException(
                    Errors.ErrorIds.AuthorizationRedirectPortInUse,
                    Errors.ErrorKind.ResourceUnavailable,
                    $"The sign-in cannot listen for the browser's redirect at {redirect.CallbackUrl}: the port is in use ({e.SocketErrorCode}). Nothing was sent.",
                    redirect.CallbackUrl,
                    "Close the program using the port, or give another port with -RedirectPort (or Set-ConnectionNode -SalesforceRedirectPort) and add its callback URL to the connected app.");
            }

            return new LoopbackRedirectListener(listener, ((IPEndPoint)listener.LocalEndpoint).Port, redirect.Path);
        }

        /// <summary>Waits for the redirect and returns its query parameters. Cancelled by <paramref name="cancellationToken"/>.</summary>
        public async Task<IReadOnlyDictionary<string, string>> WaitForRedirectAsync(CancellationToken cancellationToken)
        {
            var result = new TaskCompletionSource<IReadOnlyDictionary<string, string>>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => result.TrySetCanceled(cancellationToken)))
            {
                var accepting = AcceptLoopAsync(result, cancellationToken);
                try
                {
                    return await result.Task.ConfigureAwait(false);
                }
                finally
                {
                    Dispose();
                    try
                    {
                        await accepting.ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is ObjectDisposedException || e is SocketException || e is InvalidOperationException || e is OperationCanceledException)
                    {
                        // The listener was stopped on purpose.
                    }
                }
            }
        }

        private async Task AcceptLoopAsync(TaskCompletionSource<IReadOnlyDictionary<string, string>> result, CancellationToken cancellationToken)
        {
            while (!result.Task.IsCompleted && !cancellationToken.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is ObjectDisposedException || e is SocketException || e is InvalidOperationException)
                {
                    if (Volatile.Read(ref _disposed) != 0)
                    {
                        return;
                    }

                    result.TrySetException(e);
                    return;
                }

                // Each connection on its own, so a browser's idle pre-connection cannot hold up the real request.
                _ = ServeAsync(client, result, cancellationToken);
            }
        }

        private async Task ServeAsync(TcpClient client, TaskCompletionSource<IReadOnlyDictionary<string, string>> result, CancellationToken cancellationToken)
        {
            using (client)
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(ConnectionTimeout);
                try
                {
                    var stream = client.GetStream();
                    using (timeout.Token.Register(() => client.Dispose()))
                    {
                        var target = await ReadRequestTargetAsync(stream, timeout.Token).ConfigureAwait(false);
                        if (target is null)
                        {
                            await WriteAsync(stream, 400, "Bad request", "This address only receives the sign-in redirect.", timeout.Token).ConfigureAwait(false);
                            return;
                        }

                        var question = target.IndexOf('?');
                        var path = question < 0 ? target : target.Substring(0, question);
                        var query = ParseQuery(question < 0 ? "" : target.Substring(question + 1));
                        if (!string.Equals(path, _path, StringComparison.Ordinal) || (!query.ContainsKey("code") && !query.ContainsKey("error")))
                        {
                            await WriteAsync(stream, 404, "Not found", "This address only receives the sign-in redirect.", timeout.Token).ConfigureAwait(false);
                            return;
                        }

                        // Handed back first: the sign-in is complete even if the browser goes away before the page is written.
                        result.TrySetResult(query);
                        if (query.ContainsKey("error"))
                        {
                            await WriteAsync(stream, 200, "Sign-in not completed", "The authorization was not completed. You can close this window and return to PowerShell.", timeout.Token).ConfigureAwait(false);
                        }
                        else
                        {
                            await WriteAsync(stream, 200, "Signed in", "The authorization is complete. You can close this window and return to PowerShell.", timeout.Token).ConfigureAwait(false);
                        }
                    }
                }
                catch (Exception e) when (e is System.IO.IOException || e is SocketException || e is ObjectDisposedException || e is OperationCanceledException)
                {
                    // A connection that broke or stayed silent: wait for the next one.
                }
            }
        }

        /// <summary>The request target of a GET (path and query), or null when the request is not a GET or is malformed.</summary>
        private static async Task<string?> ReadRequestTargetAsync(NetworkStream stream, CancellationToken cancellationToken)
        {
            var buffer = new byte[MaxRequestBytes];
            var length = 0;
            while (length < buffer.Length)
            {
                var read = await stream.ReadAsync(buffer, length, buffer.Length - length, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (IndexOfHeaderEnd(buffer, length) >= 0)
                {
                    break;
                }
            }

            var text = Encoding.ASCII.GetString(buffer, 0, length);
            var lineEnd = text.IndexOf("\r\n", StringComparison.Ordinal);
            if (lineEnd <= 0)
            {
                return null;
            }

            var parts = text.Substring(0, lineEnd).Split(' ');
            if (parts.Length != 3 || parts[0] != "GET" || !parts[2].StartsWith("HTTP/", StringComparison.Ordinal) || !parts[1].StartsWith("/", StringComparison.Ordinal))
            {
                return null;
            }

            return parts[1];
        }

        private static int IndexOfHeaderEnd(byte[] buffer, int length)
        {
            for (var i = 3; i < length; i++)
            {
                if (buffer[i - 3] == '\r' && buffer[i - 2] == '\n' && buffer[i - 1] == '\r' && buffer[i] == '\n')
                {
                    return i;
                }
            }

            return -1;
        }

        internal static Dictionary<string, string> ParseQuery(string query)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in query.Split(new[] { '&' }, StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=');
                var name = Decode(equals < 0 ? pair : pair.Substring(0, equals));
                var value = equals < 0 ? "" : Decode(pair.Substring(equals + 1));
                if (!values.ContainsKey(name))
                {
                    values[name] = value;
                }
            }

            return values;
        }

        private static string Decode(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));

        private static async Task WriteAsync(NetworkStream stream, int status, string title, string text, CancellationToken cancellationToken)
        {
            var body = Encoding.UTF8.GetBytes(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ConnectionTools</title></head>" +
                $"<body style=\"font-family:sans-serif;margin:3em\"><h2>{title}</h2><p>{text}</p></body></html>");
            var reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request";
            var head = Encoding.ASCII.GetBytes(
                $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {body.Length}\r\n" +
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(head, 0, head.Length, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(body, 0, body.Length, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _listener.Stop();
            }
        }
    }
}
