using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace ConnectionTools.Emulators;

/// <summary>Minimal RS256 JWS helpers (compact serialization) used by the emulators.</summary>
public static class Jws
{
    public static string Base64UrlEncode(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static byte[] Base64UrlDecode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Replace('-', '+').Replace('_', '/');
        switch (s.Length % 4)
        {
            case 2: s += "=="; break;
            case 3: s += "="; break;
            case 1: throw new FormatException("Invalid base64url length.");
        }
        return Convert.FromBase64String(s);
    }

    /// <summary>S256 PKCE challenge of a code verifier.</summary>
    public static string S256Challenge(string codeVerifier)
    {
        ArgumentNullException.ThrowIfNull(codeVerifier);
        return Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(codeVerifier)));
    }

    /// <summary>Signs a JWT with RS256. Header gets alg, typ and (when a certificate is given) x5t.</summary>
    public static string SignRs256(RSA key, IReadOnlyDictionary<string, object?> claims, X509Certificate2? certificate = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        var header = new Dictionary<string, object?> { ["alg"] = "RS256", ["typ"] = "JWT" };
        if (certificate is not null)
        {
            header["x5t"] = Base64UrlEncode(certificate.GetCertHash());
        }
        var signingInput = Base64UrlEncode(JsonSerializer.SerializeToUtf8Bytes(header)) + "." +
                           Base64UrlEncode(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64UrlEncode(signature);
    }

    /// <summary>Parses a compact JWS and checks its RS256 signature against any of the given certificates' public keys.
    /// Returns the payload, or null with a reason.</summary>
    /// <param name="allowPs256">Also accept PS256 (RSASSA-PSS), which Entra ID accepts and MSAL.NET signs client assertions with.</param>
    public static JsonElement? ValidateRs256(string jwt, IEnumerable<X509Certificate2> certificates, out string failure, bool allowPs256 = false)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        failure = "";
        if (string.IsNullOrEmpty(jwt))
        {
            failure = "missing";
            return null;
        }
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            failure = "malformed";
            return null;
        }
        JsonElement header;
        JsonElement payload;
        byte[] signature;
        try
        {
            header = JsonDocument.Parse(Base64UrlDecode(parts[0])).RootElement;
            payload = JsonDocument.Parse(Base64UrlDecode(parts[1])).RootElement;
            signature = Base64UrlDecode(parts[2]);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            failure = "malformed";
            return null;
        }
        if (header.ValueKind != JsonValueKind.Object || payload.ValueKind != JsonValueKind.Object ||
            !header.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String ||
            !(alg.GetString() == "RS256" || (allowPs256 && alg.GetString() == "PS256")))
        {
            failure = "algorithm";
            return null;
        }
        var input = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        foreach (var certificate in certificates)
        {
            using var rsa = certificate.GetRSAPublicKey();
            var padding = alg.GetString() == "PS256" ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
            if (rsa is not null && rsa.VerifyData(input, signature, HashAlgorithmName.SHA256, padding))
            {
                return payload;
            }
        }
        failure = "signature";
        return null;
    }

    internal static string? GetString(JsonElement payload, string name) =>
        payload.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal static long? GetNumber(JsonElement payload, string name) =>
        payload.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

    /// <summary>aud may be a string or an array of strings.</summary>
    internal static bool HasAudience(JsonElement payload, string audience)
    {
        if (!payload.TryGetProperty("aud", out var aud))
        {
            return false;
        }
        if (aud.ValueKind == JsonValueKind.String)
        {
            return string.Equals(aud.GetString()?.TrimEnd('/'), audience.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);
        }
        if (aud.ValueKind == JsonValueKind.Array)
        {
            return aud.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String &&
                string.Equals(a.GetString()?.TrimEnd('/'), audience.TrimEnd('/'), StringComparison.OrdinalIgnoreCase));
        }
        return false;
    }

    internal static string NewToken(int bytes = 32) => Base64UrlEncode(RandomNumberGenerator.GetBytes(bytes));
}
