using System.Xml.Linq;

namespace ConnectionTools.HelpBuilder;

/// <summary>
/// Writes the MAML that Get-Help reads from a module's en-US/&lt;assembly&gt;-Help.xml, in the shape platyPS's New-ExternalHelp
/// writes: one command:command per cmdlet, with syntax built per parameter set from the parameters' metadata.
/// </summary>
internal static class MamlWriter
{
    public static readonly XNamespace Msh = "http://msh";
    public static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    public static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    public static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    public static XDocument Write(IEnumerable<CommandHelp> commands) =>
        new(new XDeclaration("1.0", "utf-8", null), new XElement(Msh + "helpItems", new XAttribute("schema", "maml"), commands.Select(CommandElement)));

    /// <summary>
    /// Classic MAML has no element for a command's aliases, so they close the description. The parameters section has one
    /// entry per parameter: where a parameter binds differently per set, its first YAML block stands for it, as in platyPS.
    /// </summary>
    private static XElement CommandElement(CommandHelp help) =>
        new(
            Command + "command",
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XElement(
                Command + "details",
                new XElement(Command + "name", help.Name),
                new XElement(Command + "verb", help.Verb),
                new XElement(Command + "noun", help.Noun),
                Description(new[] { help.Synopsis })),
            Description(help.Aliases.Count == 0 ? help.Description : help.Description.Append($"Aliases: {string.Join(", ", help.Aliases)}")),
            new XElement(Command + "syntax", help.Syntax.Select(set => SyntaxItem(help, set.ParameterSetName))),
            new XElement(Command + "parameters", help.Parameters.Select(p => Parameter(p, p.Usages[0], inSyntax: false))),
            new XElement(Command + "inputTypes", help.Inputs.Select(t => TypeEntry(Command + "inputType", t))),
            new XElement(Command + "returnValues", help.Outputs.Select(t => TypeEntry(Command + "returnValue", t))),
            new XElement(Maml + "alertSet", new XElement(Maml + "alert", Paragraphs(help.Notes))),
            new XElement(Command + "examples", help.Examples.Select(Example)),
            new XElement(Command + "relatedLinks", help.RelatedLinks.Select(l => new XElement(
                Maml + "navigationLink",
                new XElement(Maml + "linkText", l.Text),
                new XElement(Maml + "uri", l.Uri)))));

    /// <summary>The order of PowerShell's own syntax lines: positional parameters by position, then mandatory ones, then the rest as the doc lists them.</summary>
    private static XElement SyntaxItem(CommandHelp help, string parameterSetName) =>
        new(
            Command + "syntaxItem",
            new XElement(Maml + "name", help.Name),
            help.ParametersOf(parameterSetName)
                .OrderBy(p => p.Usage.Position ?? int.MaxValue)
                .ThenBy(p => !p.Usage.Required)
                .Select(p => Parameter(p.Parameter, p.Usage, inSyntax: true)));

    private static XElement Parameter(ParameterHelp parameter, ParameterUsage usage, bool inSyntax) =>
        new(
            Command + "parameter",
            new XAttribute("required", Flag(usage.Required)),
            new XAttribute("variableLength", "true"),
            new XAttribute("globbing", Flag(usage.Wildcards)),
            new XAttribute("pipelineInput", PipelineInput(usage)),
            new XAttribute("position", usage.Position?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "named"),
            new XAttribute("aliases", parameter.Aliases.Count == 0 ? "none" : string.Join(", ", parameter.Aliases)),
            new XElement(Maml + "name", parameter.Name),
            Description(parameter.Description),
            parameter.AcceptedValues.Count == 0
                ? null
                : new XElement(Command + "parameterValueGroup", parameter.AcceptedValues.Select(v => new XElement(
                    Command + "parameterValue",
                    new XAttribute("required", "false"),
                    new XAttribute("variableLength", "false"),
                    v))),
            // A switch shown with a value in a syntax line would read "[-PassThru <SwitchParameter>]".
            inSyntax && parameter.IsSwitch
                ? null
                : new XElement(Command + "parameterValue", new XAttribute("required", "true"), new XAttribute("variableLength", "false"), parameter.Type),
            new XElement(Dev + "type", new XElement(Maml + "name", parameter.Type)),
            new XElement(Dev + "defaultValue", usage.DefaultValue));

    private static XElement TypeEntry(XName name, TypeHelp type) =>
        new(name, new XElement(Dev + "type", new XElement(Maml + "name", type.TypeName)), Description(type.Description));

    private static XElement Example(HelpExample example) =>
        new(
            Command + "example",
            new XElement(Maml + "title", ExampleTitle(example.Title)),
            new XElement(Dev + "code", example.Code),
            new XElement(Dev + "remarks", Paragraphs(example.Remarks)));

    /// <summary>Dashes around the title, as in PowerShell's own help, so examples stand apart in a console.</summary>
    private static string ExampleTitle(string title)
    {
        var dashes = new string('-', Math.Max(2, (64 - title.Length) / 2));
        return $"{dashes} {title} {dashes}";
    }

    private static XElement Description(IEnumerable<string> paragraphs) => new(Maml + "description", Paragraphs(paragraphs));

    private static IEnumerable<XElement> Paragraphs(IEnumerable<string> paragraphs) => paragraphs.Select(p => new XElement(Maml + "para", p));

    private static string PipelineInput(ParameterUsage usage) => (usage.ByValue, usage.ByPropertyName) switch
    {
        (true, true) => "True (ByPropertyName, ByValue)",
        (true, false) => "True (ByValue)",
        (false, true) => "True (ByPropertyName)",
        _ => "False",
    };

    private static string Flag(bool value) => value ? "true" : "false";
}
