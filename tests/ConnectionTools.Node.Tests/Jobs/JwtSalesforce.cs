using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ConnectionTools.Core.Tests;
using ConnectionTools.Emulators;
using ConnectionTools.SystemConnections;
using ConnectionTools.Testing;

namespace ConnectionTools.Node.Tests;

/// <summary>
/// A Salesforce connection "support" with an unattended grant (JWT bearer, a certificate file in the store's folder) and a
/// loopback instance URL: a node host in this process or in a process of its own reaches the emulator and signs in alone.
/// </summary>
internal static class JwtSalesforce
{
    public static void Connect(TestStore store, SalesforceEmulator salesforce, string clientId)
    {
        using var rsa = RSA.Create(2048);
        using var certificate = new CertificateRequest("CN=node-test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var pfx = Path.Combine(store.Folder, "jwt.pfx");
        File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pfx, "node-test"));
        // The emulator checks every later assertion with it, after this certificate is disposed: it keeps a copy of the public part.
        salesforce.RegisterConnectedApp(clientId, null, X509CertificateLoader.LoadCertificate(certificate.Export(X509ContentType.Cert)));
        salesforce.RegisterUser("jobs@contoso.example");
        var admin = new RecordingHost();
        new SystemConnectionCommands(store.Node, admin).New(new NewConnectionRequest
        {
            Name = "support",
            Type = "SalesforceProduction",
            InstanceUrl = salesforce.BaseUri.AbsoluteUri,
            AcceptDataProcessingAgreement = true,
            ClientId = clientId,
            Username = "jobs@contoso.example",
            CertificatePath = pfx,
            CertificatePassword = "node-test",
        });
        Assert.Empty(admin.Errors);
    }
}
