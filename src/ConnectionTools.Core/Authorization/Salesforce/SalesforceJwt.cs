using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ConnectionTools.Errors;
using ConnectionTools.Text;

namespace ConnectionTools.Authorization.Salesforce
{
    /// <summary>The JWT bearer assertion and the PKCE values, built with System.Security.Cryptography only.</summary>
    internal static class SalesforceJwt
    {
        /// <summary>
        /// An RS256 assertion: iss = consumer key, sub = username, aud = the login host (never the My Domain), exp = now +
        /// <paramref name="lifetime"/> (Salesforce accepts at most 3 minutes).
        /// </summary>
        public static string CreateAssertion(X509Certificate2 certificate, string consumerKey, string username, string audience, DateTimeOffset now, TimeSpan lifetime)
        {
            var header = new Dictionary<string, object>
            {
                ["alg"] = "RS256",
                ["typ"] = "JWT",
                ["x5t"] = Base64Url.Encode(certificate.GetCertHash()),
            };
            var claims = new Dictionary<string, object>
            {
                ["iss"] = consumerKey,
                ["sub"] = username,
                ["aud"] = audience,
                ["exp"] = (now + lifetime).ToUnixTimeSeconds(),
            };
            var input = Base64Url.Encode(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url.Encode(JsonSerializer.SerializeToUtf8Bytes(claims));
            using (var key = certificate.GetRSAPrivateKey())
            {
                if (key is null)
                {
                    throw new ConnectionToolsException(ErrorIds.AuthorizationCertificateNoPrivateKey, ErrorKind.InvalidArgument,
                        $"The certificate {certificate.Thumbprint} has no RSA private key, so it cannot sign the assertion. Nothing was sent.",
                        certificate.Thumbprint, "Give the .pfx file exported with its private key.");
                }

                var signature = key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                return input + "." + Base64Url.Encode(signature);
            }
        }

        /// <summary>A PKCE code verifier: 32 random bytes, base64url (43 characters).</summary>
        public static string NewVerifier() => Base64Url.Encode(RandomBytes(32));

        /// <summary>The S256 code challenge of <paramref name="verifier"/>.</summary>
        public static string Challenge(string verifier)
        {
            using (var sha = SHA256.Create())
            {
                return Base64Url.Encode(sha.ComputeHash(Encoding.ASCII.GetBytes(verifier)));
            }
        }

        /// <summary>A random state value for the authorize request.</summary>
        public static string NewState() => Base64Url.Encode(RandomBytes(16));

        private static byte[] RandomBytes(int count)
        {
            var bytes = new byte[count];
            using (var random = RandomNumberGenerator.Create())
            {
                random.GetBytes(bytes);
            }

            return bytes;
        }
    }
}
