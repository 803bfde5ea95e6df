using System;
using System.Security.Cryptography;
using System.Text;

namespace ConnectionTools.Invitations
{
    /// <summary>
    /// The one-time secret inside an invitation code: 160 random bits. The public side keeps only its verifier;
    /// both sides derive the connection's keys from it. Equality is by reference on purpose: value comparison of
    /// secrets is done only through <see cref="Matches"/>, in constant time.
    /// </summary>
    public sealed class InvitationSecret
    {
        public const int Length = 20;

        private const string VerifierPrefix = "sha256:";

        private readonly byte[] _bytes;

        private InvitationSecret(byte[] bytes)
        {
            _bytes = bytes;
        }

        public static InvitationSecret New()
        {
            var bytes = new byte[Length];
            using (var random = RandomNumberGenerator.Create())
            {
                random.GetBytes(bytes);
            }

            return new InvitationSecret(bytes);
        }

        /// <summary>Copies <paramref name="bytes"/>, so later changes to the caller's array do not change the secret.</summary>
        public static InvitationSecret FromBytes(byte[] bytes)
        {
            if (bytes is null)
            {
                throw new ArgumentNullException(nameof(bytes));
            }

            if (bytes.Length != Length)
            {
                throw new ArgumentException($"An invitation secret is {Length} bytes long; {bytes.Length} bytes were given.", nameof(bytes));
            }

            return new InvitationSecret((byte[])bytes.Clone());
        }

        internal byte[] ToArray() => (byte[])_bytes.Clone();

        /// <summary>
        /// What the public side stores instead of the secret. An unsalted hash is enough: the secret is 160 random bits, so
        /// there is nothing to guess from a dictionary.
        /// </summary>
        public string ComputeVerifier()
        {
            using (var sha = SHA256.Create())
            {
                return VerifierPrefix + Convert.ToBase64String(sha.ComputeHash(_bytes));
            }
        }

        /// <summary>Whether <paramref name="verifier"/> was computed from this secret. Compares in constant time; false for anything that is not a verifier.</summary>
        public bool Matches(string? verifier)
        {
            if (verifier is null)
            {
                return false;
            }

            var expected = ComputeVerifier();

            // Every verifier has the same length, so returning early on a different length reveals nothing.
            return Security.ConstantTime.Equal(expected, verifier);
        }

        /// <summary>
        /// A key for one purpose and one connection: HKDF-SHA256 with the secret as input key material, the connection id as salt,
        /// and the purpose as info. Different purposes give unrelated keys, so a key used to sign one thing cannot sign another.
        /// </summary>
        public byte[] DeriveKey(string purpose, Guid connectionId, int length = 32)
        {
            if (purpose is null)
            {
                throw new ArgumentNullException(nameof(purpose));
            }

            return Hkdf.DeriveKey(_bytes, connectionId.ToByteArray(), Encoding.UTF8.GetBytes(purpose), length);
        }

        public override string ToString() => "(secret)";
    }
}
