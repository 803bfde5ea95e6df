using System;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ConnectionTools.Errors;
using ConnectionTools.Security;
using ConnectionTools.Text;

namespace ConnectionTools.Peering
{
    /// <summary>
    /// The short-lived token on every peer request after acceptance: a compact JWS (HS256) signed with the connection's shared key,
    /// carrying issuer (the sending node), audience (the receiving node), the connection, issue and expiry times, and a unique id.
    /// </summary>
    public static class PeerToken
    {
        public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

        /// <summary>How far apart two nodes' clocks may be.</summary>
        public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

        private static readonly string Header = Base64Url.Encode(Encoding.UTF8.GetBytes("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"));

        public static string Create(byte[] key, Guid issuer, Guid audience, Guid connectionId, DateTimeOffset now)
        {
            var claims = new TokenClaims
            {
                Issuer = issuer.ToString("D"),
                Audience = audience.ToString("D"),
                ConnectionId = connectionId.ToString("D"),
                IssuedAt = now.ToUnixTimeSeconds(),
                ExpiresAt = now.Add(Lifetime).ToUnixTimeSeconds(),
                TokenId = Guid.NewGuid().ToString("N"),
            };
            var body = Header + "." + Base64Url.Encode(JsonSerializer.SerializeToUtf8Bytes(claims, PeerJson.Options));
            return body + "." + Base64Url.Encode(Sign(key, body));
        }

        /// <summary>
        /// Checks the token and returns its claims. The signature is checked first, so nothing from an unsigned token is trusted.
        /// Replays are checked by the caller against its replay guard, with the returned token id.
        /// </summary>
        public static TokenClaims Validate(string? token, byte[] key, Guid expectedAudience, Guid connectionId, DateTimeOffset now)
        {
            var parts = (token ?? "").Split('.');
            if (parts.Length != 3 || parts[0] != Header)
            {
                throw BadSignature(connectionId, "the token is not a signed peer token");
            }

            byte[] signature;
            TokenClaims? claims;
            try
            {
                signature = Base64Url.Decode(parts[2]);
                if (!ConstantTime.Equal(signature, Sign(key, parts[0] + "." + parts[1])))
                {
                    throw BadSignature(connectionId, "the signature does not match this connection's key");
                }

                claims = JsonSerializer.Deserialize<TokenClaims>(Base64Url.Decode(parts[1]), PeerJson.Options);
            }
            catch (Exception e) when (e is FormatException || e is JsonException)
            {
                throw BadSignature(connectionId, "the token is malformed");
            }

            if (claims is null || claims.Audience != expectedAudience.ToString("D") || claims.ConnectionId != connectionId.ToString("D") || string.IsNullOrEmpty(claims.TokenId))
            {
                throw BadSignature(connectionId, "the token was made for another node or connection");
            }

            var nowSeconds = now.ToUnixTimeSeconds();
            if (claims.ExpiresAt + (long)ClockSkew.TotalSeconds < nowSeconds || claims.IssuedAt - (long)ClockSkew.TotalSeconds > nowSeconds ||
                claims.ExpiresAt - claims.IssuedAt > (long)Lifetime.TotalSeconds)
            {
                throw new ConnectionToolsException(
                    ErrorIds.PeerTokenExpired,
                    ErrorKind.AuthenticationError,
                    $"A peer request for connection {connectionId} carried an expired token (or one from a clock more than {ClockSkew.TotalSeconds:0} s off).",
                    connectionId,
                    "Check that both nodes' clocks are right (NTP), then run Sync-Connection again.");
            }

            return claims;
        }

        internal static ConnectionToolsException BadSignature(Guid connectionId, string why) => new ConnectionToolsException(
            ErrorIds.PeerBadSignature,
            ErrorKind.AuthenticationError,
            $"A peer request for connection {connectionId} was refused: {why}.",
            connectionId,
            "The two sides no longer share this connection's key. Remove the connection on both sides and create a new invitation.");

        private static byte[] Sign(byte[] key, string data)
        {
            using (var hmac = new HMACSHA256(key))
            {
                return hmac.ComputeHash(Encoding.ASCII.GetBytes(data));
            }
        }

    }
}
