using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Reflection;
using System.Text.RegularExpressions;
using ConnectionTools.PowerShell;

namespace ConnectionTools.Contract.Tests;

/// <summary>
/// What the contract tests read: the cmdlet types, their parameters, and the manifest. PowerShellStandard.Library is a
/// reference assembly whose attribute getters return defaults, so attributes are read from metadata (CustomAttributeData).
/// </summary>
internal static partial class CmdletAssembly
{
    public static readonly Assembly Assembly = typeof(ModuleInitializer).Assembly;

    public static IReadOnlyList<Type> Cmdlets { get; } = Assembly.GetExportedTypes()
        .Where(t => !t.IsAbstract && Data<CmdletAttribute>(t) != null)
        .OrderBy(t => t.Name)
        .ToList();

    /// <summary>The verbs that change the node's state. A cmdlet with one of these must support -WhatIf and -Confirm.</summary>
    public static readonly HashSet<string> StateChangingVerbs = new(StringComparer.OrdinalIgnoreCase)
    {
        "New", "Set", "Remove", "Suspend", "Resume", "Update", "Approve", "Invoke", "Start", "Stop", "Add", "Clear",
        "Reset", "Rename", "Register", "Unregister", "Enable", "Disable", "Import", "Sync", "Restore", "Move", "Publish", "Deny", "Revoke", "Grant",
    };

    public static IReadOnlyList<string> ApprovedVerbs { get; } = new[]
        {
            typeof(VerbsCommon), typeof(VerbsCommunications), typeof(VerbsData), typeof(VerbsDiagnostic),
            typeof(VerbsLifecycle), typeof(VerbsOther), typeof(VerbsSecurity),
        }
        .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
        .Where(f => f.IsLiteral)
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToList();

    public static CmdletInfo Info(Type cmdlet)
    {
        var data = Data<CmdletAttribute>(cmdlet)!;
        return new CmdletInfo(
            (string)data.ConstructorArguments[0].Value!,
            (string)data.ConstructorArguments[1].Value!,
            Named(data, nameof(CmdletAttribute.SupportsShouldProcess), false),
            (ConfirmImpact)Named(data, nameof(CmdletAttribute.ConfirmImpact), (int)ConfirmImpact.Medium),
            Named<string?>(data, nameof(CmdletAttribute.DefaultParameterSetName), null));
    }

    public static string NameOf(Type cmdlet) => Info(cmdlet).Verb + "-" + Info(cmdlet).Noun;

    public static IEnumerable<(PropertyInfo Property, ParameterInfo Parameter)> Parameters(Type cmdlet) =>
        cmdlet.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .SelectMany(p => p.CustomAttributes.Where(a => a.AttributeType == typeof(ParameterAttribute)).Select(a => (p, new ParameterInfo(
                Named(a, nameof(ParameterAttribute.Mandatory), false),
                Named(a, nameof(ParameterAttribute.ValueFromPipeline), false),
                Named(a, nameof(ParameterAttribute.ValueFromPipelineByPropertyName), false),
                Named<string?>(a, nameof(ParameterAttribute.ParameterSetName), null),
                Named(a, nameof(ParameterAttribute.Position), int.MinValue) is var position && position == int.MinValue ? null : position))));

    public static IEnumerable<Type> OutputTypes(Type cmdlet) => ConstructorValues<OutputTypeAttribute>(cmdlet).OfType<Type>();

    /// <summary>The names an [Alias] gives a cmdlet or a parameter.</summary>
    public static IEnumerable<string> Aliases(MemberInfo member) => ConstructorValues<AliasAttribute>(member).OfType<string>();

    /// <summary>The values a [ValidateSet] allows; empty when there is none.</summary>
    public static IEnumerable<string> ValidateSet(MemberInfo member) => ConstructorValues<ValidateSetAttribute>(member).OfType<string>();

    public static bool Has<TAttribute>(MemberInfo member) => member.CustomAttributes.Any(a => a.AttributeType == typeof(TAttribute));

    public static string ManifestText => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ConnectionTools.psd1"));

    /// <summary>The names listed under a key such as CmdletsToExport = @( 'A' 'B' ).</summary>
    public static IReadOnlyList<string> ManifestList(string key)
    {
        var match = Regex.Match(ManifestText, key + @"\s*=\s*@\((?<body>[^)]*)\)", RegexOptions.Singleline);
        Assert.True(match.Success, $"{key} not found in the manifest");
        return QuotedString().Matches(match.Groups["body"].Value).Select(m => m.Groups[1].Value).ToList();
    }

    public static string ManifestValue(string key)
    {
        var match = Regex.Match(ManifestText, key + @"\s*=\s*'([^']*)'");
        Assert.True(match.Success, $"{key} not found in the manifest");
        return match.Groups[1].Value;
    }

    /// <summary>The constructor arguments of every such attribute, with params arrays flattened.</summary>
    private static IEnumerable<object?> ConstructorValues<TAttribute>(MemberInfo member) =>
        member.CustomAttributes.Where(a => a.AttributeType == typeof(TAttribute))
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is ReadOnlyCollection<CustomAttributeTypedArgument> many ? many.Select(m => m.Value) : new[] { arg.Value });

    private static CustomAttributeData? Data<TAttribute>(MemberInfo member) =>
        member.CustomAttributes.FirstOrDefault(a => a.AttributeType == typeof(TAttribute));

    private static T Named<T>(CustomAttributeData data, string name, T fallback)
    {
        var argument = data.NamedArguments.FirstOrDefault(a => a.MemberName == name);
        return argument.MemberInfo is null ? fallback : (T)argument.TypedValue.Value!;
    }

    [GeneratedRegex("'([^']*)'")]
    private static partial Regex QuotedString();
}

internal sealed record CmdletInfo(string Verb, string Noun, bool SupportsShouldProcess, ConfirmImpact ConfirmImpact, string? DefaultParameterSetName);

/// <summary>One [Parameter] attribute. <see cref="Position"/> is null for a named parameter; a null set name means every set.</summary>
internal sealed record ParameterInfo(bool Mandatory, bool ValueFromPipeline, bool ValueFromPipelineByPropertyName, string? ParameterSetName, int? Position);
