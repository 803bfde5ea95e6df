using System;
using System.Collections.Generic;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>What both case writers check and report the same way.</summary>
    public static class CaseWriteChecks
    {
        /// <summary>
        /// Key in a <see cref="ErrorIds.SyncApplyCommentFailed"/> exception's Data: how many of the case's new comments (int, oldest
        /// first) were added before the one that failed. The ones after it were not sent.
        /// </summary>
        public const string CommentsAppendedKey = "ConnectionTools.CommentsAppended";

        /// <summary>
        /// Checks a call's writes: not null, at most <paramref name="maxBatch"/> (the caller splits larger sets), no partner case id twice
        /// (both systems match ids case-insensitively, and two writes of one case in one call would race).
        /// </summary>
        internal static void Check(IReadOnlyList<CaseWrite> writes, int maxBatch)
        {
            if (writes is null)
            {
                throw new ArgumentNullException(nameof(writes));
            }

            if (writes.Count > maxBatch)
            {
                throw new ArgumentException($"At most {maxBatch} cases per call ({writes.Count} given); the caller splits larger sets.", nameof(writes));
            }

            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var write in writes)
            {
                if (write is null)
                {
                    throw new ArgumentException("A write is null.", nameof(writes));
                }

                if (!seen.Add(write.PartnerCaseId))
                {
                    throw new ArgumentException($"Partner case '{write.PartnerCaseId}' is written twice in one call; merge its writes first.", nameof(writes));
                }
            }
        }

        /// <summary>The first field of <paramref name="write"/> that <paramref name="map"/> (neutral name, system name) does not know, or null.</summary>
        internal static string? UnknownField(CaseWrite write, string[][] map)
        {
            foreach (var name in write.Fields.Keys)
            {
                var known = false;
                foreach (var pair in map)
                {
                    known |= string.Equals(pair[0], name, StringComparison.Ordinal);
                }

                if (!known)
                {
                    return name;
                }
            }

            return null;
        }

        internal static ConnectionToolsException UnknownFieldError(string provider, string partnerCaseId, string field) => new ConnectionToolsException(
            ErrorIds.SyncApplyRefused,
            ErrorKind.InvalidData,
            $"Partner case '{partnerCaseId}' sets entity.{Shorten(field)}, which is not a case field written to {provider} (summary, description, status, priority). Nothing of the case was sent.",
            partnerCaseId + ":" + Shorten(field),
            "Make the incoming rule set only entity.summary, entity.description, entity.status and entity.priority.");

        internal static ConnectionToolsException CommentFailed(string provider, string partnerCaseId, string localCaseId, int appended, bool uncertain, string detail, string? code)
        {
            var e = new ConnectionToolsException(
                ErrorIds.SyncApplyCommentFailed,
                uncertain ? ErrorKind.ConnectionError : ErrorKind.InvalidData,
                $"Partner case '{partnerCaseId}' was written to {provider} as {localCaseId}, but its new comment {appended + 1} " +
                (uncertain ? "got no clear answer (it may have been added; it is not sent again)" : "was refused" + (code is null ? string.Empty : " (" + code + ")")) +
                $": {detail}. {appended} comment(s) before it were added; the ones after it were not sent.",
                partnerCaseId,
                uncertain
                    ? "Check the case's comments in " + provider + "; the comment is not sent again on its own, to avoid adding it twice."
                    : "Shorten or fix the comment in the partner's system or the incoming rule; the comments after it follow once it is written.");
            e.Data[CommentsAppendedKey] = appended;
            return e;
        }

        /// <summary>An exception's message as the detail of a comment failure (ProviderUnavailable's "Nothing was changed." does not hold there).</summary>
        internal static string Detail(Exception e)
        {
            const string Tail = " Nothing was changed.";
            var message = e.Message;
            return message.EndsWith(Tail, StringComparison.Ordinal) ? message.Substring(0, message.Length - Tail.Length).TrimEnd('.') : message.TrimEnd('.');
        }

        private static string Shorten(string text) => text.Length <= 64 ? text : text.Substring(0, 64) + "…";
    }
}
