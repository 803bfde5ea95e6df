using System;
using System.IO;
using System.Security.Cryptography;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// Loads the certificate of an unattended grant (Salesforce JWT bearer, Entra ID client certificate) from a PFX file (with its
    /// password) or by thumbprint from Cert:\CurrentUser\My, then Cert:\LocalMachine\My, and checks it has a usable RSA private key.
    /// Errors name the file or thumbprint and the fix; the password never appears in any message.
    /// </summary>
    public static class CertificateLoader
    {
        // What Windows and .NET's PKCS#12 reader set as HResult when the PFX password is wrong (ERROR_INVALID_PASSWORD).
        private const int ErrorInvalidPassword = unchecked((int)0x80070056);

        /// <summary>Loads from <paramref name="path"/> when given, else from the store by <paramref name="thumbprint"/>.</summary>
        public static X509Certificate2 Load(string? path, string? thumbprint, string? password)
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
                ErrorKind.InvalidArgument,
                "No certificate was given for the unattended grant. Nothing was sent.",
                null,
                $"Give -CertificatePath (a .pfx file with the private key, and -CertificatePassword) or -CertificateThumbprint (a certificate in {StoreLabel(IsWindows)}).");
        }

        /// <summary>Loads a PFX/PKCS#12 file (or a certificate file, which then fails the private-key check).</summary>
        public static X509Certificate2 FromFile(string path, string? password)
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                throw new ArgumentException("A path is required.", nameof(path));
            }

            string full;
            try
            {
                full = Path.GetFullPath(path);
            }
            catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException || e is System.Security.SecurityException)
            {
                throw NotFound(path, $"The certificate path '{path}' is not a valid path.");
            }

            if (!File.Exists(full))
            {
                throw NotFound(path, $"The certificate file '{full}' does not exist.");
            }

            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(full);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is System.Security.SecurityException)
            {
                throw NotFound(path, $"The certificate file '{full}' could not be read ({e.GetType().Name}).", e);
            }

            X509Certificate2 certificate;
            try
            {
                certificate = new X509Certificate2(bytes, password, X509KeyStorageFlags.DefaultKeySet);
            }
            catch (CryptographicException e) when (IsPasswordError(e))
            {
                throw string.IsNullOrEmpty(password)
                    ? new ConnectionToolsException(
                        ErrorIds.AuthorizationCertificatePassword,
                        ErrorKind.InvalidArgument,
                        $"The certificate file '{full}' is protected by a password and none was given. Nothing was sent.",
                        full,
                        "Add -CertificatePassword with the password the .pfx file was exported with.")
                    : new ConnectionToolsException(
                        ErrorIds.AuthorizationCertificatePassword,
                        ErrorKind.InvalidArgument,
                        $"The password given for the certificate file '{full}' is wrong. Nothing was sent.",
                        full,
                        "Give the password the .pfx file was exported with in -CertificatePassword, or export the certificate again with a new password.");
            }
            catch (CryptographicException e)
            {
                throw NotFound(path, $"The file '{full}' is not a certificate file that can be read ({e.GetType().Name}).", e);
            }

            return WithPrivateKey(certificate, full);
        }

        /// <summary>Finds a certificate by thumbprint in CurrentUser\My, then LocalMachine\My.</summary>
        public static X509Certificate2 FromStore(string thumbprint)
        {
            if (string.IsNullOrWhiteSpace(thumbprint))
            {
                throw new ArgumentException("A thumbprint is required.", nameof(thumbprint));
            }

            var normalized = NormalizeThumbprint(thumbprint);
            if (normalized is null)
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationCertificateNotFound,
                    ErrorKind.InvalidArgument,
                    $"'{thumbprint}' is not a certificate thumbprint (40 hexadecimal characters). Nothing was sent.",
                    thumbprint,
                    IsWindows
                        ? "Copy the Thumbprint from Get-ChildItem Cert:\\CurrentUser\\My or Cert:\\LocalMachine\\My."
                        : "Copy the certificate's Thumbprint, for example from: [System.Security.Cryptography.X509Certificates.X509Certificate2]::new('<path>.pfx', '<password>').Thumbprint");
            }

            foreach (var location in new[] { StoreLocation.CurrentUser, StoreLocation.LocalMachine })
            {
                X509Certificate2? found = null;
                try
                {
                    using (var store = new X509Store(StoreName.My, location))
                    {
                        store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
                        var all = store.Certificates;
                        var matches = all.Find(X509FindType.FindByThumbprint, normalized, false);
                        if (matches.Count > 0)
                        {
                            found = matches[0];
                        }

                        // Every certificate the store handed out, except the one kept, is released now.
                        foreach (var certificate in all)
                        {
                            if (!ReferenceEquals(certificate, found))
                            {
                                certificate.Dispose();
                            }
                        }

                        foreach (var certificate in matches)
                        {
                            if (!ReferenceEquals(certificate, found))
                            {
                                certificate.Dispose();
                            }
                        }
                    }
                }
                catch (CryptographicException)
                {
                    // This store does not exist or cannot be opened on this platform (LocalMachine\My on Linux): try the next.
                    found?.Dispose();
                    found = null;
                }

                if (found != null)
                {
                    return WithPrivateKey(found, IsWindows ? $"Cert:\\{location}\\My\\{normalized}" : $"{location}\\My\\{normalized}");
                }
            }

            throw ThumbprintNotFound(normalized, IsWindows);
        }

        private static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <summary>Where a thumbprint is looked up, as the user of this platform knows it.</summary>
        private static string StoreLabel(bool windows) => windows
            ? "Cert:\\CurrentUser\\My or Cert:\\LocalMachine\\My"
            : "this user's .NET certificate store (X509Store My, CurrentUser)";

        /// <summary>
        /// The thumbprint is not in the store, with the fix for the platform the user is on: Import-PfxCertificate and the
        /// Cert: drive exist on Windows only; elsewhere the .NET X509Store is the store the thumbprint is looked up in.
        /// </summary>
        internal static ConnectionToolsException ThumbprintNotFound(string thumbprint, bool windows) => new ConnectionToolsException(
            ErrorIds.AuthorizationCertificateNotFound,
            ErrorKind.ObjectNotFound,
            $"No certificate with thumbprint {thumbprint} is in {StoreLabel(windows)}. Nothing was sent.",
            thumbprint,
            windows
                ? "Import the certificate with its private key into Cert:\\CurrentUser\\My (Import-PfxCertificate), or give -CertificatePath and -CertificatePassword instead."
                : "Give -CertificatePath and -CertificatePassword (certificatePath and certificatePassword in a configuration) for the .pfx file instead, "
                    + "or add the certificate with its private key to this user's store: "
                    + "$store = [System.Security.Cryptography.X509Certificates.X509Store]::new('My', 'CurrentUser'); $store.Open('ReadWrite'); "
                    + "$store.Add([System.Security.Cryptography.X509Certificates.X509Certificate2]::new('<path>.pfx', '<password>', 'PersistKeySet')); $store.Close()");

        /// <summary>Throws CertificateNoPrivateKey unless <paramref name="certificate"/> has an RSA private key this process can use.</summary>
        public static void EnsurePrivateKey(X509Certificate2 certificate, string? source = null)
        {
            if (certificate is null)
            {
                throw new ArgumentNullException(nameof(certificate));
            }

            var what = source is null ? $"The certificate {certificate.Thumbprint}" : $"The certificate '{source}'";
            if (!certificate.HasPrivateKey)
            {
                throw NoPrivateKey(source ?? certificate.Thumbprint, $"{what} has no private key, so it cannot sign. Nothing was sent.",
                    IsWindows
                        ? "Give the .pfx file exported with its private key (Export-PfxCertificate), not the .cer file uploaded to the connected app or app registration."
                        : "Give a .pfx file that holds the private key (for example: openssl pkcs12 -export -inkey key.pem -in cert.pem -out cert.pfx), not the .cer file uploaded to the connected app or app registration.");
            }

            RSA? key;
            try
            {
                key = certificate.GetRSAPrivateKey();
            }
            catch (CryptographicException e)
            {
                throw NoPrivateKey(source ?? certificate.Thumbprint, $"{what} has a private key this account cannot use ({e.GetType().Name}). Nothing was sent.",
                    IsWindows
                        ? "Grant this account read access to the private key (certlm.msc > Manage Private Keys), or import the .pfx for this user."
                        : "Give this account read access to the .pfx file (or to this user's .NET certificate store), or give -CertificatePath and -CertificatePassword.", e);
            }

            if (key is null)
            {
                throw NoPrivateKey(source ?? certificate.Thumbprint, $"{what} does not have an RSA key; the JWT bearer and client-certificate flows sign with RS256. Nothing was sent.",
                    "Create the certificate with an RSA key (2048 bits or more).");
            }

            key.Dispose();
        }

        /// <summary>Upper-case hex without separators or the invisible marks Windows dialogs copy with it; null when not a thumbprint.</summary>
        internal static string? NormalizeThumbprint(string thumbprint)
        {
            var text = new StringBuilder(thumbprint.Length);
            foreach (var c in thumbprint)
            {
                if (char.IsWhiteSpace(c) || c == ':' || c == '-' || c == '\u200e' || c == '\u200f')
                {
                    continue;
                }

                if (!Uri.IsHexDigit(c))
                {
                    return null;
                }

                text.Append(char.ToUpperInvariant(c));
            }

            return text.Length == 40 || text.Length == 64 ? text.ToString() : null;
        }

        private static X509Certificate2 WithPrivateKey(X509Certificate2 certificate, string source)
        {
            try
            {
                EnsurePrivateKey(certificate, source);
                return certificate;
            }
            catch
            {
                certificate.Dispose();
                throw;
            }
        }

        private static bool IsPasswordError(CryptographicException e) =>
            e.HResult == ErrorInvalidPassword || (e.Message ?? "").IndexOf("password", StringComparison.OrdinalIgnoreCase) >= 0;

        private static ConnectionToolsException NotFound(string path, string message, Exception? inner = null) =>
            new ConnectionToolsException(
                ErrorIds.AuthorizationCertificateNotFound,
                ErrorKind.ObjectNotFound,
                message + " Nothing was sent.",
                path,
                "Give the path of the .pfx file that holds the certificate and its private key, or -CertificateThumbprint for a certificate in the store.",
                inner);

        private static ConnectionToolsException NoPrivateKey(string target, string message, string fix, Exception? inner = null) =>
            new ConnectionToolsException(ErrorIds.AuthorizationCertificateNoPrivateKey, ErrorKind.InvalidArgument, message, target, fix, inner);
    }
}
