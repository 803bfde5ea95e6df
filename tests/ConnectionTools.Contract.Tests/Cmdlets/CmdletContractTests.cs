using System.Management.Automation;
using System.Reflection;
using System.Xml.Linq;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.PowerShell.Host;

namespace ConnectionTools.Contract.Tests;

public class CmdletContractTests
{
    public static TheoryData<string> CmdletNames()
    {
        var data = new TheoryData<string>();
        foreach (var cmdlet in CmdletAssembly.Cmdlets)
        {
            data.Add(CmdletAssembly.NameOf(cmdlet));
        }

        return data;
    }

    private static Type Cmdlet(string name) => CmdletAssembly.Cmdlets.Single(c => CmdletAssembly.NameOf(c) == name);

    [Fact]
    public void The_assembly_defines_the_lifecycle_cmdlets()
    {
        var names = CmdletAssembly.Cmdlets.Select(CmdletAssembly.NameOf).ToList();
        Assert.Superset(
            new HashSet<string> { "Get-Connection", "Set-Connection", "Suspend-Connection", "Resume-Connection", "Remove-Connection", "Connect-ConnectionNode", "Get-ConnectionNode" },
            names.ToHashSet());
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Every_cmdlet_uses_an_approved_verb(string name)
    {
        Assert.Contains(CmdletAssembly.Info(Cmdlet(name)).Verb, CmdletAssembly.ApprovedVerbs);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Every_cmdlet_is_named_for_what_it_acts_on(string name)
    {
        var type = Cmdlet(name);
        var noun = CmdletAssembly.Info(type).Noun;
        Assert.True(noun.Contains("Connection", StringComparison.Ordinal) || noun.StartsWith("Invitation", StringComparison.Ordinal), $"{name}: the noun should name a connection or an invitation");
        Assert.Equal(name.Replace("-", "", StringComparison.Ordinal) + "Command", type.Name);
        Assert.True(type.IsSealed, $"{type.Name} should be sealed");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Every_state_changing_cmdlet_supports_WhatIf_and_Confirm(string name)
    {
        var attribute = CmdletAssembly.Info(Cmdlet(name));
        if (CmdletAssembly.StateChangingVerbs.Contains(attribute.Verb))
        {
            Assert.True(attribute.SupportsShouldProcess, $"{name} changes state but does not support ShouldProcess");
        }

        if (attribute.Verb == VerbsCommon.Remove)
        {
            Assert.Equal(ConfirmImpact.High, attribute.ConfirmImpact);
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Every_cmdlet_declares_its_output_type(string name)
    {
        Assert.NotEmpty(CmdletAssembly.OutputTypes(Cmdlet(name)));
    }

    [Fact]
    public void Every_output_type_has_a_table_view()
    {
        var format = XDocument.Load(Path.Combine(AppContext.BaseDirectory, "ConnectionTools.format.ps1xml"));
        var tableViews = format.Descendants("View")
            .Where(v => v.Element("TableControl") != null)
            .SelectMany(v => v.Element("ViewSelectedBy")!.Elements("TypeName").Select(t => t.Value))
            .ToHashSet();

        // PowerShell's own types (the string and FileInfo of Export-ConnectionConfiguration) have PowerShell's views.
        foreach (var type in CmdletAssembly.Cmdlets.SelectMany(CmdletAssembly.OutputTypes).Distinct().Where(t => t.Namespace?.StartsWith("ConnectionTools", StringComparison.Ordinal) == true))
        {
            Assert.True(tableViews.Contains(type.FullName!), $"{type.FullName} has no table view in ConnectionTools.format.ps1xml");
        }
    }

    /// <summary>
    /// ValueFromPipelineByPropertyName binds from a property named like the parameter or like one of its aliases
    /// (Get-ConnectionJob -Connection takes JobRun.ConnectionName and Connection.Name through its aliases).
    /// </summary>
    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Pipeline_by_property_name_parameters_match_properties_of_our_output_types(string name)
    {
        var outputTypes = CmdletAssembly.Cmdlets.SelectMany(CmdletAssembly.OutputTypes).Distinct().ToList();
        foreach (var (property, parameter) in CmdletAssembly.Parameters(Cmdlet(name)).Where(p => p.Parameter.ValueFromPipelineByPropertyName))
        {
            var target = property.PropertyType.IsArray ? property.PropertyType.GetElementType()! : property.PropertyType;
            var names = CmdletAssembly.Aliases(property).Prepend(property.Name).ToList();
            var sources = outputTypes
                .SelectMany(t => names.Select(n => t.GetProperty(n)))
                .Where(p => p != null && Binds(target, Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType))
                .ToList();
            Assert.True(sources.Count > 0, $"{name} -{property.Name} binds by property name, but no output type has a compatible property named '{string.Join("' or '", names)}'");
        }
    }

    /// <summary>
    /// Whether PowerShell binds a property of type <paramref name="source"/> to a parameter of type <paramref name="target"/>
    /// without loss: the same type, or a string parameter that Core parses itself (New-Connection -Type, -InstanceUrl,
    /// -EnvironmentType, so that a wrong value gets its own error id) fed by an enum or a Uri, whose text round-trips.
    /// </summary>
    private static bool Binds(Type target, Type source) =>
        target.IsAssignableFrom(source) || (target == typeof(string) && (source.IsEnum || source == typeof(Uri)));

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Cmdlets_that_act_on_connections_take_them_from_the_pipeline_as_objects(string name)
    {
        if (CmdletAssembly.Info(Cmdlet(name)).Verb == VerbsCommon.New)
        {
            return; // New-* names what it creates; there is nothing to pipe in yet.
        }

        var parameters = CmdletAssembly.Parameters(Cmdlet(name)).ToList();
        var nameParameter = parameters.FirstOrDefault(p => p.Property.Name == "Name" && p.Parameter.Mandatory);
        if (nameParameter.Property is null)
        {
            return;
        }

        Assert.True(nameParameter.Parameter.ValueFromPipeline && nameParameter.Parameter.ValueFromPipelineByPropertyName, $"{name} -Name should bind by value and by property name");
        var input = parameters.SingleOrDefault(p => p.Property.Name == "InputObject");
        Assert.True(input.Property != null, $"{name} acts on named connections but has no -InputObject");
        Assert.True(input.Parameter.ValueFromPipeline);
        Assert.Equal(typeof(Connection[]), input.Property.PropertyType);
        Assert.Contains(typeof(Connection), CmdletAssembly.Cmdlets.Where(c => CmdletAssembly.NameOf(c) == "Get-Connection").SelectMany(CmdletAssembly.OutputTypes));
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Connection_names_complete_with_Tab(string name)
    {
        if (CmdletAssembly.Info(Cmdlet(name)).Verb is VerbsCommon.New or VerbsLifecycle.Approve)
        {
            return; // There -Name is the name of a connection still to be made: nothing to complete.
        }

        foreach (var (property, _) in CmdletAssembly.Parameters(Cmdlet(name)).Where(p => p.Property.Name == "Name"))
        {
            Assert.True(CmdletAssembly.Has<ArgumentCompleterAttribute>(property), $"{name} -Name has no argument completer");
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Wildcards_are_declared_where_a_name_selects_existing_connections_and_never_where_it_creates_one(string name)
    {
        // As Stop-Service -Name: a pattern selects existing connections, also for cmdlets that change them. A name that is
        // created (New-*, Approve-*) or given as a new value (-NewName) is never a pattern.
        var verb = CmdletAssembly.Info(Cmdlet(name)).Verb;
        foreach (var (property, _) in CmdletAssembly.Parameters(Cmdlet(name)))
        {
            var wildcards = CmdletAssembly.Has<SupportsWildcardsAttribute>(property);
            if (verb is "New" or "Approve" || property.Name != "Name")
            {
                Assert.False(wildcards && property.Name is "Name" or "NewName" or "LocalInstanceName", $"{name} -{property.Name} takes wildcards but names something new");
            }
            else if (property.PropertyType == typeof(string[]) && CmdletAssembly.Has<ArgumentCompleterAttribute>(property))
            {
                Assert.True(wildcards, $"{name} -Name selects existing connections but does not take wildcards");
            }
        }
    }

    [Fact]
    public void The_manifest_exports_exactly_the_cmdlets_and_aliases_the_assembly_defines()
    {
        var cmdlets = CmdletAssembly.Cmdlets.Select(CmdletAssembly.NameOf).OrderBy(n => n).ToList();
        var aliases = CmdletAssembly.Cmdlets.SelectMany(CmdletAssembly.Aliases).OrderBy(n => n).ToList();

        Assert.Equal(cmdlets, CmdletAssembly.ManifestList("CmdletsToExport").OrderBy(n => n));
        Assert.Equal(aliases, CmdletAssembly.ManifestList("AliasesToExport").OrderBy(n => n));
        Assert.Empty(CmdletAssembly.ManifestList("FunctionsToExport"));
    }

    [Fact]
    public void The_manifest_loads_in_both_editions_with_the_assembly_s_version()
    {
        Assert.Equal("5.1", CmdletAssembly.ManifestValue("PowerShellVersion"));
        Assert.Equal(new[] { "Core", "Desktop" }, CmdletAssembly.ManifestList("CompatiblePSEditions").OrderBy(e => e));
        Assert.Equal("ConnectionTools.PowerShell.dll", CmdletAssembly.ManifestValue("RootModule"));
        var version = CmdletAssembly.Assembly.GetName().Version!;
        Assert.Equal($"{version.Major}.{version.Minor}.{version.Build}", CmdletAssembly.ManifestValue("ModuleVersion"));
    }

    /// <summary>
    /// PowerShell loads every exported type of the cmdlet assembly before the module initializer hooks up the engine's
    /// load context. A public type that derives from, implements or embeds a value type from Core would fail to load there.
    /// </summary>
    [Fact]
    public void Exported_types_load_without_the_engine()
    {
        var core = typeof(Connection).Assembly;
        foreach (var type in CmdletAssembly.Assembly.GetExportedTypes())
        {
            for (var t = type.BaseType; t != null; t = t.BaseType)
            {
                Assert.NotEqual(core, t.Assembly);
            }

            Assert.DoesNotContain(type.GetInterfaces(), i => i.Assembly == core);
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                var fieldType = Nullable.GetUnderlyingType(field.FieldType) ?? field.FieldType;
                Assert.False(fieldType.IsValueType && fieldType.Assembly == core, $"{type.Name}.{field.Name} is a value type from Core");
            }
        }
    }

    [Fact]
    public void The_module_initializer_runs_on_import_and_cleans_up_on_remove()
    {
        var initializer = typeof(ConnectionTools.PowerShell.ModuleInitializer);
        Assert.True(typeof(IModuleAssemblyInitializer).IsAssignableFrom(initializer));
        Assert.True(typeof(IModuleAssemblyCleanup).IsAssignableFrom(initializer));
        Assert.NotNull(initializer.GetConstructor(Type.EmptyTypes));
    }

    [Fact]
    public void Every_error_kind_maps_to_the_PowerShell_category_of_the_same_name()
    {
        foreach (var kind in Enum.GetValues<ErrorKind>())
        {
            Assert.Equal(kind.ToString(), ErrorMapper.ToCategory(kind).ToString());
        }
    }

    [Fact]
    public void Error_ids_are_stable_dotted_and_unique()
    {
        var ids = typeof(ErrorIds).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetRawConstantValue()!).ToList();

        Assert.All(ids, id => Assert.Matches(@"^ConnectionTools(\.[A-Z][A-Za-z0-9]+)+$", id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}
