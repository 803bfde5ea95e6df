using System.Security.Cryptography.X509Certificates;
using ConnectionTools.Authorization.Entra;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Tests;

public sealed class CertificateLoaderTests : IDisposable
{
    private readonly ClientCertificate _certificate = ClientCertificate.Create();

    public void Dispose() => _certificate.Dispose();

    [Fact]
    public void A_pfx_file_with_its_password_loads_with_the_private_key()
    {
        using var loaded = CertificateLoader.Load(_certificate.PfxPath, null, EntraRig.CertificatePassword);

        Assert.True(loaded.HasPrivateKey);
        Assert.Equal(_certificate.WithKey.Thumbprint, loaded.Thumbprint);
    }

    [Fact]
    public void A_wrong_password_is_CertificatePassword_and_the_message_never_holds_a_password()
    {
        const string wrong = "not-the-Pa55word-91";

        var error = Assert.Throws<ConnectionToolsException>(() => CertificateLoader.Load(_certificate.PfxPath, null, wrong));

        Assert.Equal(ErrorIds.AuthorizationCertificatePassword, error.ErrorId);
        Assert.Contains(_certificate.PfxPath, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(EntraRig.CertificatePassword, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, error.RecommendedAction ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_CertificateNotFound()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ct-missing-{Guid.NewGuid():N}.pfx");

        var error = Assert.Throws<ConnectionToolsException>(() => CertificateLoader.Load(path, null, EntraRig.CertificatePassword));

        Assert.Equal(ErrorIds.AuthorizationCertificateNotFound, error.ErrorId);
    }

    [Fact]
    public void A_certificate_without_its_private_key_is_CertificateNoPrivateKey()
    {
        var cer = Path.Combine(Path.GetTempPath(), $"ct-public-{Guid.NewGuid():N}.cer");
        File.WriteAllBytes(cer, _certificate.PublicOnly.Export(X509ContentType.Cert));
        try
        {
            var error = Assert.Throws<ConnectionToolsException>(() => CertificateLoader.Load(cer, null, null));

            Assert.Equal(ErrorIds.AuthorizationCertificateNoPrivateKey, error.ErrorId);
        }
        finally
        {
            File.Delete(cer);
        }
    }

    [Fact]
    public void Neither_path_nor_thumbprint_is_CertificateNotFound()
    {
        var error = Assert.Throws<ConnectionToolsException>(() => CertificateLoader.Load(null, " ", null));

        Assert.Equal(ErrorIds.AuthorizationCertificateNotFound, error.ErrorId);
    }

    [Fact]
    public void An_unknown_thumbprint_is_CertificateNotFound()
    {
        var error = Assert.Throws<ConnectionToolsException>(() => CertificateLoader.Load(null, new string('A', 40), null));

        Assert.Equal(ErrorIds.AuthorizationCertificateNotFound, error.ErrorId);
        // The store is named the way the user's platform names it: the Cert: drive on Windows, X509Store elsewhere.
        Assert.Contains(OperatingSystem.IsWindows() ? @"CurrentUser\My" : "X509Store My, CurrentUser", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_thumbprint_finds_the_certificate_in_CurrentUser_My_in_any_spelling()
    {
        using var persisted = X509CertificateLoader.LoadPkcs12FromFile(_certificate.PfxPath, EntraRig.CertificatePassword, X509KeyStorageFlags.PersistKeySet | X509KeyStorageFlags.Exportable);
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        store.Add(persisted);
        try
        {
            var spelled = string.Join(' ', persisted.Thumbprint.ToLowerInvariant().Chunk(2).Select(c => new string(c)));

            using var loaded = CertificateLoader.Load(null, spelled, null);

            Assert.Equal(persisted.Thumbprint, loaded.Thumbprint);
            Assert.True(loaded.HasPrivateKey);
        }
        finally
        {
            store.Remove(persisted);
        }
    }

    [Fact]
    public async Task A_client_certificate_grant_whose_password_no_longer_opens_the_file_fails_before_any_network_call()
    {
        await using var rig = await EntraRig.StartAsync(Authorization.EnvironmentType.Public);
        var outcome = await rig.AuthorizeAsync(rig.Spec(AuthorizationFlow.ClientCertificate));
        rig.Emulator.ResetRequestLog();
        outcome.Grant.CertificatePassword = "changed-Pa55";

        var error = await Assert.ThrowsAsync<ConnectionToolsException>(() => rig.RefreshAsync(outcome.Grant));

        Assert.Equal(ErrorIds.AuthorizationCertificatePassword, error.ErrorId);
        Assert.DoesNotContain("changed-Pa55", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, rig.Emulator.RequestCount);
    }
}
