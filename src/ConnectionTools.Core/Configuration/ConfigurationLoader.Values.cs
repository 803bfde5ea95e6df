using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using ConnectionTools.Errors;

namespace ConnectionTools.Configuration
{
    /// <summary>The values a file holds (intervals, choices of a set), the fields of a mapping, and the issues that name what is wrong.</summary>
    public static partial class ConfigurationLoader
    {
        /// <summary>The key in <paramref name="keys"/> closest to <paramref name="key"/> as a misspelling (case aside), or null when none is close.</summary>
        internal static string? ClosestKey(string key, IEnumerable<string> keys)
        {
            string? best = null;
            var bestDistance = int.MaxValue;
            foreach (var candidate in keys)
            {
                var distance = EditDistance(key.ToLowerInvariant(), candidate.ToLowerInvariant());

                // One edit in a short key, up to a third of a long one: 'descripton' -> 'description', not 'name' -> 'mode'.
                var allowed = Math.Max(1, Math.Min(3, candidate.Length / 3));
                if (distance <= allowed && distance < bestDistance)
                {
                    best = candidate;
                    bestDistance = distance;
                }
            }

            return best;
        }

        /// <summary>Edits (insert, delete, replace, swap two neighbours) that turn one text into the other.</summary>
        private static int EditDistance(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (var i = 0; i <= a.Length; i++)
            {
                d[i, 0] = i;
            }

            for (var j = 0; j <= b.Length; j++)
            {
                d[0, j] = j;
            }

            for (var i = 1; i <= a.Length; i++)
            {
                for (var j = 1; j <= b.Length; j++)
                {
                    var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                    if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    {
                        d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                    }
                }
            }

            return d[a.Length, b.Length];
        }

        /// <summary>Durations as admins write them: 90s, 15m, 1h30m, or hh:mm:ss.</summary>
        internal static TimeSpan? ParseInterval(string text)
        {
            if (text.IndexOf(':') >= 0)
            {
                return TimeSpan.TryParseExact(text, @"hh\:mm\:ss", CultureInfo.InvariantCulture, out var exact) ? exact : (TimeSpan?)null;
            }

            var total = TimeSpan.Zero;
            var number = 0L;
            var digits = 0;
            foreach (var c in text)
            {
                if (c >= '0' && c <= '9' && digits < 6)
                {
                    number = (number * 10) + (c - '0');
                    digits++;
                    continue;
                }

                if (digits == 0)
                {
                    return null;
                }

                switch (c)
                {
                    case 'h': total += TimeSpan.FromHours(number); break;
                    case 'm': total += TimeSpan.FromMinutes(number); break;
                    case 's': total += TimeSpan.FromSeconds(number); break;
                    default: return null;
                }

                number = 0;
                digits = 0;
            }

            return digits == 0 && text.Length > 0 ? total : (TimeSpan?)null;
        }

        /// <summary>The form Export writes: 15m, 1h30m, 90s as 1m30s.</summary>
        internal static string FormatInterval(TimeSpan interval)
        {
            var text = new StringBuilder();
            if ((int)interval.TotalHours > 0)
            {
                text.Append(((int)interval.TotalHours).ToString(CultureInfo.InvariantCulture)).Append('h');
            }

            if (interval.Minutes > 0)
            {
                text.Append(interval.Minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
            }

            if (interval.Seconds > 0 || text.Length == 0)
            {
                text.Append(interval.Seconds.ToString(CultureInfo.InvariantCulture)).Append('s');
            }

            return text.ToString();
        }

        private static ConfigurationIssue WrongType(YamlNode node, string expected) => new ConfigurationIssue(
            ErrorIds.ConfigurationWrongType,
            node.Location,
            $"'{node.Location.Key}' is {node.Kind}; it should be {expected}.",
            null);

        private static ConfigurationIssue Missing(Fields fields, string key, string what) => new ConfigurationIssue(
            ErrorIds.ConfigurationMissingKey,
            fields.Map.Location.WithKey(fields.Path(key)),
            $"The key '{fields.Path(key)}' is missing: {what}.",
            null);

        /// <summary>An enum's values and their names, listed once.</summary>
        private static class EnumChoices<T>
            where T : struct
        {
            public static readonly T[] All = (T[])System.Enum.GetValues(typeof(T));

            public static readonly string[] Names = All.Select(v => v.ToString()!).ToArray();
        }

        /// <summary>Typed access to one mapping's keys, recording which were used so that the rest can be reported as unknown.</summary>
        private sealed class Fields
        {
            private readonly List<ConfigurationIssue> _issues;
            private readonly string[]? _allowed;
            private readonly string? _what;
            private readonly Dictionary<string, YamlNode>? _entries;

            public Fields(YamlMapping map, List<ConfigurationIssue> issues, string[]? allowed, string? what)
            {
                Map = map;
                _issues = issues;
                _allowed = allowed;
                _what = what;

                // A connection has a handful of keys: looking them up in order is cheaper than indexing them.
                if (map.Entries.Count > 16)
                {
                    _entries = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
                    foreach (var entry in map.Entries)
                    {
                        _entries[entry.Key.Value ?? ""] = entry.Value;
                    }
                }
            }

            public YamlMapping Map { get; }

            public string Path(string key) => Map.Location.Key.Length == 0 ? key : Map.Location.Key + "." + key;

            public YamlNode? Node(string key)
            {
                if (_entries != null)
                {
                    return _entries.TryGetValue(key, out var node) ? node : null;
                }

                // Keys are unique (YamlTree refuses duplicates); the last would win if they were not.
                YamlNode? found = null;
                foreach (var entry in Map.Entries)
                {
                    if (string.Equals(entry.Key.Value ?? "", key, StringComparison.Ordinal))
                    {
                        found = entry.Value;
                    }
                }

                return found;
            }

            public string? String(string key, bool required)
            {
                var node = Node(key);
                if (node is null)
                {
                    if (required)
                    {
                        _issues.Add(Missing(this, key, "it is required here"));
                    }

                    return null;
                }

                if (node is YamlScalar { Value: { } value })
                {
                    if (value.Trim().Length == 0)
                    {
                        _issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, node.Location, $"'{node.Location.Key}' is blank.", null));
                        return null;
                    }

                    return value;
                }

                _issues.Add(WrongType(node, "a value (text)"));
                return null;
            }

