using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using ConnectionTools.Errors;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace ConnectionTools.Configuration
{
    /// <summary>A node of a configuration file, with the line and column it starts at.</summary>
    internal abstract class YamlNode
    {
        protected YamlNode(ConfigurationLocation location)
        {
            Location = location;
        }

        public ConfigurationLocation Location { get; }

        public abstract string Kind { get; }
    }

    internal sealed class YamlScalar : YamlNode
    {
        public YamlScalar(ConfigurationLocation location, string? value)
            : base(location)
        {
            Value = value;
        }

        /// <summary>Null for YAML's null (<c>~</c>, <c>null</c> or nothing); quoted text is never null.</summary>
        public string? Value { get; }

        public override string Kind => Value is null ? "null" : "a value";
    }

    internal sealed class YamlSequence : YamlNode
    {
        public YamlSequence(ConfigurationLocation location)
            : base(location)
        {
        }

        public List<YamlNode> Items { get; } = new List<YamlNode>();

        public override string Kind => "a list";
    }

    internal sealed class YamlMapping : YamlNode
    {
        public YamlMapping(ConfigurationLocation location)
            : base(location)
        {
        }

        public List<KeyValuePair<YamlScalar, YamlNode>> Entries { get; } = new List<KeyValuePair<YamlScalar, YamlNode>>();

        public override string Kind => "a mapping";
    }

    /// <summary>
    /// Reads a configuration file into <see cref="YamlNode"/>s from YamlDotNet's parser events, keeping every node's position.
    /// Refuses, with their positions: files over the size limit (before reading them), tabs in indentation, syntax errors,
    /// duplicate keys, anchors and aliases (a few lines of aliases can expand to gigabytes), and more than one document.
    /// </summary>
    internal static class YamlTree
    {
        /// <summary>
        /// Ten thousand fully declared system connections take about 5 MB; anything much larger is a mistake, and is refused
        /// before a byte of it is parsed.
        /// </summary>
        public const long MaxFileBytes = 16L * 1024 * 1024;

        private const int MaxDepth = 32;

        public static YamlNode? Load(string path, string displayPath, List<ConfigurationIssue> issues)
        {
            var top = new ConfigurationLocation(displayPath, 1, 1, "");
            FileInfo info;
            try
            {
                info = new FileInfo(path);
                if (!info.Exists)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationFileNotFound, top, $"The configuration file '{path}' does not exist.", "Check the -Path."));
                    return null;
                }
            }
            catch (Exception e) when (e is ArgumentException || e is IOException || e is UnauthorizedAccessException || e is NotSupportedException)
            {
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationFileNotFound, top, $"'{path}' is not a usable file path: {e.Message}", "Check the -Path."));
                return null;
            }

            if (info.Length > MaxFileBytes)
            {
                issues.Add(new ConfigurationIssue(
                    ErrorIds.ConfigurationTooLarge,
                    top,
                    $"The file is {info.Length / (1024 * 1024)} MB; a configuration may be at most {MaxFileBytes / (1024 * 1024)} MB. It was not read.",
                    "Split the connections over several configuration files."));
                return null;
            }

            string text;
            try
            {
                text = File.ReadAllText(path, new UTF8Encoding(false, true));
            }
            catch (DecoderFallbackException)
            {
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, top, "The file is not YAML: it is not UTF-8 text.", "Give the path of a YAML configuration file."));
                return null;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationFileNotFound, top, $"The file cannot be read: {e.Message}", null));
                return null;
            }

            return Parse(text, displayPath, issues);
        }

        public static YamlNode? Parse(string text, string displayPath, List<ConfigurationIssue> issues)
        {
            if (text.IndexOf('\0') >= 0)
            {
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, new ConfigurationLocation(displayPath, 1, 1, ""), "The file is not YAML: it holds binary data.", "Give the path of a YAML configuration file."));
                return null;
            }

            if (FindTabs(text, displayPath, issues))
            {
                return null;
            }

            try
            {
                var parser = new Parser(new StringReader(text));
                parser.Consume<StreamStart>();
                if (parser.Accept<StreamEnd>(out _))
                {
                    issues.Add(Empty(displayPath));
                    return null;
                }

                parser.Consume<DocumentStart>();
                var root = ReadNode(parser, displayPath, "", 0, issues);
                parser.Consume<DocumentEnd>();
                if (parser.Accept<DocumentStart>(out var second))
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, At(displayPath, second.Start, ""), "The file holds more than one YAML document; a configuration is one document.", "Remove the '---' separator and the second document."));
                    return null;
                }

                if (root is YamlScalar { Value: null })
                {
                    issues.Add(Empty(displayPath));
                    return null;
                }

                return root;
            }
            catch (YamlException e)
            {
                // YamlDotNet's messages start with its own "(Line: x, Col: y, ...)"; the location is ours, so keep only the reason.
                var reason = e.Message;
                var cut = reason.IndexOf("): ", StringComparison.Ordinal);
                if (reason.StartsWith("(", StringComparison.Ordinal) && cut > 0)
                {
                    reason = reason.Substring(cut + 3);
                }

                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, At(displayPath, e.Start, ""), $"YAML syntax error: {reason}", "Fix the YAML at that position."));
                return null;
            }
            catch (InvalidOperationException)
            {
                // The parser ran out of events inside an open [ or {: report it where the text ends.
                var lines = text.TrimEnd('\n', '\r').Split('\n');
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, new ConfigurationLocation(displayPath, lines.Length, lines[lines.Length - 1].TrimEnd('\r').Length + 1, ""), "YAML syntax error: the file ends inside a list or mapping that was opened with [ or { and never closed.", "Close the bracket."));
                return null;
            }
            catch (AbortLoad)
            {
                return null;
            }
        }

        private static ConfigurationIssue Empty(string displayPath) => new ConfigurationIssue(
            ErrorIds.ConfigurationEmpty,
            new ConfigurationLocation(displayPath, 1, 1, "apiVersion"),
            "The file is empty: a configuration needs at least 'apiVersion: connectiontools/v1' and 'connections:'.",
            "See module/examples/connections.yaml for a full example.");

        /// <summary>YAML forbids tabs in indentation; YamlDotNet's own message for them is cryptic, so find them first.</summary>
        private static bool FindTabs(string text, string displayPath, List<ConfigurationIssue> issues)
        {
            var found = false;
            var line = 1;
            var column = 1;
            var leading = true;
            foreach (var c in text)
            {
                if (c == '\n')
                {
                    line++;
                    column = 1;
                    leading = true;
                    continue;
                }

                if (c == '\t' && leading)
                {
                    found = true;
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, new ConfigurationLocation(displayPath, line, column, ""), "A tab character indents this line; YAML indents with spaces only.", "Replace the tabs with spaces."));
                    leading = false;
                }
                else if (c != ' ' && c != '-' && c != '\r')
                {
                    leading = false;
                }

                column++;
            }

            return found;
        }

        private static YamlNode ReadNode(IParser parser, string file, string key, int depth, List<ConfigurationIssue> issues)
        {
            if (depth > MaxDepth)
            {
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, At(file, parser.Current!.Start, key), $"Nesting deeper than {MaxDepth} levels at '{key}'; a configuration is never this deep.", null));
                throw new AbortLoad();
            }

            var current = parser.Current!;
            if (current is AnchorAlias alias)
            {
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, At(file, alias.Start, key), $"'{key}' uses the alias *{alias.Value}; anchors and aliases are not supported in a configuration.", "Write the value out in full."));
                throw new AbortLoad();
            }

            if (current is NodeEvent { Anchor.IsEmpty: false } anchored)
            {
                issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, At(file, anchored.Start, key), $"'{key}' defines the anchor &{anchored.Anchor}; anchors and aliases are not supported in a configuration.", "Write the value out in full."));
                throw new AbortLoad();
            }

            if (parser.TryConsume<Scalar>(out var scalar))
            {
                var isNull = scalar.Style == ScalarStyle.Plain && (scalar.Value.Length == 0 || scalar.Value == "~" || scalar.Value == "null" || scalar.Value == "Null" || scalar.Value == "NULL");
                return new YamlScalar(At(file, scalar.Start, key), isNull ? null : scalar.Value);
            }

            if (parser.TryConsume<SequenceStart>(out var sequenceStart))
            {
                var sequence = new YamlSequence(At(file, sequenceStart.Start, key));
                while (!parser.TryConsume<SequenceEnd>(out _))
                {
                    sequence.Items.Add(ReadNode(parser, file, key + "[" + sequence.Items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]", depth + 1, issues));
                }

                return sequence;
            }

            var mappingStart = parser.Consume<MappingStart>();
            var mapping = new YamlMapping(At(file, mappingStart.Start, key));
            var seen = new Dictionary<string, ConfigurationLocation>(StringComparer.Ordinal);
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                if (!(parser.Current is Scalar keyEvent))
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, At(file, parser.Current!.Start, key), $"A key under '{key}' is a list or mapping; keys are plain names.", null));
                    throw new AbortLoad();
                }

                parser.MoveNext();
                var path = key.Length == 0 ? keyEvent.Value : key + "." + keyEvent.Value;
                var keyNode = new YamlScalar(At(file, keyEvent.Start, path), keyEvent.Value);
                var value = ReadNode(parser, file, path, depth + 1, issues);
                if (seen.TryGetValue(keyEvent.Value, out var first))
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationDuplicateKey, keyNode.Location, $"The key '{path}' appears twice; the first is at line {first.Line}.", "Keep one of them."));
                    continue;
                }

                seen.Add(keyEvent.Value, keyNode.Location);
                mapping.Entries.Add(new KeyValuePair<YamlScalar, YamlNode>(keyNode, value));
            }

            return mapping;
        }

        private static ConfigurationLocation At(string file, Mark mark, string key) =>
            new ConfigurationLocation(file, (int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column), key);

        /// <summary>Stops reading after a problem that leaves nothing sensible to read on.</summary>
        private sealed class AbortLoad : Exception
        {
        }
    }
}
