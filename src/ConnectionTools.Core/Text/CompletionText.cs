using System.Linq;

namespace ConnectionTools.Text
{
    /// <summary>How a value is written on a PowerShell command line by Tab completion.</summary>
    public static class CompletionText
    {
        /// <summary>Quotes a value in single quotes (doubling any inside) unless it is made only of characters that never need quoting.</summary>
        public static string Quote(string value)
        {
            var plain = value.Length > 0 && value.All(c => char.IsLetterOrDigit(c) || c == '.' || c == '_' || c == '-') && value[0] != '-';
            return plain ? value : "'" + value.Replace("'", "''") + "'";
        }

        /// <summary>The typed word without the quote the user may have opened.</summary>
        public static string Unquote(string word)
        {
            var trimmed = word.Trim();
            if (trimmed.Length > 0 && (trimmed[0] == '\'' || trimmed[0] == '"'))
            {
                trimmed = trimmed.Substring(1);
                if (trimmed.Length > 0 && (trimmed[trimmed.Length - 1] == '\'' || trimmed[trimmed.Length - 1] == '"'))
                {
                    trimmed = trimmed.Substring(0, trimmed.Length - 1);
                }
            }

            return trimmed.Replace("''", "'");
        }
    }
}
