using System;
using System.IO;
using System.Security.Cryptography;
using ConnectionTools.Errors;

namespace ConnectionTools.Security
{
    /// <summary>
    /// AES-256-CBC with HMAC-SHA256 (encrypt-then-MAC) under a 64-byte random key kept in a file only the owner can read.
    /// netstandard2.0 has no AES-GCM, so the MAC is explicit and checked in constant time before anything is decrypted.
    /// </summary>
    internal sealed class KeyFileSecretProtector : ISecretProtector
    {
        private const byte FormatVersion = 1;
        private const int KeyLength = 64;
        private const int IvLength = 16;
        private const int MacLength = 32;

        private readonly string _keyPath;
        private readonly Lazy<byte[]> _key;

        public KeyFileSecretProtector(string keyPath)
        {
            _keyPath = keyPath;
            // PublicationOnly does not cache a failure: a key file made readable again is picked up on the next use.
            // Two threads creating it at once is safe: the file move lets one win and both read its key.
            _key = new Lazy<byte[]>(LoadOrCreateKey, System.Threading.LazyThreadSafetyMode.PublicationOnly);
        }

        public string Description => $"key file {_keyPath} (owner-only)";

        public byte[] Protect(byte[] plain)
        {
            var (encryptionKey, macKey) = SplitKey();
            using (var aes = Aes.Create())
            {
                aes.Key = encryptionKey;
                aes.GenerateIV();
                byte[] cipher;
                using (var encryptor = aes.CreateEncryptor())
                {
                    cipher = encryptor.TransformFinalBlock(plain, 0, plain.Length);
                }

                var output = new byte[1 + IvLength + cipher.Length + MacLength];
                output[0] = FormatVersion;
                Buffer.BlockCopy(aes.IV, 0, output, 1, IvLength);
                Buffer.BlockCopy(cipher, 0, output, 1 + IvLength, cipher.Length);
                var mac = Mac(macKey, output, output.Length - MacLength);
                Buffer.BlockCopy(mac, 0, output, output.Length - MacLength, MacLength);
                return output;
            }
        }

        public byte[] Unprotect(byte[] protectedData)
        {
            if (protectedData is null || protectedData.Length < 1 + IvLength + 16 + MacLength || protectedData[0] != FormatVersion)
            {
                throw Unreadable("it is not in the expected format", null);
            }

            var (encryptionKey, macKey) = SplitKey();
            var expected = Mac(macKey, protectedData, protectedData.Length - MacLength);
            if (!ConstantTime.Equal(expected, protectedData.AsSpan(protectedData.Length - MacLength)))
            {
                throw Unreadable($"it was not protected with the key in {_keyPath}, or it was changed", null);
            }

            using (var aes = Aes.Create())
            {
                aes.Key = encryptionKey;
                var iv = new byte[IvLength];
                Buffer.BlockCopy(protectedData, 1, iv, 0, IvLength);
                aes.IV = iv;
                using (var decryptor = aes.CreateDecryptor())
                {
                    return decryptor.TransformFinalBlock(protectedData, 1 + IvLength, protectedData.Length - 1 - IvLength - MacLength);
                }
            }
        }

        internal static ConnectionToolsException Unreadable(string why, Exception? inner) => new ConnectionToolsException(
            ErrorIds.SecretUnreadable,
            ErrorKind.InvalidData,
            $"A stored secret cannot be read: {why}.",
            null,
            "Run as the user who created the store. If the key is lost, re-authorize the affected connections (Update-ConnectionAuthorization) or recreate them.",
            inner);

        private (byte[] Encryption, byte[] Mac) SplitKey()
        {
            var key = _key.Value;
            var encryption = new byte[32];
            var mac = new byte[32];
            Buffer.BlockCopy(key, 0, encryption, 0, 32);
            Buffer.BlockCopy(key, 32, mac, 0, 32);
            return (encryption, mac);
        }

        private static byte[] Mac(byte[] key, byte[] data, int count)
        {
            using (var hmac = new HMACSHA256(key))
            {
                return hmac.ComputeHash(data, 0, count);
            }
        }

        private byte[] LoadOrCreateKey()
        {
            try
            {
                if (!File.Exists(_keyPath))
                {
                    CreateKeyFile();
                }

                var key = File.ReadAllBytes(_keyPath);
                if (key.Length != KeyLength)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.SecretKeyUnavailable,
                        ErrorKind.InvalidData,
                        $"The secret key file '{_keyPath}' is damaged: it holds {key.Length} bytes instead of {KeyLength}.",
                        _keyPath,
                        "Restore the key file from a backup. Without it, stored secrets cannot be read and connections must be re-authorized.");
                }

                return key;
            }
            catch (UnauthorizedAccessException e)
            {
                throw KeyUnavailable(e);
            }
            catch (IOException e)
            {
                throw KeyUnavailable(e);
            }
        }

        /// <summary>
        /// Writes the key to a temporary file made owner-only before any byte is written, then moves it into place.
        /// If another process got there first, its key wins and ours is discarded.
        /// </summary>
        private void CreateKeyFile()
        {
            var key = new byte[KeyLength];
            using (var random = RandomNumberGenerator.Create())
            {
                random.GetBytes(key);
            }

            // False when another process created the key meanwhile: the caller reads theirs.
            OwnerOnlyFile.Write(_keyPath, key, replace: false);
        }

        private ConnectionToolsException KeyUnavailable(Exception e) => new ConnectionToolsException(
            ErrorIds.SecretKeyUnavailable,
            ErrorKind.PermissionDenied,
            $"The secret key file '{_keyPath}' cannot be read or created: {e.Message}",
            _keyPath,
            "Run as the user who owns the store, or check the permissions of the store's folder.",
            e);
    }
}
