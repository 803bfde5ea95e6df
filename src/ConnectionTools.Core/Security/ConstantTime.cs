using System;

namespace ConnectionTools.Security
{
    /// <summary>
    /// Comparisons of MACs, tags and verifiers whose time does not depend on where the first difference is, so how much of a
    /// forgery was right does not show in the timing. (netstandard2.0 has no CryptographicOperations.FixedTimeEquals.)
    /// </summary>
    internal static class ConstantTime
    {
        /// <summary>Whether both hold the same bytes. A different length returns at once: lengths here are public.</summary>
        public static bool Equal(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        {
            if (a.Length != b.Length)
            {
                return false;
            }

            var difference = 0;
            for (var i = 0; i < a.Length; i++)
            {
                difference |= a[i] ^ b[i];
            }

            return difference == 0;
        }

        /// <summary>As above, for text such as a verifier.</summary>
        public static bool Equal(string a, string b)
        {
            if (a.Length != b.Length)
            {
                return false;
            }

            var difference = 0;
            for (var i = 0; i < a.Length; i++)
            {
                difference |= a[i] ^ b[i];
            }

            return difference == 0;
        }
    }
}
