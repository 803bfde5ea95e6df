using System;
using System.IO;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Entra
{
    /// <summary>
    /// Loads the certificate of an Entra ID app registration for client credentials: from a PFX file (with its password) or by
    /// thumbprint from CurrentUser\My, then LocalMachine\My. The certificate must carry its private key. No message ever holds
    /// the password.
    /// </summary>
    public static class EntraCertificates
    {
        /// <summary>Loads from <paramref name="path"/> when given, else from the stores by <paramref name="thumbprint"/>.</summary>
        public static X509Certificate2 Load(string? path, string? password, string? thumbprint)
        {
            if (!string.IsNullOrWhiteSpace(path))
            {
                return FromFile(path!, password);
            }

            if (!string.IsNullOrWhiteSpace(thumbprint))
            {
                return FromStore(thumbprint!);
            }

            throw new ConnectionToolsException(
                ErrorIds.AuthorizationCertificateNotFound,
                ErrorKind.ObjectNotFound,
                "No certificate was given: the grant names neither a certificate file nor a thumbprint.",
                null,
                "Give -CertificatePath (a .pfx file) or -CertificateThumbprint (a certificate in Cert:\\CurrentUser\\My or Cert:\\LocalMachine\\My).");
        }

        public static X509Certificate2 FromFile(string path, string? password)
        {
            if (path is null)
            {
                throw new ArgumentNullException(nameof(path));
            }

            if (!File.Exists(path))
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationCertificateNotFound,
                    ErrorKind.ObjectNotFound,
                    $"The certificate file '{path}' does not exist.",
                    path,
                    "Give the path of the app registration's .pfx file with -CertificatePath.");
            }

            X509Certificate2 certificate;
            try
            {
                certificate = new X509Certificate2(File.ReadAllBytes(path), password, KeyStorage);
            }
            catch (CryptographicException e)
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationCertificatePassword,
                    ErrorKind.InvalidArgument,
                    $"The certificate file '{path}' could not be opened: the password is wrong or missing, or the file is not a PFX (PKCS#12) file.",
                    path,
                    "Give the file's password with -CertificatePassword, or export the certificate with its private key as a .pfx file.",
                    e);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationCertificateNotFound,
                    ErrorKind.ReadError,
                    $"The certificate file '{path}' could not be read ({e.Message}).",
                    path,
                    "Check that the file exists and that this account may read it.",
                    e);
            }

            return RequirePrivateKey(certificate, path);
        }

        public static X509Certificate2 FromStore(string thumbprint)
        {
            if (thumbprint is null)
            {
                throw new ArgumentNullException(nameof(thumbprint));
            }

            var wanted = Normalize(thumbprint);
            foreach (var location in new[] { StoreLocation.CurrentUser, StoreLocation.LocalMachine })
            {
                X509Certificate2? found = null;
                try
                {
                    using (var store = new X509Store(StoreName.My, location))
                    {
                        store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
                        var matches = store.Certificates.Find(X509FindType.FindByThumbprint, wanted, validOnly: false);
                        foreach (var candidate in matches)
                        {
                            // Prefer a copy with its private key when the store holds the certificate twice.
                            if (found is null || (!found.HasPrivateKey && candidate.HasPrivateKey))
                            {
                                found?.Dispose();
                                found = candidate;
                            }
                            else
                            {
                                candidate.Dispose();
                            }
                        }
                    }
                }
                catch (CryptographicException)
                {
                    // The store does not exist here (LocalMachine\My on Linux and macOS): look in the next one.
                    continue;
                }
                catch (PlatformNotSupportedException)
                {
                    continue;
                }

                if (found != null)
                {
                    return RequirePrivateKey(found, $@"Cert:\{location}\My\{wanted}");
                }
            }

            throw new ConnectionToolsException(
                ErrorIds.AuthorizationCertificateNotFound,
                ErrorKind.ObjectNotFound,
                $"No certificate with thumbprint {wanted} is in Cert:\\CurrentUser\\My or Cert:\\LocalMachine\\My.",
                wanted,
                "Import the app registration's certificate with its private key into Cert:\\CurrentUser\\My, or give -CertificatePath.");
        }

        private static X509Certificate2 RequirePrivateKey(X509Certificate2 certificate, string where)
        {
            bool usable;
            try
            {
                using (var rsa = certificate.GetRSAPrivateKey())
                {
                    usable = rsa != null;
                }
            }
            catch (CryptographicException)
            {
                usable = false;
            }

            if (!usable)
            {
                var thumbprint = certificate.Thumbprint;
                certificate.Dispose();
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationCertificateNoPrivateKey,
                    ErrorKind.InvalidArgument,
                    $"The certificate {thumbprint} ({where}) has no usable RSA private key; Entra ID client credentials sign with it.",
                    where,
                    "Use the certificate with its private key (a .pfx exported with the key, or one imported with its key), not the .cer the app registration holds.");
            }

            return certificate;
        }

        private static string Normalize(string thumbprint)
        {
            var chars = new System.Text.StringBuilder(thumbprint.Length);
            foreach (var c in thumbprint)
            {
                if (Uri.IsHexDigit(c))
                {
                    chars.Append(char.ToUpperInvariant(c));
                }
            }

            return chars.ToString();
        }

        // EphemeralKeySet (32; .NET Core 2.0+, missing from netstandard2.0's reference): keys stay in memory, no key files
        // left behind on Windows. macOS does not support it, and .NET Framework ignores it.
        private const X509KeyStorageFlags EphemeralKeySet = (X509KeyStorageFlags)32;

        private static X509KeyStorageFlags KeyStorage =>
            System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.OSX) ||
            System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal)
                ? X509KeyStorageFlags.DefaultKeySet
                : EphemeralKeySet;
    }
}
