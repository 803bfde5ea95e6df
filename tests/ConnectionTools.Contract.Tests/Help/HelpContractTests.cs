using System.Management.Automation;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ConnectionTools.Errors;
using ConnectionTools.HelpBuilder;

namespace ConnectionTools.Contract.Tests;

/// <summary>
/// The help in docs/cmdlets against the cmdlets the assembly defines: every cmdlet and parameter documented as it binds,
/// nothing documented that does not exist, and MAML in the shape Get-Help reads.
/// </summary>
public partial class HelpContractTests
{
    private const string HelpFileName = "ConnectionTools.PowerShell.dll-Help.xml";

    // Written out rather than taken from MamlWriter, so a wrong namespace there fails here.
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    private static readonly Lazy<IReadOnlyList<CommandHelp>> Docs = new(() => MarkdownHelpParser.ParseFolder(DocsFolder));

    public static TheoryData<string> CmdletNames() => CmdletContractTests.CmdletNames();

    /// <summary>The docs in the work tree, not a copy in bin/, so a deleted or renamed doc counts at once.</summary>
    private static string DocsFolder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "ConnectionTools.sln")))
                {
                    return Path.Combine(dir.FullName, "docs", "cmdlets");
                }
            }

            throw new InvalidOperationException("ConnectionTools.sln not found above " + AppContext.BaseDirectory);
        }
    }

    private static IReadOnlyList<string> ErrorIdValues { get; } = typeof(ErrorIds).GetFields()
        .Where(f => f.IsLiteral)
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToList();

    [Fact]
    public void The_README_cmdlet_reference_links_every_cmdlet_s_doc_and_nothing_else()
    {
        var readme = File.ReadAllText(Path.Combine(DocsFolder, "..", "..", "README.md"));
        var linked = Regex.Matches(readme, @"\(docs/cmdlets/([A-Za-z]+-[A-Za-z]+)\.md\)").Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var cmdlets = CmdletAssembly.Cmdlets.Select(CmdletAssembly.NameOf).ToHashSet(StringComparer.Ordinal);

        Assert.True(cmdlets.SetEquals(linked), $"README links missing for: [{string.Join(", ", cmdlets.Except(linked))}]; links to no cmdlet: [{string.Join(", ", linked.Except(cmdlets))}].");
    }

    [Fact]
    public void Every_cmdlet_has_a_doc_and_every_doc_is_for_a_cmdlet()
    {
        var cmdlets = CmdletAssembly.Cmdlets.Select(CmdletAssembly.NameOf).ToHashSet(StringComparer.Ordinal);
        var documented = Docs.Value.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);

        Assert.True(cmdlets.SetEquals(documented), $"Cmdlets without docs/cmdlets/<name>.md: [{string.Join(", ", cmdlets.Except(documented))}]. Docs for no cmdlet: [{string.Join(", ", documented.Except(cmdlets))}].");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void The_doc_describes_exactly_the_parameters_the_cmdlet_defines(string name)
    {
        var expected = ExpectedHelp.Parameters(Cmdlet(name)).Select(p => p.Name).ToList();
        var documented = Doc(name).Parameters.Select(p => p.Name).ToList();
        var undocumented = expected.Except(documented).ToList();
        var stale = documented.Except(expected).ToList();

        Assert.True(undocumented.Count == 0, $"{name}: parameters without a '### -<Parameter>' entry in docs/cmdlets/{name}.md: {string.Join(", ", undocumented)}");
        Assert.True(stale.Count == 0, $"{name}: docs/cmdlets/{name}.md describes parameters the cmdlet does not have: {string.Join(", ", stale)}");
        Assert.True(Doc(name).SupportsCommonParameters, $"{name}: its doc has no '### CommonParameters' entry");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void The_doc_shows_every_parameter_set_and_marks_the_default(string name)
    {
        var doc = Doc(name);
        var defaultSet = CmdletAssembly.Info(Cmdlet(name)).DefaultParameterSetName;

        Assert.Equal(ExpectedHelp.ParameterSets(Cmdlet(name)).Order(), doc.ParameterSetNames.Order());
        Assert.Equal(defaultSet is null ? Array.Empty<string>() : new[] { defaultSet }, doc.Syntax.Where(s => s.IsDefault).Select(s => s.ParameterSetName));
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Each_parameter_is_documented_as_it_binds(string name)
    {
        var doc = Doc(name);
        var problems = new List<string>();
        foreach (var expected in ExpectedHelp.Parameters(Cmdlet(name)))
        {
            // A parameter missing from the doc is reported by The_doc_describes_exactly_the_parameters_the_cmdlet_defines.
            var documented = doc.Parameters.FirstOrDefault(p => p.Name == expected.Name);
            if (documented is null)
            {
                continue;
            }

            var where = $"{name} -{expected.Name}";
            Check(where, "Type", expected.Type.Name, expected.IsNamedBy(documented.Type) ? expected.Type.Name : documented.Type);
            Check(where, "Aliases", string.Join(", ", expected.Aliases.Order()), string.Join(", ", documented.Aliases.Order()));
            Check(where, "Accepted values", string.Join(", ", expected.AcceptedValues.Order()), string.Join(", ", documented.AcceptedValues.Order()));
            foreach (var unknown in documented.Usages.SelectMany(u => u.ParameterSets).Except(doc.ParameterSetNames))
            {
                problems.Add($"{where}: Parameter Sets names '{unknown}', which is not under ## SYNTAX");
            }

            foreach (var set in doc.ParameterSetNames)
            {
                var usage = documented.UsageIn(set);
                if (!expected.Sets.TryGetValue(set, out var binding))
                {
                    if (usage != null)
                    {
                        problems.Add($"{where}: documented in parameter set {set}, which it is not in");
                    }

                    continue;
                }

                if (usage is null)
                {
                    problems.Add($"{where}: not documented in parameter set {set}");
                    continue;
                }

                var inSet = $"{where} ({set})";
                Check(inSet, "Required", binding.Required, usage.Required);
                Check(inSet, "Position", binding.Position?.ToString() ?? "Named", usage.Position?.ToString() ?? "Named");
                Check(inSet, "Accept pipeline input ByValue", binding.ByValue, usage.ByValue);
                Check(inSet, "Accept pipeline input ByPropertyName", binding.ByPropertyName, usage.ByPropertyName);
                Check(inSet, "Accept wildcard characters", expected.Wildcards, usage.Wildcards);
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));

        void Check<T>(string where, string what, T code, T doc)
        {
            if (!EqualityComparer<T>.Default.Equals(code, doc))
            {
                problems.Add($"{where}: {what} is '{doc}' in the doc and '{code}' in the code");
            }
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void The_syntax_of_each_parameter_set_lists_its_parameters(string name)
    {
        var parameters = ExpectedHelp.Parameters(Cmdlet(name));
        foreach (var block in Doc(name).Syntax)
        {
            var expected = parameters.Where(p => p.Sets.ContainsKey(block.ParameterSetName))
                .Select(p => SyntaxToken(p, p.Sets[block.ParameterSetName]))
                .Append("[<CommonParameters>]");

            Assert.Equal(expected.Order(StringComparer.OrdinalIgnoreCase), SyntaxTokens(block.Text, name).Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Every_alias_of_the_cmdlet_is_in_its_doc(string name)
    {
        Assert.Equal(CmdletAssembly.Aliases(Cmdlet(name)).Order(StringComparer.OrdinalIgnoreCase), Doc(name).Aliases.Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// INPUTS names the types bound from the pipeline by value; a cmdlet that binds only by property name takes any object
    /// with those properties (PSObject), and one that binds nothing from the pipeline says None.
    /// </summary>
    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Inputs_and_outputs_name_the_types_the_cmdlet_takes_and_writes(string name)
    {
        var type = Cmdlet(name);
        var parameters = CmdletAssembly.Parameters(type).ToList();
        var inputs = parameters
            .Where(p => p.Parameter.ValueFromPipeline)
            .Select(p => (p.Property.PropertyType.IsArray ? p.Property.PropertyType.GetElementType()! : p.Property.PropertyType).FullName!)
            .Distinct()
            .Order()
            .ToList();
        if (inputs.Count == 0)
        {
            inputs.Add(parameters.Any(p => p.Parameter.ValueFromPipelineByPropertyName) ? typeof(PSObject).FullName! : "None");
        }

        Assert.Equal(CmdletAssembly.OutputTypes(type).Select(t => t.FullName!).Order(), Doc(name).Outputs.Select(o => o.TypeName).Order());
        Assert.Equal(inputs, Doc(name).Inputs.Select(i => i.TypeName).Order());
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void The_doc_explains_the_cmdlet_and_shows_it_in_examples(string name)
    {
        var doc = Doc(name);

        Assert.Equal(HelpFileName, doc.Metadata["external help file"]);
        Assert.Equal("ConnectionTools", doc.Metadata["Module Name"]);
        Assert.DoesNotContain("{{", File.ReadAllText(doc.Source), StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(doc.Synopsis));
        Assert.NotEmpty(doc.Description);
        Assert.True(doc.Examples.Count >= 2, $"{name} has {doc.Examples.Count} example(s); it needs at least two");
        Assert.All(doc.Examples, e =>
        {
            Assert.True(Shows(e.Code, Cmdlet(name)), $"{name}: the example '{e.Title}' does not run {name} or an alias of it");
            Assert.NotEmpty(e.Remarks);
        });
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void The_doc_names_the_errors_the_cmdlet_can_raise_by_their_ids(string name)
    {
        var families = ErrorIdValues.Select(id => id.Split('.')[1]).Distinct();
        var text = File.ReadAllText(Doc(name).Source);
        // A type name such as ConnectionTools.Authorization.AuthorizationResult (under ## OUTPUTS) shares a family's prefix; it is not an id.
        var typeNames = typeof(ErrorIds).Assembly.GetExportedTypes().Concat(CmdletAssembly.Assembly.GetExportedTypes()).Select(t => t.FullName!);
        var mentioned = Regex.Matches(text, $@"ConnectionTools\.(?:{string.Join("|", families)})\b(?:\.[A-Za-z0-9]+)*").Select(m => m.Value).Except(typeNames).ToHashSet();
        var unknown = mentioned.Except(ErrorIdValues).ToList();

        // Every cmdlet opens the store first, so any store error can stop any of them.
        var storeIds = ErrorIdValues.Where(id => id.StartsWith("ConnectionTools.Store.", StringComparison.Ordinal));
        var unnamed = storeIds.Except(mentioned).ToList();

        Assert.True(unknown.Count == 0, $"{name}: its doc names error ids that do not exist: {string.Join(", ", unknown)}");
        Assert.True(unnamed.Count == 0, $"{name}: its doc does not name the store errors {string.Join(", ", unnamed)}");

        // A cmdlet that takes existing connections (by -Id or -InputObject, and then by -Name too) can be given one that does not exist.
        if (ExpectedHelp.Parameters(Cmdlet(name)).Any(p => p.Name is "Id" or "InputObject"))
        {
            Assert.Contains(ErrorIds.ConnectionNotFound, mentioned);
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Related_links_name_commands_and_topics_that_exist(string name)
    {
        var cmdlets = CmdletAssembly.Cmdlets.Select(CmdletAssembly.NameOf).ToHashSet(StringComparer.Ordinal);
        var topics = Path.Combine(DocsFolder, "..", "..", "module", "en-US");
        foreach (var link in Doc(name).RelatedLinks.Where(l => l.Uri.Length == 0))
        {
            Assert.True(
                cmdlets.Contains(link.Text) || File.Exists(Path.Combine(topics, link.Text + ".help.txt")),
                $"{name} links to '{link.Text}', which is neither a cmdlet of this module nor a topic in module/en-US");
        }
    }

    [Fact]
    public void The_index_links_every_doc_with_its_synopsis()
    {
        var index = File.ReadAllLines(Path.Combine(DocsFolder, "README.md"));
        var linked = index.SelectMany(l => IndexLink().Matches(l)).Select(m => m.Groups[1].Value).ToList();

        Assert.Equal(Docs.Value.Select(d => d.Name).Order(), linked.Order());
        foreach (var doc in Docs.Value)
        {
            Assert.Contains(index, l => l.Contains($"[{doc.Name}]({doc.Name}.md)", StringComparison.Ordinal) && l.Contains(doc.Synopsis, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_builder_writes_MAML_in_the_shape_Get_Help_reads_for_every_cmdlet()
    {
        var xml = BuildHelp(DocsFolder, out var exitCode, out var errors);
        Assert.True(exitCode == 0, errors);
        var root = xml!.Root!;
        Assert.Equal(Msh + "helpItems", root.Name);
        Assert.Equal("maml", (string?)root.Attribute("schema"));

        var commands = root.Elements(Command + "command").ToList();
        Assert.Equal(
            CmdletAssembly.Cmdlets.Select(CmdletAssembly.NameOf).Order(),
            commands.Select(c => c.Element(Command + "details")?.Element(Command + "name")?.Value).Order());
        foreach (var type in CmdletAssembly.Cmdlets)
        {
            var name = CmdletAssembly.NameOf(type);
            AssertCommand(commands.Single(c => c.Element(Command + "details")!.Element(Command + "name")!.Value == name), type, name);
        }
    }

    [Fact]
    public void A_layout_error_fails_the_build_with_the_file_and_line()
    {
        var folder = Directory.CreateTempSubdirectory("ct-help-docs-").FullName;
        try
        {
            var lines = File.ReadAllLines(Path.Combine(DocsFolder, "Get-Connection.md"));
            var typo = Array.FindIndex(lines, l => l.StartsWith("Accept pipeline input:", StringComparison.Ordinal));
            lines[typo] = lines[typo].Replace("pipeline", "pipline", StringComparison.Ordinal);
            File.WriteAllLines(Path.Combine(folder, "Get-Connection.md"), lines);

            BuildHelp(folder, out var exitCode, out var errors);

            Assert.Equal(1, exitCode);
            Assert.Contains($"Get-Connection.md({typo + 1}): error HELP1: unknown key 'Accept pipline input'", errors, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Aliases_listed_under_ALIASES_reach_the_help()
    {
        var markdown = File.ReadAllText(Path.Combine(DocsFolder, "Get-Connection.md")).ReplaceLineEndings("\n")
            .Replace("## ALIASES\n", "## ALIASES\n\nThis cmdlet has the following aliases:\n\n- `gcn`\n- `Find-Connection`\n", StringComparison.Ordinal);

        var help = MarkdownHelpParser.Parse(markdown, "Get-Connection.md");
        var description = MamlWriter.Write(new[] { help }).Root!.Element(Command + "command")!.Element(Maml + "description")!;

        Assert.Equal(new[] { "gcn", "Find-Connection" }, help.Aliases);
        Assert.Contains("gcn, Find-Connection", description.Value, StringComparison.Ordinal);
    }

    private static Type Cmdlet(string name) => CmdletAssembly.Cmdlets.Single(c => CmdletAssembly.NameOf(c) == name);

    private static CommandHelp Doc(string name) =>
        Docs.Value.SingleOrDefault(d => d.Name == name) ?? throw new Xunit.Sdk.XunitException($"docs/cmdlets/{name}.md is missing");

    /// <summary>Runs the builder the way Module.targets does, into a temporary file.</summary>
    private static XDocument? BuildHelp(string docsFolder, out int exitCode, out string errors)
    {
        var folder = Directory.CreateTempSubdirectory("ct-help-").FullName;
        try
        {
            var file = Path.Combine(folder, HelpFileName);
            using var output = new StringWriter();
            using var error = new StringWriter();
            exitCode = HelpBuild.Run(new[] { docsFolder, file }, output, error);
            errors = error.ToString();
            return File.Exists(file) ? XDocument.Load(file) : null;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void AssertCommand(XElement command, Type type, string name)
    {
        Assert.Equal(Maml, command.GetNamespaceOfPrefix("maml"));
        Assert.Equal(Command, command.GetNamespaceOfPrefix("command"));
        Assert.Equal(Dev, command.GetNamespaceOfPrefix("dev"));

        var details = command.Element(Command + "details")!;
        Assert.Equal(CmdletAssembly.Info(type).Verb, details.Element(Command + "verb")?.Value);
        Assert.Equal(CmdletAssembly.Info(type).Noun, details.Element(Command + "noun")?.Value);
        Assert.False(string.IsNullOrWhiteSpace(details.Element(Maml + "description")?.Element(Maml + "para")?.Value), $"{name}: no synopsis");
        Assert.NotEmpty(command.Element(Maml + "description")!.Elements(Maml + "para"));

        // Syntax items carry no set name; they follow the order of the doc's ## SYNTAX.
        var parameters = ExpectedHelp.Parameters(type);
        var items = command.Element(Command + "syntax")!.Elements(Command + "syntaxItem").ToList();
        var sets = Doc(name).ParameterSetNames.ToList();
        Assert.Equal(ExpectedHelp.ParameterSets(type).Count, items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            Assert.Equal(name, items[i].Element(Maml + "name")?.Value);
            var inSet = parameters.Where(p => p.Sets.ContainsKey(sets[i])).ToList();
            var shown = items[i].Elements(Command + "parameter").ToList();
            Assert.Equal(inSet.Select(p => p.Name).Order(), shown.Select(p => p.Element(Maml + "name")!.Value).Order());
            foreach (var element in shown)
            {
                var expected = inSet.Single(p => p.Name == element.Element(Maml + "name")!.Value);
                var binding = expected.Sets[sets[i]];
                Assert.Equal(binding.Required ? "true" : "false", (string?)element.Attribute("required"));
                Assert.Equal(binding.Position?.ToString() ?? "named", (string?)element.Attribute("position"));
                Assert.Equal(PipelineInput(binding), (string?)element.Attribute("pipelineInput"));
                Assert.Equal(expected.Wildcards ? "true" : "false", (string?)element.Attribute("globbing"));
            }
        }

        Assert.Equal(parameters.Select(p => p.Name).Order(), command.Element(Command + "parameters")!.Elements(Command + "parameter").Select(p => p.Element(Maml + "name")!.Value).Order());
        Assert.NotEmpty(command.Element(Command + "inputTypes")!.Elements(Command + "inputType"));
        Assert.NotEmpty(command.Element(Command + "returnValues")!.Elements(Command + "returnValue"));
        Assert.NotNull(command.Element(Maml + "alertSet")?.Element(Maml + "alert"));
        Assert.NotNull(command.Element(Command + "relatedLinks"));

        var examples = command.Element(Command + "examples")!.Elements(Command + "example").ToList();
        Assert.True(examples.Count >= 2, $"{name}: {examples.Count} example(s) in the MAML");
        Assert.All(examples, e =>
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Element(Maml + "title")?.Value));
            Assert.True(Shows(e.Element(Dev + "code")?.Value ?? "", type), $"{name}: an example does not run {name} or an alias of it");
            Assert.NotEmpty(e.Element(Dev + "remarks")!.Elements(Maml + "para"));
        });
    }

    /// <summary>Whether example code runs the cmdlet, by its name or an alias.</summary>
    private static bool Shows(string code, Type cmdlet) =>
        CmdletAssembly.Aliases(cmdlet).Append(CmdletAssembly.NameOf(cmdlet)).Any(n => code.Contains(n, StringComparison.OrdinalIgnoreCase));

    /// <summary>The pipelineInput text Get-Help shows as "Accept pipeline input?".</summary>
    private static string PipelineInput(ExpectedBinding binding) => (binding.ByValue, binding.ByPropertyName) switch
    {
        (true, true) => "True (ByPropertyName, ByValue)",
        (true, false) => "True (ByValue)",
        (false, true) => "True (ByPropertyName)",
        _ => "False",
    };

    /// <summary>How Get-Command -Syntax shows a parameter: [[-Name] &lt;T&gt;] when optional and positional, -Id &lt;T&gt; when mandatory and named.</summary>
    private static string SyntaxToken(ExpectedParameter parameter, ExpectedBinding binding)
    {
        var name = binding.Position is null ? $"-{parameter.Name}" : $"[-{parameter.Name}]";
        var token = parameter.IsSwitch ? $"-{parameter.Name}" : $"{name} <{parameter.Type.Name}>";
        return binding.Required ? token : $"[{token}]";
    }

    /// <summary>Splits a syntax line into its parameter groups, ignoring line breaks and the brackets inside type names.</summary>
    private static List<string> SyntaxTokens(string syntax, string name)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var depth = 0;
        var inType = false;
        foreach (var c in Whitespace().Replace(syntax, " ").Trim() + " ")
        {
            if (c == ' ' && depth == 0 && !inType)
            {
                if (word.Length > 0)
                {
                    words.Add(word.ToString());
                    word.Clear();
                }

                continue;
            }

            word.Append(c);
            inType = c == '<' || (inType && c != '>');
            depth += !inType && c == '[' ? 1 : !inType && c == ']' ? -1 : 0;
        }

        Assert.Equal(name, words[0]);

        // A type belongs to the parameter before it: "-Id <Guid[]>", "[-Name] <String[]>".
        var tokens = new List<string>();
        foreach (var w in words.Skip(1))
        {
            if (w.StartsWith('<') && tokens.Count > 0)
            {
                tokens[^1] += " " + w;
            }
            else
            {
                tokens.Add(w);
            }
        }

        return tokens;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"\]\(([^)/]+)\.md\)")]
    private static partial Regex IndexLink();
}
