using System.Security.Cryptography;

namespace ConnectionTools.Security
{
    /// <summary>Windows DPAPI for the current user: only this user on this machine can read the secrets back.</summary>
    internal sealed class DpapiSecretProtector : ISecretProtector
    {
        private static readonly byte[] Entropy = System.Text.Encoding.UTF8.GetBytes("ConnectionTools.Secrets.v1");

        public string Description => "DPAPI (CurrentUser)";

#pragma warning disable CA1416 // Chosen only on Windows by SecretProtectors.ForStore.
        public byte[] Protect(byte[] plain) => ProtectedData.Protect(plain, Entropy, DataProtectionScope.CurrentUser);

        public byte[] Unprotect(byte[] protectedData)
        {
            try
            {
                return ProtectedData.Unprotect(protectedData, Entropy, DataProtectionScope.CurrentUser);
            }
            catch (CryptographicException e)
            {
                throw KeyFileSecretProtector.Unreadable("DPAPI could not decrypt it; it was protected by another user or on another machine", e);
            }
        }
#pragma warning restore CA1416
    }
}
