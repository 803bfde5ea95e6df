using System;
using System.Globalization;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// Where the interactive sign-in listens for the browser's redirect: http://127.0.0.1:&lt;port&gt;&lt;path&gt;. Salesforce matches
    /// redirect_uri exactly against the connected app's callback URLs, so the port is fixed (default 1717, path /OauthRedirect)
    /// and configurable per node (Set-ConnectionNode -SalesforceRedirectPort) and per command (-RedirectPort). Port 0 takes any
    /// free port, which only a provider that accepts any loopback port allows (RFC 8252 §7.3).
    /// </summary>
    public sealed class LoopbackRedirect
    {
        public const int DefaultPort = 1717;
        public const string DefaultPath = "/OauthRedirect";

        public static readonly LoopbackRedirect Default = new LoopbackRedirect(DefaultPort, DefaultPath);

        public LoopbackRedirect(int port, string? path = null)
        {
            if (port < 0 || port > 65535)
            {
                throw Invalid(port.ToString(CultureInfo.InvariantCulture), "The port must be 1 to 65535.");
            }

            var p = string.IsNullOrWhiteSpace(path) ? DefaultPath : path!.Trim();
            if (!p.StartsWith("/", StringComparison.Ordinal) || p.IndexOfAny(new[] { '?', '#', ' ' }) >= 0)
            {
                throw Invalid(p, "The path must start with '/' and hold no query, fragment or space.");
            }

            Port = port;
            Path = p;
        }

        public int Port { get; }

        public string Path { get; }

        /// <summary>The callback URL to register in the connected app.</summary>
        public string CallbackUrl => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}{Path}";

        private static ConnectionToolsException Invalid(string value, string problem) => new ConnectionToolsException(
            ErrorIds.AuthorizationInvalidFlow,
            ErrorKind.InvalidArgument,
            $"'{value}' is not a usable loopback redirect. {problem} Nothing was sent.",
            value,
            $"Use a port such as {DefaultPort} and a path such as {DefaultPath}, matching a callback URL of the connected app.");
    }
}
