using System;
using System.Security.Cryptography;

namespace ConnectionTools.Invitations
{
    /// <summary>HKDF with HMAC-SHA256 (RFC 5869). netstandard2.0 has no HKDF class.</summary>
    internal static class Hkdf
    {
        private const int HashLength = 32;

        /// <summary>RFC 5869 caps the output at 255 blocks.</summary>
        public const int MaxLength = 255 * HashLength;

        public static byte[] DeriveKey(byte[] inputKeyMaterial, byte[]? salt, byte[]? info, int length)
        {
            var pseudorandomKey = Extract(inputKeyMaterial, salt);
            try
            {
                return Expand(pseudorandomKey, info, length);
            }
            finally
            {
                Array.Clear(pseudorandomKey, 0, pseudorandomKey.Length);
            }
        }

        public static byte[] Extract(byte[] inputKeyMaterial, byte[]? salt)
        {
            if (inputKeyMaterial is null)
            {
                throw new ArgumentNullException(nameof(inputKeyMaterial));
            }

            // The RFC's default salt is HashLength zero bytes (HMAC would pad an empty key the same way; this says it outright).
            using (var hmac = new HMACSHA256(salt is null || salt.Length == 0 ? new byte[HashLength] : salt))
            {
                return hmac.ComputeHash(inputKeyMaterial);
            }
        }

        public static byte[] Expand(byte[] pseudorandomKey, byte[]? info, int length)
        {
            if (pseudorandomKey is null)
            {
                throw new ArgumentNullException(nameof(pseudorandomKey));
            }

            if (length < 1 || length > MaxLength)
            {
                throw new ArgumentOutOfRangeException(nameof(length), length, $"HKDF-SHA256 produces 1 to {MaxLength} bytes.");
            }

            info ??= Array.Empty<byte>();
            var output = new byte[length];

            // T(i) = HMAC(PRK, T(i-1) | info | i), with T(0) empty.
            var block = new byte[HashLength + info.Length + 1];
            var previous = Array.Empty<byte>();
            using (var hmac = new HMACSHA256(pseudorandomKey))
            {
                for (int counter = 1, written = 0; written < length; counter++)
                {
                    Buffer.BlockCopy(previous, 0, block, 0, previous.Length);
                    Buffer.BlockCopy(info, 0, block, previous.Length, info.Length);
                    block[previous.Length + info.Length] = (byte)counter;
                    previous = hmac.ComputeHash(block, 0, previous.Length + info.Length + 1);

                    var take = Math.Min(HashLength, length - written);
                    Buffer.BlockCopy(previous, 0, output, written, take);
                    written += take;
                }
            }

            Array.Clear(block, 0, block.Length);
            Array.Clear(previous, 0, previous.Length);
            return output;
        }
    }
}
