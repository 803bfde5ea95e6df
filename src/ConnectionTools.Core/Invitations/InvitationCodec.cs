using System;
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
    public static partial class InvitationCodec
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
    }
}
