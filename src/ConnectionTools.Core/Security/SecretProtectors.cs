using System;
using System.Runtime.InteropServices;

namespace ConnectionTools.Security
{
    public static class SecretProtectors
    {
        /// <summary>
        /// DPAPI (CurrentUser) on Windows. Elsewhere, a random key in a file beside the store that only the owner can read (0600):
        /// the same protection the user's SSH keys get, without a keyring daemon that scheduled tasks often lack.
        /// </summary>
        public static ISecretProtector ForStore(string storePath) =>
            RuntimeInformation.IsOSPlatform(OSPlatform.Windows)
                ? new DpapiSecretProtector()
                : (ISecretProtector)new KeyFileSecretProtector(storePath + ".key");

        /// <summary>
        /// A database store's protector: the key in <paramref name="keyFile"/>, which every host of the node shares (a per-user
        /// DPAPI key cannot be). The store keeps a value encrypted with the key it was first given, so a host with another key is
        /// refused at once instead of writing secrets the others cannot read. The key file is made only when the store is new.
        /// </summary>
        internal static ISecretProtector ForDatabase(Storage.ConnectionStore store, string keyFile, bool mayCreate)
        {
            var keyExists = System.IO.File.Exists(keyFile);
            var check = store.GetNodeSetting(KeyCheckSetting);
            if (!keyExists && (check != null || !mayCreate))
            {
                throw new Errors.ConnectionToolsException(
                    Errors.ErrorIds.SecretKeyUnavailable,
                    Errors.ErrorKind.ObjectNotFound,
                    check != null
                        ? $"The key file '{keyFile}' does not exist, and the store '{store.Path}' holds secrets encrypted with a key. Nothing was changed."
                        : $"The key file '{keyFile}' does not exist. Nothing was created: a mistyped path must not make a new key.",
                    keyFile,
                    check != null
                        ? "Copy the node's key file to this host (owner-only), or name it with -KeyFile."
                        : "Check the path; to make a new key for a new store, add -Create.");
            }

            var protector = new KeyFileSecretProtector(keyFile);
            if (check is null)
            {
                // Not audited: it is no setting of the admin's, and concurrent first opens agree because the first writer wins.
                var value = Convert.ToBase64String(protector.Protect(System.Text.Encoding.UTF8.GetBytes(KeyCheckText)));
                check = store.Write(tx =>
                {
                    var current = Storage.NodeRows.Get(tx, KeyCheckSetting);
                    if (current is null)
                    {
                        Storage.NodeRows.Set(tx, KeyCheckSetting, value);
                    }

                    return current ?? value;
                });
            }

            try
            {
                protector.Unprotect(Convert.FromBase64String(check));
            }
            catch (Exception e) when (e is Errors.ConnectionToolsException || e is FormatException)
            {
                throw new Errors.ConnectionToolsException(
                    Errors.ErrorIds.StoreKeyMismatch,
                    Errors.ErrorKind.PermissionDenied,
                    $"The key file '{keyFile}' is not the key the store '{store.Path}' encrypts its secrets with. Nothing was changed.",
                    keyFile,
                    "Use the key file of the host that created the store (every host of a node shares one key).",
                    e);
            }

            return protector;
        }

        private const string KeyCheckSetting = "secret_key_check";

        private const string KeyCheckText = "ConnectionTools secret key check";
    }
}
