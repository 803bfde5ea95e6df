using System;

namespace ConnectionTools.Text
{
    /// <summary>Base64url without padding (RFC 4648 section 5), as JWTs and PKCE use it.</summary>
    internal static class Base64Url
    {
        public static string Encode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        /// <exception cref="FormatException">The text is not base64url.</exception>
        public static byte[] Decode(string text)
        {
            var padded = text.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(padded + new string('=', (4 - (padded.Length % 4)) % 4));
        }
    }
}
