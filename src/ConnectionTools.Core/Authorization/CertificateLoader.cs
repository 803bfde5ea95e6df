using System;
using System.IO;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// Loads the certificate an unattended grant signs with, from a PFX file or the certificate store, and checks it can sign.
    /// Runs before any network call. Messages name the file or thumbprint, never the password.
    /// </summary>
    public static class CertificateLoader
    {
        public static X509Certificate2 Load(string? path, string? password, string? thumbprint)
        {
            var certificate = path != null ? FromFile(path, password) : FromStore(thumbprint ?? throw new ArgumentNullException(nameof(thumbprint)));
            if (!certificate.HasPrivateKey)
            {
                var what = path ?? thumbprint;
                certificate.Dispose();
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationCertificateNoPrivateKey,
                    ErrorKind.InvalidArgument,
                    $"The certificate '{what}' has no private key, so it cannot sign the sign-in assertion. Nothing was sent.",
                    what,
                    "Give the .pfx (PKCS #12) file that holds the private key, not the .cer the app was given, or a thumbprint of a certificate installed with its key.");
            }

            return certificate;
        }

        private static X509Certificate2 FromFile(string path, string? password)
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full))
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationCertificateNotFound,
                    ErrorKind.ObjectNotFound,
                    $"No certificate file at '{full}'. Nothing was sent.",
                    full,
                    "Check -CertificatePath, or use -CertificateThumbprint for a certificate in the certificate store.");
            }

            try
            {
                // Not persisted: the key lives only as long as this object (EphemeralKeySet is not in netstandard2.0).
                return new X509Certificate2(File.ReadAllBytes(full), password, X509KeyStorageFlags.DefaultKeySet);
            }
            catch (CryptographicException)
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationCertificatePassword,
                    ErrorKind.InvalidArgument,
                    $"The certificate file '{full}' could not be opened: the password is wrong, or it is not a PKCS #12 (.pfx) file. Nothing was sent.",
                    full,
                    "Give the file's password with -CertificatePassword (a SecureString), or export the certificate again as .pfx with its private key.");
            }
        }

        private static X509Certificate2 FromStore(string thumbprint)
        {
            var wanted = thumbprint.Replace(" ", "").ToUpperInvariant();
            foreach (var location in new[] { StoreLocation.CurrentUser, StoreLocation.LocalMachine })
            {
                try
                {
                    using (var store = new X509Store(StoreName.My, location))
                    {
                        store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
                        var found = store.Certificates.Find(X509FindType.FindByThumbprint, wanted, validOnly: false);
                        if (found.Count > 0)
                        {
                            return found[0];
                        }
                    }
                }
                catch (CryptographicException)
                {
                    // A store that does not exist on this platform (LocalMachine on Linux) holds nothing.
                }
            }

            throw new ConnectionToolsException(
                ErrorIds.AuthorizationCertificateNotFound,
                ErrorKind.ObjectNotFound,
                $"No certificate with thumbprint {wanted} in the CurrentUser or LocalMachine 'My' store. Nothing was sent.",
                wanted,
                "Check the thumbprint (Get-ChildItem Cert:\\CurrentUser\\My), or give the .pfx file with -CertificatePath.");
        }
    }
}
