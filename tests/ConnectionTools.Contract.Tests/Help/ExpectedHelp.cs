using System.Management.Automation;
using ConnectionTools.HelpBuilder;

namespace ConnectionTools.Contract.Tests;

/// <summary>What a cmdlet's help has to say about its parameters, read from the assembly the way PowerShell binds them.</summary>
internal static class ExpectedHelp
{
    /// <summary>
    /// The cmdlet's parameter sets. PowerShell adds the default set even when no parameter names it (so that the cmdlet can
    /// run with none of the set-specific parameters); a cmdlet with no named set at all has the one set __AllParameterSets.
    /// </summary>
    public static IReadOnlyList<string> ParameterSets(Type cmdlet)
    {
        var defaultSet = CmdletAssembly.Info(cmdlet).DefaultParameterSetName;
        var named = CmdletAssembly.Parameters(cmdlet)
            .Select(p => p.Parameter.ParameterSetName)
            .Append(defaultSet)
            .OfType<string>()
            .Where(s => s != CommandHelp.AllParameterSets)
            .Distinct()
            .ToList();
        return named.Count > 0 ? named : new[] { CommandHelp.AllParameterSets };
    }

    /// <summary>Every parameter a user can pass, with -WhatIf and -Confirm where the cmdlet supports ShouldProcess.</summary>
    public static IReadOnlyList<ExpectedParameter> Parameters(Type cmdlet)
    {
        var sets = ParameterSets(cmdlet);
        var declared = CmdletAssembly.Parameters(cmdlet)
            .GroupBy(p => p.Property)
            .Select(g => new ExpectedParameter(
                g.Key.Name,
                ShownType(g.Key.PropertyType),
                CmdletAssembly.Aliases(g.Key).ToList(),
                AcceptedValues(g.Key.PropertyType, CmdletAssembly.ValidateSet(g.Key).ToList()),
                CmdletAssembly.Has<SupportsWildcardsAttribute>(g.Key),
                g.SelectMany(p => (p.Parameter.ParameterSetName is null or CommandHelp.AllParameterSets ? sets : new[] { p.Parameter.ParameterSetName })
                        .Select(set => (Set: set, Binding: new ExpectedBinding(p.Parameter.Mandatory, p.Parameter.Position, p.Parameter.ValueFromPipeline, p.Parameter.ValueFromPipelineByPropertyName))))
                    .ToDictionary(s => s.Set, s => s.Binding)))
            .ToList();

        if (CmdletAssembly.Info(cmdlet).SupportsShouldProcess)
        {
            var everySet = sets.ToDictionary(s => s, _ => new ExpectedBinding(false, null, false, false));
            declared.Add(new ExpectedParameter("WhatIf", typeof(SwitchParameter), new[] { "wi" }, Array.Empty<string>(), false, everySet));
            declared.Add(new ExpectedParameter("Confirm", typeof(SwitchParameter), new[] { "cf" }, Array.Empty<string>(), false, everySet));
        }

        return declared;
    }

    /// <summary>
    /// The type help shows for a parameter. Get-Command -Syntax and platyPS show T for a Nullable&lt;T&gt; parameter
    /// ([-Last &lt;Int32&gt;], Type: Int32): it binds a T, and leaving it out is what null means.
    /// </summary>
    private static Type ShownType(Type type) => Nullable.GetUnderlyingType(type) ?? type;

    /// <summary>PowerShell completes and checks enum values the way it does a ValidateSet, and platyPS lists both as accepted values.</summary>
    private static IReadOnlyList<string> AcceptedValues(Type type, IReadOnlyList<string> validateSet)
    {
        var element = type.IsArray ? type.GetElementType()! : type;
        // A SyncDirection? parameter (Get-ConnectionSyncEvent -Direction, optional) takes the same values as a SyncDirection one.
        element = Nullable.GetUnderlyingType(element) ?? element;
        return validateSet.Count > 0 ? validateSet : element.IsEnum ? Enum.GetNames(element) : Array.Empty<string>();
    }
}

/// <summary>A parameter and how it binds in each of the sets it belongs to.</summary>
internal sealed record ExpectedParameter(
    string Name,
    Type Type,
    IReadOnlyList<string> Aliases,
    IReadOnlyList<string> AcceptedValues,
    bool Wildcards,
    IReadOnlyDictionary<string, ExpectedBinding> Sets)
{
    public bool IsSwitch => Type == typeof(SwitchParameter);

    /// <summary>platyPS writes short type names (String[]); full names (System.String[]) are as good.</summary>
    public bool IsNamedBy(string typeName) => typeName == Type.Name || typeName == Type.FullName;
}

internal sealed record ExpectedBinding(bool Required, int? Position, bool ByValue, bool ByPropertyName);
