using System;
using System.Globalization;
using ConnectionTools.Errors;

namespace ConnectionTools.Invitations
{
    /// <summary>What the reading tells an admin: the characters it forgives, and the errors that name what is wrong and the fix.</summary>
    public static partial class InvitationCodec
    {
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
    }
}
