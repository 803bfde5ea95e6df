namespace ConnectionTools.HelpBuilder;

/// <summary>One cmdlet's help, as read from its markdown file. Text is kept as paragraphs, the unit MAML displays.</summary>
internal sealed record CommandHelp
{
    /// <summary>The parameter set name PowerShell uses when a cmdlet declares no named sets.</summary>
    public const string AllParameterSets = "__AllParameterSets";

    public required string Name { get; init; }

    public required string Source { get; init; }

    /// <summary>The YAML front matter, such as "external help file" and "Module Name".</summary>
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    public required string Synopsis { get; init; }

    public required IReadOnlyList<SyntaxBlock> Syntax { get; init; }

    public required IReadOnlyList<string> Aliases { get; init; }

    public required IReadOnlyList<string> Description { get; init; }

    public required IReadOnlyList<HelpExample> Examples { get; init; }

    public required IReadOnlyList<ParameterHelp> Parameters { get; init; }

    public required bool SupportsCommonParameters { get; init; }

    public required IReadOnlyList<TypeHelp> Inputs { get; init; }

    public required IReadOnlyList<TypeHelp> Outputs { get; init; }

    public required IReadOnlyList<string> Notes { get; init; }

    public required IReadOnlyList<RelatedLink> RelatedLinks { get; init; }

    public string Verb => Name.Split('-', 2)[0];

    public string Noun => Name.Split('-', 2)[1];

    public IEnumerable<string> ParameterSetNames => Syntax.Select(s => s.ParameterSetName);

    /// <summary>The parameters of one set, each with the metadata that applies in that set.</summary>
    public IEnumerable<(ParameterHelp Parameter, ParameterUsage Usage)> ParametersOf(string parameterSetName) =>
        Parameters.Select(p => (Parameter: p, Usage: p.UsageIn(parameterSetName))).Where(p => p.Usage != null).Select(p => (p.Parameter, p.Usage!));
}

/// <summary>A "### SetName (Default)" heading and its syntax code block. platyPS rebuilds MAML syntax from the parameters, and so do we.</summary>
internal sealed record SyntaxBlock(string ParameterSetName, bool IsDefault, string Text);

internal sealed record HelpExample(string Title, string Code, IReadOnlyList<string> Remarks);

internal sealed record TypeHelp(string TypeName, IReadOnlyList<string> Description);

/// <summary>A link; <see cref="Uri"/> is empty for links to other docs in the folder, which Get-Help shows by name only.</summary>
internal sealed record RelatedLink(string Text, string Uri);

internal sealed record ParameterHelp
{
    public required string Name { get; init; }

    public required IReadOnlyList<string> Description { get; init; }

    /// <summary>The type as written in the YAML block, for example String[] or SwitchParameter.</summary>
    public required string Type { get; init; }

    public required IReadOnlyList<string> Aliases { get; init; }

    /// <summary>The values a ValidateSet or an enum allows; empty when any value is accepted.</summary>
    public required IReadOnlyList<string> AcceptedValues { get; init; }

    /// <summary>One entry per YAML block: platyPS writes a separate block where a parameter differs between sets.</summary>
    public required IReadOnlyList<ParameterUsage> Usages { get; init; }

    public bool IsSwitch => Type is "SwitchParameter" or "System.Management.Automation.SwitchParameter";

    public ParameterUsage? UsageIn(string parameterSetName) => Usages.FirstOrDefault(u => u.AppliesTo(parameterSetName));
}

/// <summary>How a parameter binds in the parameter sets one YAML block names.</summary>
internal sealed record ParameterUsage
{
    /// <summary>The sets this block covers; empty for "(All)".</summary>
    public required IReadOnlyList<string> ParameterSets { get; init; }

    public required bool Required { get; init; }

    /// <summary>Null for Named.</summary>
    public required int? Position { get; init; }

    public required string DefaultValue { get; init; }

    public required bool ByValue { get; init; }

    public required bool ByPropertyName { get; init; }

    public required bool Wildcards { get; init; }

    public bool AllSets => ParameterSets.Count == 0;

    public bool AppliesTo(string parameterSetName) => AllSets || ParameterSets.Contains(parameterSetName, StringComparer.OrdinalIgnoreCase);
}
