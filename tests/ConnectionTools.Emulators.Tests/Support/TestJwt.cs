using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace ConnectionTools.Emulators.Tests;

/// <summary>Builds RS256 JWTs by hand (independent of the emulator's own JWS code) and test certificates.</summary>
internal static class TestJwt
{
    public static X509Certificate2 CreateCertificate(string subject = "CN=ConnectionTools Test Client")
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    public static string B64(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Sign(X509Certificate2 certificate, object claims)
    {
        var header = new { alg = "RS256", typ = "JWT", x5t = B64(certificate.GetCertHash()) };
        var input = B64(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + B64(JsonSerializer.SerializeToUtf8Bytes(claims));
        using var key = certificate.GetRSAPrivateKey()!;
        var sig = key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return input + "." + B64(sig);
    }

    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static FormUrlEncodedContent Form(params (string Key, string Value)[] pairs) =>
        new(pairs.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));

    public static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient http, Uri uri, params (string Key, string Value)[] pairs)
    {
        using var response = await http.PostAsync(uri, Form(pairs));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public static string Str(this JsonElement e, string name) => e.GetProperty(name).GetString()!;
}

/// <summary>RSA key generation is slow on small machines: make each test certificate once per run.</summary>
internal static class SharedCertificates
{
    private static readonly Lazy<X509Certificate2> ClientLazy = new(() => TestJwt.CreateCertificate());
    private static readonly Lazy<X509Certificate2> OtherLazy = new(() => TestJwt.CreateCertificate("CN=Not registered"));

    public static X509Certificate2 Client => ClientLazy.Value;

    public static X509Certificate2 Other => OtherLazy.Value;
}
