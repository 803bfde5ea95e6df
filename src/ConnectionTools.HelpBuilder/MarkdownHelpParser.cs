using System.Text.RegularExpressions;

namespace ConnectionTools.HelpBuilder;

/// <summary>
/// Reads one cmdlet's help from markdown in the layout platyPS writes (schema 2.0.0, plus the "## ALIASES" section of
/// Microsoft.PowerShell.PlatyPS), so contributors who have platyPS can keep using it. Anything outside the layout is an
/// error with a line number: a typo would otherwise drop content from Get-Help without anyone noticing.
/// </summary>
internal static partial class MarkdownHelpParser
{
    /// <summary>Cmdlet docs are named Verb-Noun.md; other markdown in the folder (README.md, about topics) is not cmdlet help.</summary>
    public const string CommandFilePattern = "*-*.md";

    private const string Synopsis = "SYNOPSIS";
    private const string Syntax = "SYNTAX";
    private const string Aliases = "ALIASES";
    private const string Description = "DESCRIPTION";
    private const string Examples = "EXAMPLES";
    private const string Parameters = "PARAMETERS";
    private const string Inputs = "INPUTS";
    private const string Outputs = "OUTPUTS";
    private const string Notes = "NOTES";
    private const string RelatedLinks = "RELATED LINKS";

    private static readonly string[] RequiredSections = { Synopsis, Syntax, Description, Examples, Parameters, Inputs, Outputs, Notes, RelatedLinks };
    private static readonly string[] KnownSections = RequiredSections.Append(Aliases).ToArray();
    private static readonly string[] RequiredMetadata = { "external help file", "Module Name" };

    private static readonly string[] YamlKeys =
    {
        "Type", "Parameter Sets", "Aliases", "Accepted values", "Required", "Position", "Default value", "Accept pipeline input", "Accept wildcard characters",
    };

    private static readonly string[] RequiredYamlKeys = { "Type", "Parameter Sets", "Required", "Position", "Accept pipeline input", "Accept wildcard characters" };

    public static IReadOnlyList<CommandHelp> ParseFolder(string folder) =>
        Directory.GetFiles(folder, CommandFilePattern).OrderBy(f => f, StringComparer.Ordinal).Select(ParseFile).ToList();

    public static CommandHelp ParseFile(string path)
    {
        var help = Parse(File.ReadAllText(path), path);
        var fileName = Path.GetFileNameWithoutExtension(path);
        if (!string.Equals(fileName, help.Name, StringComparison.Ordinal))
        {
            throw new HelpFormatException(path, 1, $"the file is named '{fileName}.md' but documents '{help.Name}'; name it '{help.Name}.md'.");
        }

        return help;
    }

    public static CommandHelp Parse(string markdown, string source)
    {
        var document = Read(markdown, source);
        foreach (var key in RequiredMetadata.Where(k => !document.Metadata.ContainsKey(k)))
        {
            throw new HelpFormatException(source, 1, $"the front matter has no '{key}:' line.");
        }

        var content = document.Blocks.Where(b => !IsBlank(b)).ToList();
        if (content.Count == 0 || content[0] is not Heading { Level: 1 } title)
        {
            throw new HelpFormatException(source, content.FirstOrDefault()?.Line ?? 1, "the help must start with '# Verb-Noun'.");
        }

        if (!title.Text.Contains('-', StringComparison.Ordinal))
        {
            throw new HelpFormatException(source, title.Line, $"'{title.Text}' is not a Verb-Noun command name.");
        }

        var sections = Sections(document.Blocks.SkipWhile(b => b != title).Skip(1).ToList(), source);
        var parameters = ParametersOf(sections[Parameters], source);
        return new CommandHelp
        {
            Name = title.Text,
            Source = source,
            Metadata = document.Metadata,
            Synopsis = string.Join(" ", Paragraphs(sections[Synopsis].Blocks, source)),
            Syntax = SyntaxOf(sections[Syntax], source),
            Aliases = sections.TryGetValue(Aliases, out var aliases) ? AliasesOf(aliases.Blocks) : Array.Empty<string>(),
            Description = Paragraphs(sections[Description].Blocks, source),
            Examples = ExamplesOf(sections[Examples], source),
            Parameters = parameters.Parameters,
            SupportsCommonParameters = parameters.CommonParameters,
            Inputs = TypesOf(sections[Inputs], source),
            Outputs = TypesOf(sections[Outputs], source),
            Notes = Paragraphs(sections[Notes].Blocks, source),
            RelatedLinks = LinksOf(sections[RelatedLinks].Blocks, source),
        };
    }

