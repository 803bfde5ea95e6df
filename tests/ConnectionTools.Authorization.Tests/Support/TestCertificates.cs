using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ConnectionTools.Authorization.Tests;

/// <summary>Self-signed certificates written to a folder: a password-protected PFX with its key, and a CER without one.</summary>
internal static class TestCertificates
{
    public const string Password = "pfx-Pa55word-for-tests";

    public static (string Pfx, string Cer, X509Certificate2 Certificate) Write(string folder, string name = "app")
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var pfx = Path.Combine(folder, name + ".pfx");
        var cer = Path.Combine(folder, name + ".cer");
        File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pfx, Password));
        File.WriteAllBytes(cer, certificate.Export(X509ContentType.Cert));
        return (pfx, cer, X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx, Password), Password));
    }
}
