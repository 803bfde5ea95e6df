using System;

namespace ConnectionTools.Invitations
{
    /// <summary>
    /// Crockford's base32: digits and upper-case letters without I, L, O and U, so nothing a mail client or terminal changes,
    /// and nothing easily misread. Reading accepts lower case and maps I and L to 1 and O to 0, as Crockford specifies.
    /// </summary>
    internal static class Base32
    {
        public const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

        private static readonly sbyte[] Values = BuildValues();

        /// <summary>The number of symbols that hold <paramref name="byteCount"/> bytes; the last symbol is padded with zero bits.</summary>
        public static int SymbolCount(int byteCount) => (byteCount * 8 + 4) / 5;

        public static string Encode(byte[] data)
        {
            var symbols = new char[SymbolCount(data.Length)];
            int buffer = 0, bits = 0, next = 0;
            foreach (var b in data)
            {
                buffer = (buffer << 8) | b;
                bits += 8;
                while (bits >= 5)
                {
                    bits -= 5;
                    symbols[next++] = Alphabet[(buffer >> bits) & 31];
                }

                buffer &= (1 << bits) - 1;
            }

            if (bits > 0)
            {
                symbols[next] = Alphabet[(buffer << (5 - bits)) & 31];
            }

            return new string(symbols);
        }

        /// <summary>The 5-bit value of a symbol, or -1 for a character that is not one.</summary>
        public static int ValueOf(char c) => c < Values.Length ? Values[c] : -1;

        private static sbyte[] BuildValues()
        {
            var values = new sbyte[128];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = -1;
            }

            for (var i = 0; i < Alphabet.Length; i++)
            {
                values[Alphabet[i]] = (sbyte)i;
                values[char.ToLowerInvariant(Alphabet[i])] = (sbyte)i;
            }

            foreach (var (c, same) in new[] { ('I', '1'), ('L', '1'), ('O', '0') })
            {
                values[c] = values[same];
                values[char.ToLowerInvariant(c)] = values[same];
            }

            return values;
        }

        /// <summary>Reads symbols into bytes. Bits that do not fill a whole byte are reported, so a caller can insist they are zero.</summary>
        public static byte[] Decode(char[] symbols, int count, out bool paddingIsZero)
        {
            var output = new byte[count * 5 / 8];
            int buffer = 0, bits = 0, next = 0;
            for (var i = 0; i < count; i++)
            {
                var value = ValueOf(symbols[i]);
                if (value < 0)
                {
                    throw new ArgumentException("Not a base32 symbol.", nameof(symbols));
                }

                buffer = (buffer << 5) | value;
                bits += 5;
                if (bits >= 8)
                {
                    bits -= 8;
                    output[next++] = (byte)(buffer >> bits);
                    buffer &= (1 << bits) - 1;
                }
            }

            paddingIsZero = buffer == 0;
            return output;
        }
    }
}