    private static Document Read(string markdown, string source)
    {
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        if (lines[0].Trim() == "---")
        {
            for (i = 1; i < lines.Length && lines[i].Trim() != "---"; i++)
            {
                if (string.IsNullOrWhiteSpace(lines[i]))
                {
                    continue;
                }

                var (key, value) = KeyValue(lines[i], source, i + 1);
                metadata[key] = value.Trim('\'', '"');
            }

            if (i == lines.Length)
            {
                throw new HelpFormatException(source, 1, "the front matter has no closing '---'.");
            }

            i++;
        }

        var blocks = new List<Block>();
        for (; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart();
            if (trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                var start = i;
                var code = new List<string>();
                for (i++; i < lines.Length && !lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal); i++)
                {
                    code.Add(lines[i]);
                }

                if (i == lines.Length)
                {
                    throw new HelpFormatException(source, start + 1, "the code block is not closed with ```.");
                }

                blocks.Add(new Fence(start + 1, trimmed[3..].Trim(), string.Join("\n", code)));
                continue;
            }

            var heading = HeadingLine().Match(lines[i]);
            blocks.Add(heading.Success
                ? new Heading(i + 1, heading.Groups[1].Length, heading.Groups[2].Value)
                : new TextLine(i + 1, lines[i]));
        }

