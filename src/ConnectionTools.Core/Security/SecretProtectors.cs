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
    }
}
