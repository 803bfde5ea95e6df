using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using ConnectionTools.Errors;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace ConnectionTools.Configuration
{
    /// <summary>
    /// A node of a configuration file, with the line and column it starts at. Its <see cref="Location"/> (with the key path,
    /// such as connections[2].name) is made only when asked for, which is only for errors and declarations: a file of ten
    /// thousand connections has a hundred thousand nodes.
    /// </summary>
    internal abstract class YamlNode
    {
        private readonly string _file;
        private readonly int _line;
        private readonly int _column;
        private readonly YamlNode? _parent;
        private readonly string? _key;
        private readonly int _index;
        private ConfigurationLocation? _location;

        /// <param name="parent">The mapping or list holding this node; null for the document.</param>
        /// <param name="key">The key this node is the value (or key) of in <paramref name="parent"/>; null in a list.</param>
        /// <param name="index">The position in <paramref name="parent"/> when it is a list.</param>
        protected YamlNode(string file, int line, int column, YamlNode? parent, string? key, int index)
        {
            _file = file;
            _line = line;
            _column = column;
            _parent = parent;
            _key = key;
            _index = index;
        }

        public ConfigurationLocation Location => _location ??= new ConfigurationLocation(_file, _line, _column, KeyPath());

        public abstract string Kind { get; }

        /// <summary>The key path of this node; the document's is empty.</summary>
        public string KeyPath()
        {
            if (_location != null)
            {
                return _location.Key;
            }

            if (_parent is null)
            {
                return "";
            }

            var parent = _parent.KeyPath();
            if (_key is null)
            {
                return parent + "[" + _index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";
            }

            return parent.Length == 0 ? _key : parent + "." + _key;
        }
    }

    internal sealed class YamlScalar : YamlNode
    {
        public YamlScalar(string file, int line, int column, YamlNode? parent, string? key, int index, string? value)
            : base(file, line, column, parent, key, index)
        {
            Value = value;
        }

        /// <summary>Null for YAML's null (<c>~</c>, <c>null</c> or nothing); quoted text is never null.</summary>
        public string? Value { get; }

        public override string Kind => Value is null ? "null" : "a value";
    }

    internal sealed class YamlSequence : YamlNode
    {
        public YamlSequence(string file, int line, int column, YamlNode? parent, string? key, int index)
            : base(file, line, column, parent, key, index)
        {
        }

        public List<YamlNode> Items { get; } = new List<YamlNode>();

        public override string Kind => "a list";
    }

    internal sealed class YamlMapping : YamlNode
    {
        public YamlMapping(string file, int line, int column, YamlNode? parent, string? key, int index)
            : base(file, line, column, parent, key, index)
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
                    // A file that is not there has no line or column to point at.
                    issues.Add(new ConfigurationIssue(
                        ErrorIds.ConfigurationFileNotFound,
                        new ConfigurationLocation(displayPath, 0, 0, ""),
                        $"Configuration file not found: {info.FullName}",
                        Directory.Exists(info.FullName) ? "The path is a folder; give the path of the YAML file in it." : "Check the -Path; a relative path is taken from the current location."));
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
                var root = ReadNode(parser, displayPath, null, null, 0, 0, issues);
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

        private static YamlNode ReadNode(IParser parser, string file, YamlNode? parent, string? key, int index, int depth, List<ConfigurationIssue> issues)
        {
            var current = parser.Current!;
            if (depth > MaxDepth || current is AnchorAlias || current is NodeEvent { Anchor.IsEmpty: false })
            {
                // Errors only: the key path is worked out now.
                var path = Path(parent, key, index);
                if (depth > MaxDepth)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, At(file, current.Start, path), $"Nesting deeper than {MaxDepth} levels at '{path}'; a configuration is never this deep.", null));
                }
                else if (current is AnchorAlias alias)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, At(file, alias.Start, path), $"'{path}' uses the alias *{alias.Value}; anchors and aliases are not supported in a configuration.", "Write the value out in full."));
                }
                else
                {
                    var anchored = (NodeEvent)current;
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, At(file, anchored.Start, path), $"'{path}' defines the anchor &{anchored.Anchor}; anchors and aliases are not supported in a configuration.", "Write the value out in full."));
                }

                throw new AbortLoad();
            }

            if (current is Scalar scalar)
            {
                parser.MoveNext();
                var isNull = scalar.Style == ScalarStyle.Plain && (scalar.Value.Length == 0 || scalar.Value == "~" || scalar.Value == "null" || scalar.Value == "Null" || scalar.Value == "NULL");
                return new YamlScalar(file, Line(scalar.Start), Column(scalar.Start), parent, key, index, isNull ? null : scalar.Value);
            }

            if (current is SequenceStart sequenceStart)
            {
                parser.MoveNext();
                var sequence = new YamlSequence(file, Line(sequenceStart.Start), Column(sequenceStart.Start), parent, key, index);
                while (!parser.TryConsume<SequenceEnd>(out _))
                {
                    sequence.Items.Add(ReadNode(parser, file, sequence, null, sequence.Items.Count, depth + 1, issues));
                }

                return sequence;
            }

            var mappingStart = parser.Consume<MappingStart>();
            var mapping = new YamlMapping(file, Line(mappingStart.Start), Column(mappingStart.Start), parent, key, index);
            Dictionary<string, YamlScalar>? seen = null;
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                if (!(parser.Current is Scalar keyEvent))
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationSyntaxError, At(file, parser.Current!.Start, mapping.KeyPath()), $"A key under '{mapping.KeyPath()}' is a list or mapping; keys are plain names.", null));
                    throw new AbortLoad();
                }

                parser.MoveNext();
                var keyNode = new YamlScalar(file, Line(keyEvent.Start), Column(keyEvent.Start), mapping, keyEvent.Value, 0, keyEvent.Value);
                var value = ReadNode(parser, file, mapping, keyEvent.Value, 0, depth + 1, issues);
                var first = Find(mapping, ref seen, keyEvent.Value);
                if (first != null)
                {
                    issues.Add(new ConfigurationIssue(ErrorIds.ConfigurationDuplicateKey, keyNode.Location, $"The key '{keyNode.KeyPath()}' appears twice; the first is at line {first.Location.Line}.", "Keep one of them."));
                    continue;
                }

                mapping.Entries.Add(new KeyValuePair<YamlScalar, YamlNode>(keyNode, value));
                seen?.Add(keyEvent.Value, keyNode);
            }

            return mapping;
        }

        /// <summary>The key node already in <paramref name="mapping"/> with this name: a scan while it is small, then an index.</summary>
        private static YamlScalar? Find(YamlMapping mapping, ref Dictionary<string, YamlScalar>? index, string name)
        {
            if (index is null && mapping.Entries.Count < 16)
            {
                foreach (var entry in mapping.Entries)
                {
                    if (string.Equals(entry.Key.Value, name, StringComparison.Ordinal))
                    {
                        return entry.Key;
                    }
                }

                return null;
            }

            if (index is null)
            {
                index = new Dictionary<string, YamlScalar>(StringComparer.Ordinal);
                foreach (var entry in mapping.Entries)
                {
                    index[entry.Key.Value ?? ""] = entry.Key;
                }
            }

            return index.TryGetValue(name, out var found) ? found : null;
        }

        private static string Path(YamlNode? parent, string? key, int index)
        {
            var prefix = parent?.KeyPath() ?? "";
            if (parent is null)
            {
                return "";
            }

            if (key is null)
            {
                return prefix + "[" + index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";
            }

            return prefix.Length == 0 ? key : prefix + "." + key;
        }

        private static int Line(Mark mark) => (int)Math.Max(1, mark.Line);

        private static int Column(Mark mark) => (int)Math.Max(1, mark.Column);

        private static ConfigurationLocation At(string file, Mark mark, string key) =>
            new ConfigurationLocation(file, (int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column), key);

        /// <summary>Stops reading after a problem that leaves nothing sensible to read on.</summary>
        private sealed class AbortLoad : Exception
        {
        }
    }
}
