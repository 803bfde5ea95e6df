using ConnectionTools.PowerShell;

namespace ConnectionTools.Contract.Tests;

/// <summary>The Windows PowerShell 5.1 AssemblyResolve handler answers only requests that come from this module.</summary>
public class DesktopResolverTests
{
    private static readonly string Module = Path.Combine(Path.GetTempPath(), "Modules", "ConnectionTools", "1.0.0");

    [Fact]
    public void Answers_a_request_from_the_cmdlet_assembly_or_a_dependency()
    {
        Assert.True(ModuleInitializer.AnswersFor("YamlDotNet", Path.Combine(Module, "ConnectionTools.PowerShell.dll"), Module));
        Assert.True(ModuleInitializer.AnswersFor("YamlDotNet", Path.Combine(Module, "dependencies", "ConnectionTools.Core.dll"), Module));
        Assert.True(ModuleInitializer.AnswersFor("YamlDotNet", Path.Combine(Module, "dependencies", "YamlDotNet.dll"), Module + Path.DirectorySeparatorChar));
    }

    [Fact]
    public void Does_not_answer_another_module_or_the_host()
    {
        var other = Path.Combine(Path.GetTempPath(), "Modules", "OtherModule", "2.0.0");
        Assert.False(ModuleInitializer.AnswersFor("YamlDotNet", Path.Combine(other, "OtherModule.dll"), Module));
        Assert.False(ModuleInitializer.AnswersFor("YamlDotNet", Path.Combine(other, "dependencies", "YamlDotNet.dll"), Module));
        Assert.False(ModuleInitializer.AnswersFor("YamlDotNet", Path.Combine(Path.GetTempPath(), "Modules", "ConnectionTools", "YamlDotNet.dll"), Module));
        Assert.False(ModuleInitializer.AnswersFor("YamlDotNet", Path.Combine(Module, "dependencies", "runtimes", "x.dll"), Module));
        Assert.False(ModuleInitializer.AnswersFor("YamlDotNet", Path.Combine(Module + "-evil", "dependencies", "x.dll"), Module));
    }

    [Fact]
    public void Does_not_answer_an_assembly_without_a_file()
    {
        Assert.False(ModuleInitializer.AnswersFor("YamlDotNet", string.Empty, Module));
    }

    [Fact]
    public void Answers_for_our_own_assemblies_whoever_asks()
    {
        Assert.True(ModuleInitializer.AnswersFor("ConnectionTools.Core", Path.Combine(Path.GetTempPath(), "System.Management.Automation.dll"), Module));
        Assert.False(ModuleInitializer.AnswersFor("Microsoft.Identity.Client", Path.Combine(Path.GetTempPath(), "System.Management.Automation.dll"), Module));
    }

    [Fact]
    public void Falls_back_to_the_name_when_the_requester_is_unknown()
    {
        Assert.True(ModuleInitializer.AnswersFor("YamlDotNet", null, Module));
    }
}
