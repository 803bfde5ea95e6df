using System;
using System.Net;
using ConnectionTools.Errors;

namespace ConnectionTools.Peering
{
    /// <summary>Rules for a public node's URL: absolute, http(s), and HTTPS unless it is loopback (tests and single-machine setups).</summary>
    public static class PeerUrls
    {
        public static Uri ValidatePublicUrl(string? value)
        {
            if (string.IsNullOrWhiteSpace(value) || !Uri.TryCreate(value!.Trim(), UriKind.Absolute, out var url) ||
                (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp) || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment) ||
                !string.IsNullOrEmpty(url.UserInfo))
            {
                throw new ConnectionToolsException(
                    ErrorIds.NodeInsecureUrl,
                    ErrorKind.InvalidArgument,
                    $"'{value}' is not a usable public URL: it must be an absolute https:// URL without a query string or credentials.",
                    value,
                    "Give the URL the private side will reach this node at, for example https://node.contoso.com:8443/.");
            }

            if (url.Scheme == Uri.UriSchemeHttp && !IsLoopback(url))
            {
                throw new ConnectionToolsException(
                    ErrorIds.NodeInsecureUrl,
                    ErrorKind.InvalidArgument,
                    $"The public URL '{url}' uses http. Peer requests carry credentials, so HTTPS is required unless the URL is loopback (127.0.0.1, ::1 or localhost).",
                    value,
                    "Use an https:// URL, with a certificate the private side trusts.");
            }

            // A trailing slash makes peer paths resolve under the URL's own path rather than replace it.
            return url.AbsolutePath.EndsWith("/", StringComparison.Ordinal) ? url : new Uri(url.AbsoluteUri + "/");
        }

        public static bool IsLoopback(Uri url) =>
            url.IsLoopback || (IPAddress.TryParse(url.DnsSafeHost, out var address) && IPAddress.IsLoopback(address));
    }
}