            public T? Enum<T>(string key, bool required, bool quiet = false, T[]? allowed = null)
                where T : struct
            {
                var node = Node(key);
                var choices = allowed ?? EnumChoices<T>.All;
                if (node is YamlScalar { Value: { } value })
                {
                    var names = allowed is null ? EnumChoices<T>.Names : null;
                    for (var i = 0; i < choices.Length; i++)
                    {
                        if (string.Equals(names?[i] ?? choices[i].ToString(), value, StringComparison.OrdinalIgnoreCase))
                        {
                            return choices[i];
                        }
                    }
                }

                if (quiet)
                {
                    return null;
                }

                if (node is null)
                {
                    if (required)
                    {
                        _issues.Add(Missing(this, key, "one of " + string.Join(", ", choices)));
                    }
                }
                else if (node is YamlScalar { Value: { } text })
                {
                    _issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationInvalidValue, node.Location, $"'{node.Location.Key}' is '{text}'; it must be one of {string.Join(", ", choices)}.", null));
                }
                else
                {
                    _issues.Add(WrongType(node, "one of " + string.Join(", ", choices)));
                }

                return null;
            }

            /// <summary>A secret's key: only a reference is accepted; a literal value is refused without being repeated.</summary>
            public SecretReference? Secret(string key, string folder)
            {
                var node = Node(key);
                if (node is null)
                {
                    return null;
                }

                if (!(node is YamlScalar { Value: { } value }))
                {
                    _issues.Add(WrongType(node, "a secret reference: env:NAME, file:PATH or vault:VAULT/NAME"));
                    return null;
                }

                var reference = SecretReference.TryParse(value, folder, node.Location);
                if (reference is null)
                {
                    _issues.Add(new ConfigurationIssue(
                        ErrorIds.ConfigurationLiteralSecret,
                        node.Location,
                        $"'{node.Location.Key}' holds a literal value; secrets are accepted only by reference (env:NAME, file:PATH or vault:VAULT/NAME). The value is not shown.",
                        "Move the secret out of the file, for example into an environment variable, and write env:NAME here. If the file was shared or committed, consider the secret exposed and rotate it."));
                }

                return reference;
            }

            public void ReportUnknownKeys()
            {
                if (_allowed is null)
                {
                    return;
                }

                foreach (var entry in Map.Entries)
                {
                    var key = entry.Key.Value ?? "";
                    if (Array.IndexOf(_allowed, key) >= 0)
                    {
                        continue;
                    }

                    var close = _allowed.FirstOrDefault(a => string.Equals(a, key, StringComparison.OrdinalIgnoreCase));
                    var elsewhere = close is null && (SystemKeys.Contains(key) || PublicSideKeys.Contains(key) || PrivateSideKeys.Contains(key) || TopKeys.Contains(key) || AuthorizationKeys.Contains(key));
                    var misspelt = close is null && !elsewhere ? ClosestKey(key, _allowed) : null;
                    var message = close != null
                        ? $"Unknown key '{entry.Key.Location.Key}': keys are case-sensitive; did you mean '{close}'?"
                        : elsewhere
                            ? $"The key '{entry.Key.Location.Key}' does not apply to {_what}."
                            : misspelt != null
                                ? $"Unknown key '{entry.Key.Location.Key}': did you mean '{misspelt}'?"
                                : $"Unknown key '{entry.Key.Location.Key}'. The keys of {_what ?? "a configuration"} are: {string.Join(", ", _allowed)}.";
                    _issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationUnknownKey, entry.Key.Location, message, null));
                }
            }
        }
    }
}
