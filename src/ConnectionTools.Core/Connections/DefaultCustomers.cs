using System;
using System.Text.RegularExpressions;

namespace ConnectionTools.Connections
{
    /// <summary>
    /// A Dynamics 365 connection's default customer, as the Dataverse Web API binds it: accounts(guid) or contacts(guid). One reading
    /// for Set-Connection and connections as code, so both store the same text.
    /// </summary>
    public static class DefaultCustomers
    {
        private static readonly Regex Pattern = new Regex(@"^(accounts|contacts)\(([^()]+)\)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));

        /// <summary>The value in its stored form (lower-case set name, the GUID as 00000000-0000-...), or null when it is not one.</summary>
        public static string? Normalize(string value)
        {
            var match = Pattern.Match((value ?? "").Trim());
            return match.Success && Guid.TryParse(match.Groups[2].Value, out var id)
                ? match.Groups[1].Value.ToLowerInvariant() + "(" + id.ToString("D") + ")"
                : null;
        }
    }
}