        return new Document(metadata, blocks);
    }

    private static Dictionary<string, Section> Sections(List<Block> blocks, string source)
    {
        var sections = new Dictionary<string, Section>(StringComparer.OrdinalIgnoreCase);
        Section? current = null;
        foreach (var block in blocks)
        {
            if (block is Heading { Level: <= 2 } heading)
            {
                var name = heading.Text.ToUpperInvariant();
                if (heading.Level == 1 || !KnownSections.Contains(name))
                {
                    throw new HelpFormatException(source, heading.Line, $"unexpected heading '{heading.Text}'; the sections are {string.Join(", ", KnownSections)}.");
                }

                if (sections.ContainsKey(name))
                {
                    throw new HelpFormatException(source, heading.Line, $"'## {heading.Text}' appears twice.");
                }

                current = new Section(heading, new List<Block>());
                sections.Add(name, current);
            }
            else if (current != null)
            {
                current.Blocks.Add(block);
            }
            else if (!IsBlank(block))
            {
                throw new HelpFormatException(source, block.Line, "only '## SYNOPSIS' may follow the command name.");
            }
        }

        foreach (var missing in RequiredSections.Where(s => !sections.ContainsKey(s)))
        {
            throw new HelpFormatException(source, 1, $"the '## {missing}' section is missing.");
        }

        return sections;
    }

    /// <summary>The "### ..." subsections of a section. Nothing but blank lines may come before the first one.</summary>
    private static List<Section> Subsections(Section section, string source)
    {
        var subsections = new List<Section>();
        foreach (var block in section.Blocks)
        {
            if (block is Heading { Level: 3 } heading)
            {
                subsections.Add(new Section(heading, new List<Block>()));
            }
            else if (block is Heading other)
            {
                throw new HelpFormatException(source, other.Line, $"'{other.Text}' should be a '###' heading.");
            }
            else if (subsections.Count > 0)
            {
                subsections[^1].Blocks.Add(block);
            }
            else if (!IsBlank(block))
            {
                throw new HelpFormatException(source, block.Line, $"text in '## {section.Heading.Text}' must come under a '###' heading.");
            }
        }

        if (subsections.Count == 0)
        {
            throw new HelpFormatException(source, section.Heading.Line, $"'## {section.Heading.Text}' has no '###' entries.");
        }

        return subsections;
    }

    private static List<SyntaxBlock> SyntaxOf(Section section, string source)
    {
        var syntax = new List<SyntaxBlock>();
        foreach (var set in Subsections(section, source))
        {
            var fences = set.Blocks.OfType<Fence>().ToList();
            if (fences.Count != 1 || set.Blocks.Any(b => b is TextLine t && !string.IsNullOrWhiteSpace(t.Text)))
            {
                throw new HelpFormatException(source, set.Heading.Line, $"'### {set.Heading.Text}' must hold exactly one code block with the syntax.");
            }

            var match = DefaultSuffix().Match(set.Heading.Text);
            var name = match.Success ? set.Heading.Text[..match.Index].Trim() : set.Heading.Text;
            if (syntax.Any(s => string.Equals(s.ParameterSetName, name, StringComparison.OrdinalIgnoreCase)))
            {
                throw new HelpFormatException(source, set.Heading.Line, $"the parameter set '{name}' appears twice.");
            }

            syntax.Add(new SyntaxBlock(name, match.Success, fences[0].Content.Trim()));
        }

        return syntax;
    }

    /// <summary>Alias names are the list items of the section, or the `code` spans in them ("- All platforms: `dir`, `gci`").</summary>
    private static List<string> AliasesOf(List<Block> blocks)
    {
        var aliases = new List<string>();
        foreach (var item in blocks.OfType<TextLine>().Select(t => ListItem().Match(t.Text.Trim())).Where(m => m.Success))
        {
            var text = item.Groups["text"].Value.Trim();
            var spans = CodeSpan().Matches(text).Select(m => m.Groups[1].Value.Trim()).ToList();
            aliases.AddRange(spans.Count > 0 ? spans : new List<string> { text });
        }

        return aliases;
    }

    private static List<HelpExample> ExamplesOf(Section section, string source)
    {
        var examples = new List<HelpExample>();
        foreach (var example in Subsections(section, source))
        {
            var code = example.Blocks.OfType<Fence>().Select(f => f.Content.TrimEnd()).ToList();
            if (code.Count == 0)
            {
                throw new HelpFormatException(source, example.Heading.Line, $"the example '{example.Heading.Text}' has no code block.");
            }

            examples.Add(new HelpExample(PlainText(example.Heading.Text), string.Join("\n\n", code), Paragraphs(example.Blocks.Where(b => b is not Fence), source)));
        }

        return examples;
    }

    private static (List<ParameterHelp> Parameters, bool CommonParameters) ParametersOf(Section section, string source)
    {
        var parameters = new List<ParameterHelp>();
        var common = false;
        foreach (var entry in Subsections(section, source))
        {
            var heading = entry.Heading.Text;
            if (heading is "CommonParameters" or "<CommonParameters>")
            {
                common = true;
                continue;
            }

            if (!heading.StartsWith('-') || heading.Length == 1)
            {
                throw new HelpFormatException(source, entry.Heading.Line, $"'### {heading}' should be '### -ParameterName' or '### CommonParameters'.");
            }

            var name = heading[1..];
            if (parameters.Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                throw new HelpFormatException(source, entry.Heading.Line, $"the parameter -{name} is documented twice.");
            }

            parameters.Add(ParameterOf(name, entry, source));
        }

        return (parameters, common);
    }

    private static ParameterHelp ParameterOf(string name, Section entry, string source)
    {
        var yaml = entry.Blocks.OfType<Fence>().Where(f => string.Equals(f.Info, "yaml", StringComparison.OrdinalIgnoreCase)).ToList();
        if (yaml.Count == 0)
        {
            throw new HelpFormatException(source, entry.Heading.Line, $"-{name} has no ```yaml block with its Type, Parameter Sets, Required, Position and pipeline input.");
        }

        var fields = yaml.Select(f => YamlFields(f, source)).ToList();
        var usages = fields.Select(f => (Fields: f, Pipeline: PipelineInput(f["Accept pipeline input"], source))).Select(f => new ParameterUsage
        {
            ParameterSets = ParameterSets(f.Fields["Parameter Sets"].Value),
            Required = Bool(f.Fields["Required"], source),
            Position = Position(f.Fields["Position"], source),
            DefaultValue = f.Fields.TryGetValue("Default value", out var value) ? value.Value : "None",
            ByValue = f.Pipeline.ByValue,
            ByPropertyName = f.Pipeline.ByPropertyName,
            Wildcards = Bool(f.Fields["Accept wildcard characters"], source),
        }).ToList();

        // Type, aliases and accepted values belong to the parameter; blocks exist only for what differs between sets.
        foreach (var key in new[] { "Type", "Aliases", "Accepted values" })
        {
            var distinct = fields.Select(f => f.TryGetValue(key, out var v) ? v.Value : "").Distinct(StringComparer.Ordinal).Count();
            if (distinct > 1)
            {
                throw new HelpFormatException(source, yaml[1].Line, $"the yaml blocks of -{name} disagree on '{key}'.");
            }
        }

        if (usages.Count > 1 && (usages.Any(u => u.AllSets) || usages.SelectMany(u => u.ParameterSets).GroupBy(s => s, StringComparer.OrdinalIgnoreCase).Any(g => g.Count() > 1)))
        {
            throw new HelpFormatException(source, yaml[1].Line, $"the yaml blocks of -{name} name the same parameter set more than once.");
        }

        return new ParameterHelp
        {
            Name = name,
            Description = Paragraphs(entry.Blocks.Where(b => !yaml.Contains(b)), source),
            Type = fields[0]["Type"].Value,
            Aliases = fields[0].TryGetValue("Aliases", out var aliases) ? List(aliases.Value) : Array.Empty<string>(),
            AcceptedValues = fields[0].TryGetValue("Accepted values", out var accepted) ? List(accepted.Value) : Array.Empty<string>(),
            Usages = usages,
        };
    }

    private static Dictionary<string, Field> YamlFields(Fence fence, string source)
    {
        var fields = new Dictionary<string, Field>(StringComparer.OrdinalIgnoreCase);
        var lines = fence.Content.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            var line = fence.Line + 1 + i;
            var (key, value) = KeyValue(lines[i], source, line);
            var known = YamlKeys.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase))
                ?? throw new HelpFormatException(source, line, $"unknown key '{key}'; the keys are {string.Join(", ", YamlKeys)}.");
            if (!fields.TryAdd(known, new Field(value, line)))
            {
                throw new HelpFormatException(source, line, $"'{known}' appears twice.");
            }
        }

        foreach (var missing in RequiredYamlKeys.Where(k => !fields.ContainsKey(k)))
        {
            throw new HelpFormatException(source, fence.Line, $"the yaml block has no '{missing}:' line.");
        }

        return fields;
    }

    private static List<TypeHelp> TypesOf(Section section, string source) =>
        Subsections(section, source).Select(s => new TypeHelp(s.Heading.Text, Paragraphs(s.Blocks, source))).ToList();

    private static List<RelatedLink> LinksOf(List<Block> blocks, string source)
    {
        var links = new List<RelatedLink>();
        foreach (var block in blocks.Where(b => !IsBlank(b)))
        {
            var match = block is TextLine line ? Link().Match(line.Text.Trim()) : Match.Empty;
            if (!match.Success)
            {
                throw new HelpFormatException(source, block.Line, "each related link is a line '[text](url)'.");
            }

            var uri = match.Groups["uri"].Value.Trim();
            var isWeb = uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            links.Add(new RelatedLink(match.Groups["text"].Value.Trim(), isWeb ? uri : ""));
        }

        return links;
    }

    /// <summary>
    /// Text as MAML paragraphs: lines separated by a blank line form one paragraph, each list item is its own paragraph
    /// (Get-Help wraps paragraph text, so markdown line breaks carry no meaning), and a code block stays as it is.
    /// </summary>
    private static List<string> Paragraphs(IEnumerable<Block> blocks, string source)
    {
        var paragraphs = new List<string>();
        var current = new List<string>();
        void Flush()
        {
            if (current.Count > 0)
            {
                // Joined first: a code span may run over a line break.
                paragraphs.Add(PlainText(string.Join(" ", current)));
                current.Clear();
            }
        }

        foreach (var block in blocks)
        {
            switch (block)
            {
                case Heading heading:
                    throw new HelpFormatException(source, heading.Line, $"a heading is not expected here: '{heading.Text}'.");
                case Fence fence:
                    Flush();
                    paragraphs.Add(fence.Content);
                    break;
                case TextLine line when string.IsNullOrWhiteSpace(line.Text):
                    Flush();
                    break;
                case TextLine line:
                    var text = line.Text.Trim();
                    if (ListItem().IsMatch(text))
                    {
                        Flush();
                    }

                    current.Add(text);
                    break;
            }
        }

        Flush();
        return paragraphs;
    }

    /// <summary>
    /// Markdown inline code as Get-Help shows text: the backticks go, the code stays (`Get-Connection` reads Get-Connection).
    /// As in CommonMark, a span opens with a run of backticks and closes with a run of the same length, so `` ` `` is a
    /// literal backtick, and one space inside each end is dropped. A backtick with no closing run is text, and stays.
    /// </summary>
    internal static string PlainText(string text)
    {
        if (text.IndexOf('`', StringComparison.Ordinal) < 0)
        {
            return text;
        }

        var result = new System.Text.StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] != '`')
            {
                result.Append(text[i++]);
                continue;
            }

            var run = 0;
            while (i + run < text.Length && text[i + run] == '`')
            {
                run++;
            }

            var close = FindRun(text, i + run, run);
            if (close < 0)
            {
                result.Append(text, i, run);
                i += run;
                continue;
            }

            var code = text[(i + run)..close];
            if (code.Length >= 2 && code[0] == ' ' && code[^1] == ' ' && code.Trim().Length > 0)
            {
                code = code[1..^1];
            }

            result.Append(code);
            i = close + run;
        }

        return result.ToString();
    }

    /// <summary>Where a run of exactly <paramref name="length"/> backticks starts at or after <paramref name="from"/>; -1 if none.</summary>
    private static int FindRun(string text, int from, int length)
    {
        var i = from;
        while (i < text.Length)
        {
            if (text[i] != '`')
            {
                i++;
                continue;
            }

            var run = 0;
            while (i + run < text.Length && text[i + run] == '`')
            {
                run++;
            }

            if (run == length)
            {
                return i;
            }

            i += run;
        }

        return -1;
    }

    private static (string Key, string Value) KeyValue(string line, string source, int lineNumber)
    {
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new HelpFormatException(source, lineNumber, $"expected 'key: value', found '{line.Trim()}'.");
        }

        return (line[..colon].Trim(), line[(colon + 1)..].Trim());
    }

    private static List<string> List(string value) =>
        value is "" or "None" ? new List<string>() : value.Split(',').Select(v => v.Trim()).Where(v => v.Length > 0).ToList();

    /// <summary>"(All)" is written as no list, so a parameter added to a new set needs no doc change.</summary>
    private static List<string> ParameterSets(string value) => value == "(All)" ? new List<string>() : List(value);

    private static bool Bool(Field field, string source) =>
        bool.TryParse(field.Value, out var value) ? value : throw new HelpFormatException(source, field.Line, $"expected True or False, found '{field.Value}'.");

    private static int? Position(Field field, string source)
    {
        if (string.Equals(field.Value, "Named", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return int.TryParse(field.Value, out var position) && position >= 0
            ? position
            : throw new HelpFormatException(source, field.Line, $"Position is Named or a number from 0, found '{field.Value}'.");
    }

    /// <summary>"False", or "True (ByValue)", "True (ByPropertyName)", "True (ByPropertyName, ByValue)" in either order.</summary>
    private static (bool ByValue, bool ByPropertyName) PipelineInput(Field field, string source)
    {
        if (string.Equals(field.Value, "False", StringComparison.OrdinalIgnoreCase))
        {
            return (false, false);
        }

        var match = PipelineTrue().Match(field.Value);
        var kinds = match.Success ? List(match.Groups[1].Value) : new List<string>();
        if (kinds.Count == 0 || kinds.Any(k => k is not ("ByValue" or "ByPropertyName")))
        {
            throw new HelpFormatException(source, field.Line, $"Accept pipeline input is False or True (ByValue), True (ByPropertyName) or True (ByPropertyName, ByValue); found '{field.Value}'.");
        }

        return (kinds.Contains("ByValue"), kinds.Contains("ByPropertyName"));
    }

    private static bool IsBlank(Block block) => block is TextLine line && string.IsNullOrWhiteSpace(line.Text);

    [GeneratedRegex(@"^(#{1,6})\s+(.+?)\s*$")]
    private static partial Regex HeadingLine();

    [GeneratedRegex(@"\s*\(Default\)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex DefaultSuffix();

    [GeneratedRegex(@"^(?:[-*+]|\d+\.)\s+(?<text>.*)$")]
    private static partial Regex ListItem();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"^(?:[-*+]\s+)?\[(?<text>[^\]]+)\]\((?<uri>[^)]*)\)$")]
    private static partial Regex Link();

    [GeneratedRegex(@"^True\s*\(([^)]*)\)$", RegexOptions.IgnoreCase)]
    private static partial Regex PipelineTrue();

    private abstract record Block(int Line);

    private sealed record Heading(int Line, int Level, string Text) : Block(Line);

    private sealed record Fence(int Line, string Info, string Content) : Block(Line);

    private sealed record TextLine(int Line, string Text) : Block(Line);

    private sealed record Section(Heading Heading, List<Block> Blocks);

    private sealed record Document(Dictionary<string, string> Metadata, List<Block> Blocks);

    private sealed record Field(string Value, int Line);
}
