using System;
using System.Globalization;
using System.Text;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Invitations
{
    /// <summary>Reading a code: the text into bytes (tolerant of what mail and chat do to it), then the bytes into an invitation.</summary>
    public static partial class InvitationCodec
    {
        /// <summary>Reads the text into bytes, refusing what is not a code. Checks the prefix's version before anything else is read.</summary>
        private static byte[] ReadSymbols(string? code, out int symbolCount, out bool paddingIsZero)
        {
            if (code is null || code.Length == 0)
            {
                throw Empty();
            }

            if (code.Length > MaxCodeLength)
            {
                throw new ConnectionToolsException(
                    ErrorIds.InvitationMalformed,
                    ErrorKind.InvalidArgument,
                    $"The text given as an invitation code is {code.Length} characters long; no code is longer than {MaxCodeLength}. It may hold other text, or several codes.",
                    null,
                    PasteOnlyTheCode);
            }

            // Keep only what matters: drop white space and invisible characters, and make every kind of dash a plain one.
            var chars = new char[code.Length];
            var count = 0;
            foreach (var c in code)
            {
                if (!IsInvisible(c))
                {
                    chars[count++] = IsDash(c) ? '-' : c;
                }
            }

            // Mail and chat often put a code in quotes.
            var start = 0;
            var end = count;
            if (count >= 2 && IsQuote(chars[0]) && IsQuote(chars[count - 1]))
            {
                start = 1;
                end = count - 1;
            }

            if (start == end)
            {
                throw Empty();
            }

            var position = ReadPrefix(chars, start, end);

            // Symbols are compacted into the same buffer; dashes are only there for the reader.
            symbolCount = 0;
            for (; position < end; position++)
            {
                var c = chars[position];
                if (c == '-')
                {
                    continue;
                }

                if (Base32.ValueOf(c) < 0)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.InvitationMalformed,
                        ErrorKind.InvalidArgument,
                        $"The invitation code contains {Describe(c)}, which no code contains. Codes use only the digits 0-9, the letters A-Z except I, L, O and U, and dashes.",
                        null,
                        CopyAgain);
                }

                chars[symbolCount++] = c;
            }

            if (symbolCount == 0)
            {
                throw TruncatedError("it has nothing after CT1-");
            }

            return Base32.Decode(chars, symbolCount, out paddingIsZero);
        }

        /// <summary>Reads <c>CT&lt;version&gt;</c> and returns where the symbols start.</summary>
        private static int ReadPrefix(char[] chars, int start, int end)
        {
            if (end - start < 2 || char.ToUpperInvariant(chars[start]) != CodeLetters[0] || char.ToUpperInvariant(chars[start + 1]) != CodeLetters[1])
            {
                throw NotACode();
            }

            var digitsStart = start + 2;
            var position = digitsStart;
            while (position < end && chars[position] >= '0' && chars[position] <= '9')
            {
                position++;
            }

            var digits = position - digitsStart;
            if (digits == 0)
            {
                throw NotACode();
            }

            // With its dashes removed, a code's version digit runs into symbols that may be digits too. Versions have at most
            // three digits and are followed by a dash; otherwise the version is the one digit after CT.
            if (digits > 3 || (position < end && chars[position] != '-'))
            {
                digits = 1;
                position = digitsStart + 1;
            }

            var version = int.Parse(new string(chars, digitsStart, digits), NumberStyles.None, CultureInfo.InvariantCulture);
            if (version != Invitation.FormatVersion)
            {
                throw UnsupportedVersion(version);
            }

            return position;
        }

        /// <summary>Checks, in order: completeness, the CRC (typos), the version, the tag (edits), then every field.</summary>
        private static Invitation Parse(byte[] payload, int symbolCount, bool paddingIsZero)
        {
            if (payload.Length < HeaderLength)
            {
                throw TruncatedError("it is too short to be a whole code");
            }

            var length = ReadUInt16(payload, LengthOffset);

            // Only a damaged header declares a length no code can have.
            if (length < MinLength || length > MaxDecodableLength)
            {
                throw Mistyped();
            }

            var expectedSymbols = Base32.SymbolCount(length);
            if (symbolCount < expectedSymbols)
            {
                throw TruncatedError($"about {expectedSymbols - symbolCount} characters are missing from its end");
            }

            if (symbolCount > expectedSymbols)
            {
                throw new ConnectionToolsException(
                    ErrorIds.InvitationMalformed,
                    ErrorKind.InvalidData,
                    $"The invitation code has {symbolCount - expectedSymbols} more characters than it declares: text next to the code may have been copied with it, or a character near its start is mistyped.",
                    null,
                    PasteOnlyTheCode);
            }

            var crcOffset = length - CrcLength;
            if (!paddingIsZero || Crc32.Compute(payload, 0, crcOffset) != ReadUInt32(payload, crcOffset))
            {
                throw Mistyped();
            }

            if (payload[VersionOffset] != Invitation.FormatVersion)
            {
                throw UnsupportedVersion(payload[VersionOffset]);
            }

            var connectionId = ReadGuid(payload, ConnectionIdOffset);
            var secretBytes = new byte[InvitationSecret.Length];
            Buffer.BlockCopy(payload, SecretOffset, secretBytes, 0, secretBytes.Length);
            var secret = InvitationSecret.FromBytes(secretBytes);
            Array.Clear(secretBytes, 0, secretBytes.Length);

            var tagOffset = crcOffset - TagLength;
            if (!Security.ConstantTime.Equal(ComputeTag(secret, connectionId, payload, tagOffset).AsSpan(0, TagLength), payload.AsSpan(tagOffset, TagLength)))
            {
                throw new ConnectionToolsException(
                    ErrorIds.InvitationTampered,
                    ErrorKind.InvalidData,
                    "The invitation code was changed after it was issued: its checksum is right but its integrity tag is not, which a typo cannot cause.",
                    null,
                    AskForNewCode + " Use only a code you received from that admin directly.");
            }

            // From here on the code is exactly as a public side made it; what is wrong now is the public side's doing.
            var mode = ModeFromWire(payload[ModeOffset]) ?? throw Invalid("it names a connection mode this module does not know");
            var expiresAtSeconds = ReadInt64(payload, ExpiresAtOffset);
            if (expiresAtSeconds < MinUnixSeconds || expiresAtSeconds > MaxUnixSeconds)
            {
                throw Invalid("its expiry time is out of range");
            }

            var position = TextOffset;
            var name = ReadText(payload, ref position, tagOffset, "connection name");
            var url = ReadText(payload, ref position, tagOffset, "public node URL");
            var version = ReadText(payload, ref position, tagOffset, "public node version");
            var instance = ReadText(payload, ref position, tagOffset, "initiator instance name");
            if (position != tagOffset)
            {
                throw Invalid("it has unexpected data after its last field");
            }

            try
            {
                ConnectionNames.Validate(name);
            }
            catch (ConnectionToolsException e)
            {
                throw Invalid($"the connection name it carries is refused ({e.Message.TrimEnd('.')})", e);
            }

            if (!Uri.TryCreate(url, UriKind.Absolute, out var publicNodeUrl) || !IsHttpUrl(publicNodeUrl))
            {
                throw Invalid("the public node URL it carries is not an absolute http or https URL");
            }

            return new Invitation(
                connectionId,
                name,
                mode,
                publicNodeUrl,
                ReadGuid(payload, PublicNodeIdOffset),
                version,
                instance,
                DateTimeOffset.FromUnixTimeSeconds(expiresAtSeconds),
                secret);
        }

        private static string ReadText(byte[] payload, ref int position, int end, string what)
        {
            if (end - position < 2)
            {
                throw Invalid($"its {what} is missing");
            }

            var length = ReadUInt16(payload, position);
            position += 2;
            if (length > MaxTextBytes || length > end - position)
            {
                throw Invalid($"its {what} is longer than the code");
            }

            string text;
            try
            {
                text = StrictUtf8.GetString(payload, position, length);
            }
            catch (DecoderFallbackException e)
            {
                throw Invalid($"its {what} is not valid UTF-8 text", e);
            }

            position += length;

            // The texts end up in a terminal; control characters could rewrite what the admin sees.
            if (ConnectionNames.HasControl(text))
            {
                throw Invalid($"its {what} contains control characters");
            }

            return text;
        }
    }
}
