using System;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Invitations
{
    /// <summary>
    /// Turns an <see cref="Invitation"/> into a code an admin can send by mail or chat and paste into a terminal, and back.
    /// </summary>
    /// <remarks>
    /// The code is <c>CT1-</c> and then Crockford base32 in dash-separated groups. The bytes, big-endian:
    /// format version (1), mode (1), total length (2), connection id (16, RFC 4122 order), public node id (16),
    /// expiry in unix seconds (8), secret (20), then four texts, each a 2-byte length and UTF-8: connection name,
    /// public node URL, public node version, initiator instance name. Then a 12-byte HMAC-SHA256 tag keyed from the secret,
    /// and a CRC-32 of everything before it.
    /// The CRC tells a typo or a truncated paste apart from a deliberate edit before any network call; the tag catches an edit
    /// whose author also fixed the CRC. Neither proves who made the code: the public side does that when it checks the secret
    /// against its verifier on acceptance.
    /// Decode throws only <see cref="ConnectionToolsException"/>, and no message ever contains the code or its secret.
    /// </remarks>
    public static class InvitationCodec
    {
        /// <summary>The visible format marker every code starts with (then a dash).</summary>
        public const string Prefix = "CT1";

        /// <summary>Longest text Decode reads. Anything longer is not a code, and is refused before anything is allocated for it.</summary>
        internal const int MaxCodeLength = 4096;

        /// <summary>Longest code Encode writes: the rest of <see cref="MaxCodeLength"/> is room for the line breaks and quotes mail adds.</summary>
        internal const int MaxEncodedLength = 3072;

        internal const int MaxTextBytes = 2048;
        internal const int GroupLength = 6;
        internal const int TagLength = 12;
        internal const int CrcLength = 4;
        internal const string TagPurpose = "ct-invitation-tag";

        internal const int VersionOffset = 0;
        internal const int ModeOffset = 1;
        internal const int LengthOffset = 2;
        internal const int ConnectionIdOffset = 4;
        internal const int PublicNodeIdOffset = 20;
        internal const int ExpiresAtOffset = 36;
        internal const int SecretOffset = 44;
        internal const int TextOffset = SecretOffset + InvitationSecret.Length;

        private const string CodeLetters = "CT";
        private const int TextCount = 4;

        /// <summary>Version, mode and length: what must be there before truncation can even be measured.</summary>
        private const int HeaderLength = ConnectionIdOffset;

        private const int MinLength = TextOffset + (TextCount * 2) + TagLength + CrcLength;

        /// <summary>The most bytes a text of <see cref="MaxCodeLength"/> can hold; a header declaring more was mistyped.</summary>
        private const int MaxDecodableLength = MaxCodeLength * 5 / 8;

        // Wire values are fixed here rather than taken from the enum, so reordering the enum cannot change what old codes mean.
        // Zero is unused so that a zeroed byte never reads as a mode.
        private const byte BasicWireValue = 1;
        private const byte ScriptWireValue = 2;

        private const string CopyAgain = "Copy the whole code again from the public side's admin, from CT1- to its last character.";
        private const string PasteOnlyTheCode = "Paste only the code, from CT1- to its last character, without the text around it.";
        private const string AskForNewCode = "Ask the public side's admin for a new code (Get-InvitationCode -Renew).";

        private static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        private static readonly long MinUnixSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds();
        private static readonly long MaxUnixSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

        // Guid.ToByteArray stores the first three fields little-endian; the code uses RFC 4122 (network) order so any language reads it plainly.
        private static readonly int[] GuidNetworkOrder = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

        public static string Encode(Invitation invitation)
        {
            if (invitation is null)
            {
                throw new ArgumentNullException(nameof(invitation));
            }

            string name;
            try
            {
                name = ConnectionNames.Validate(invitation.ConnectionName);
            }
            catch (ConnectionToolsException e)
            {
                throw new ArgumentException(e.Message, nameof(invitation), e);
            }

            var url = invitation.PublicNodeUrl;
            if (!IsHttpUrl(url))
            {
                throw new ArgumentException($"The public node URL '{url}' must be an absolute http or https URL.", nameof(invitation));
            }

            var payload = Pack(
                (byte)Invitation.FormatVersion,
                ModeToWire(invitation.Mode, nameof(invitation)),
                invitation.ConnectionId,
                invitation.PublicNodeId,
                invitation.ExpiresAt.ToUnixTimeSeconds(),
                invitation.Secret,
                TextToBytes(name, "connection name", nameof(invitation)),
                TextToBytes(url.AbsoluteUri, "public node URL", nameof(invitation)),
                TextToBytes(invitation.PublicNodeVersion, "public node version", nameof(invitation)),
                TextToBytes(invitation.InitiatorInstanceName, "initiator instance name", nameof(invitation)));

            var length = FormattedLength(payload.Length);
            if (length > MaxEncodedLength)
            {
                throw new ArgumentException($"The invitation would make a code of {length} characters; the limit is {MaxEncodedLength}. Shorten the URL, version or instance name.", nameof(invitation));
            }

            return FromBytes(payload);
        }

        public static Invitation Decode(string? code)
        {
            var payload = ReadSymbols(code, out var symbolCount, out var paddingIsZero);
            return Parse(payload, symbolCount, paddingIsZero);
        }

        /// <summary>
        /// The bytes a code holds, without any check beyond the text itself. For tests that damage a code at the byte level.
        /// </summary>
        internal static byte[] ToBytes(string code) => ReadSymbols(code, out _, out _);

        /// <summary>The code for raw bytes: prefix, then base32 in groups.</summary>
        internal static string FromBytes(byte[] payload)
        {
            var symbols = Base32.Encode(payload);
            var text = new StringBuilder(FormattedLength(payload.Length));
            text.Append(Prefix);
            for (var i = 0; i < symbols.Length; i += GroupLength)
            {
                text.Append('-').Append(symbols, i, Math.Min(GroupLength, symbols.Length - i));
            }

            return text.ToString();
        }

        /// <summary>
        /// Lays out the bytes, then seals them with the tag and the CRC. Takes raw values and texts so tests can build codes
        /// that Encode would refuse, the way a buggy or hostile public side might.
        /// </summary>
        internal static byte[] Pack(byte formatVersion, byte mode, Guid connectionId, Guid publicNodeId, long expiresAtUnixSeconds, InvitationSecret secret, params byte[][] texts)
        {
            var length = TextOffset + TagLength + CrcLength;
            foreach (var text in texts)
            {
                length += 2 + text.Length;
            }

            if (length > ushort.MaxValue)
            {
                throw new ArgumentException("The invitation is too large to encode.", nameof(texts));
            }

            var payload = new byte[length];
            payload[VersionOffset] = formatVersion;
            payload[ModeOffset] = mode;
            WriteUInt16(payload, LengthOffset, length);
            WriteGuid(payload, ConnectionIdOffset, connectionId);
            WriteGuid(payload, PublicNodeIdOffset, publicNodeId);
            WriteInt64(payload, ExpiresAtOffset, expiresAtUnixSeconds);
            var secretBytes = secret.ToArray();
            Buffer.BlockCopy(secretBytes, 0, payload, SecretOffset, secretBytes.Length);
            Array.Clear(secretBytes, 0, secretBytes.Length);

            var position = TextOffset;
            foreach (var text in texts)
            {
                WriteUInt16(payload, position, text.Length);
                Buffer.BlockCopy(text, 0, payload, position + 2, text.Length);
                position += 2 + text.Length;
            }

            var tag = ComputeTag(secret, connectionId, payload, position);
            Buffer.BlockCopy(tag, 0, payload, position, TagLength);
            position += TagLength;
            WriteUInt32(payload, position, Crc32.Compute(payload, 0, position));
            return payload;
        }

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

        private static byte[] TextToBytes(string value, string what, string parameterName)
        {
            // Refused on both sides: the texts end up in a terminal.
            if (ConnectionNames.HasControl(value))
            {
                throw new ArgumentException($"The {what} contains control characters.", parameterName);
            }

            byte[] bytes;
            try
            {
                bytes = StrictUtf8.GetBytes(value);
            }
            catch (EncoderFallbackException e)
            {
                throw new ArgumentException($"The {what} contains an unpaired surrogate, which UTF-8 cannot hold.", parameterName, e);
            }

            if (bytes.Length > MaxTextBytes)
            {
                throw new ArgumentException($"The {what} is {bytes.Length} bytes in UTF-8; the limit is {MaxTextBytes}.", parameterName);
            }

            return bytes;
        }

        private static byte[] ComputeTag(InvitationSecret secret, Guid connectionId, byte[] payload, int count)
        {
            var key = secret.DeriveKey(TagPurpose, connectionId);
            try
            {
                using (var hmac = new HMACSHA256(key))
                {
                    return hmac.ComputeHash(payload, 0, count);
                }
            }
            finally
            {
                Array.Clear(key, 0, key.Length);
            }
        }

        private static byte ModeToWire(PrivateConnectionMode mode, string parameterName) => mode switch
        {
            PrivateConnectionMode.Basic => BasicWireValue,
            PrivateConnectionMode.Script => ScriptWireValue,
            _ => throw new ArgumentException($"'{mode}' is not a mode private connections offer.", parameterName),
        };

        private static PrivateConnectionMode? ModeFromWire(byte value) => value switch
        {
            BasicWireValue => PrivateConnectionMode.Basic,
            ScriptWireValue => PrivateConnectionMode.Script,
            _ => null,
        };

        private static bool IsHttpUrl(Uri? url) =>
            url != null && url.IsAbsoluteUri && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp);

        private static int FormattedLength(int payloadLength)
        {
            var symbols = Base32.SymbolCount(payloadLength);
            return Prefix.Length + symbols + ((symbols + GroupLength - 1) / GroupLength);
        }

        private static bool IsInvisible(char c) =>
            char.IsWhiteSpace(c) || c is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF';

        /// <summary>Word processors and mail clients turn '-' into these.</summary>
        private static bool IsDash(char c) =>
            c is '-' or '\u00AD' or (>= '\u2010' and <= '\u2015') or '\u2212' or '\uFE63' or '\uFF0D';

        private static bool IsQuote(char c) =>
            c is '"' or '\'' or '\u2018' or '\u2019' or '\u201A' or '\u201C' or '\u201D' or '\u201E';

        /// <summary>A character that is not a symbol, shown so it can be found; printable ones as themselves, others by code point.</summary>
        private static string Describe(char c) =>
            c > ' ' && c < '\u007F' ? $"'{c}'" : "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture);

        private static ConnectionToolsException Empty() => new ConnectionToolsException(
            ErrorIds.InvitationMalformed,
            ErrorKind.InvalidArgument,
            "The invitation code is empty.",
            null,
            CopyAgain);

        private static ConnectionToolsException NotACode() => new ConnectionToolsException(
            ErrorIds.InvitationMalformed,
            ErrorKind.InvalidArgument,
            $"The text given is not an invitation code: codes start with {Prefix}-.",
            null,
            CopyAgain);

        private static ConnectionToolsException UnsupportedVersion(int version) => new ConnectionToolsException(
            ErrorIds.InvitationUnsupportedVersion,
            ErrorKind.InvalidData,
            $"The invitation code has format version {version}; this version of ConnectionTools reads format version {Invitation.FormatVersion} ({Prefix}- codes).",
            null,
            version > Invitation.FormatVersion
                ? "Update the ConnectionTools module on this node (Update-Module ConnectionTools), then use the code again."
                : AskForNewCode);

        private static ConnectionToolsException TruncatedError(string why) => new ConnectionToolsException(
            ErrorIds.InvitationTruncated,
            ErrorKind.InvalidData,
            $"The invitation code is incomplete: {why}.",
            null,
            CopyAgain);

        private static ConnectionToolsException Mistyped() => new ConnectionToolsException(
            ErrorIds.InvitationMistyped,
            ErrorKind.InvalidData,
            "The invitation code has a typing or copying error: its checksum does not match.",
            null,
            "Copy and paste the code rather than typing it. " + CopyAgain);

        private static ConnectionToolsException Invalid(string why, Exception? inner = null) => new ConnectionToolsException(
            ErrorIds.InvitationMalformed,
            ErrorKind.InvalidData,
            $"The invitation code is not valid: {why}.",
            null,
            AskForNewCode,
            inner);

        private static void WriteUInt16(byte[] buffer, int offset, int value)
        {
            buffer[offset] = (byte)(value >> 8);
            buffer[offset + 1] = (byte)value;
        }

        private static void WriteUInt32(byte[] buffer, int offset, uint value)
        {
            for (var i = 0; i < 4; i++)
            {
                buffer[offset + i] = (byte)(value >> (24 - (8 * i)));
            }
        }

        private static void WriteInt64(byte[] buffer, int offset, long value)
        {
            for (var i = 0; i < 8; i++)
            {
                buffer[offset + i] = (byte)(value >> (56 - (8 * i)));
            }
        }

        private static int ReadUInt16(byte[] buffer, int offset) => (buffer[offset] << 8) | buffer[offset + 1];

        private static uint ReadUInt32(byte[] buffer, int offset)
        {
            uint value = 0;
            for (var i = 0; i < 4; i++)
            {
                value = (value << 8) | buffer[offset + i];
            }

            return value;
        }

        private static long ReadInt64(byte[] buffer, int offset)
        {
            long value = 0;
            for (var i = 0; i < 8; i++)
            {
                value = (value << 8) | buffer[offset + i];
            }

            return value;
        }

        private static void WriteGuid(byte[] buffer, int offset, Guid value)
        {
            var bytes = value.ToByteArray();
            for (var i = 0; i < 16; i++)
            {
                buffer[offset + i] = bytes[GuidNetworkOrder[i]];
            }
        }

        private static Guid ReadGuid(byte[] buffer, int offset)
        {
            var bytes = new byte[16];
            for (var i = 0; i < 16; i++)
            {
                bytes[GuidNetworkOrder[i]] = buffer[offset + i];
            }

            return new Guid(bytes);
        }
    }
}
