using System;
using System.Globalization;

namespace ConnectionTools.Jobs.Retrieval
{
    /// <summary>Timestamps as the providers write them, and as the queries compare them.</summary>
    internal static class CaseTimestamps
    {
        /// <summary>UTC, truncated to whole milliseconds (the watermark's precision).</summary>
        public static DateTimeOffset ToUtcMilliseconds(DateTimeOffset value)
        {
            var ticks = value.UtcTicks;
            return new DateTimeOffset(ticks - (ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
        }

        /// <summary>
        /// A case's version from its change time and its number of comments: both systems keep these times in whole seconds, so a
        /// comment added in the same second as the case's last change would leave the time as it was, and the outbound queue would
        /// take the case for a version it already has. The comment count (up to 999) goes into the milliseconds, which it makes
        /// grow with each comment; a later second still sorts after it.
        /// </summary>
        public static DateTimeOffset Version(DateTimeOffset changed, int comments) =>
            ToUtcMilliseconds(changed).AddMilliseconds(Math.Min(Math.Max(comments, 0), 999));

        /// <summary>ISO 8601 in UTC with milliseconds, e.g. 2026-11-21T10:00:00.000Z: a SOQL datetime literal and an OData DateTimeOffset literal.
        /// Truncating below a millisecond only lowers the bound, so an inclusive comparison never skips a record.</summary>
        public static string ToLiteral(DateTimeOffset value) =>
            value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

        /// <summary>
        /// Parses Salesforce's "2026-11-21T10:00:00.000+0000" (offset without a colon) and Dataverse's "2026-11-21T10:00:00Z".
        /// </summary>
        public static bool TryParse(string? text, out DateTimeOffset value)
        {
            value = default;
            if (string.IsNullOrEmpty(text) || text!.IndexOf('T') < 0)
            {
                return false;
            }

            var s = text;
            var n = s.Length;
            if (n > 5 && (s[n - 5] == '+' || s[n - 5] == '-') && char.IsDigit(s[n - 4]) && char.IsDigit(s[n - 3]) && char.IsDigit(s[n - 2]) && char.IsDigit(s[n - 1]))
            {
                s = s.Insert(n - 2, ":");
            }

            if (!DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
            {
                return false;
            }

            value = ToUtcMilliseconds(parsed);
            return true;
        }
    }
}
