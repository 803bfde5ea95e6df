using System.Collections;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ConnectionTools.Loader;

namespace ConnectionTools.Core.Tests;

/// <summary>Publishes the module once, the way build.ps1 does, for the layout tests.</summary>
public sealed class PublishedModule : IDisposable
{
    public PublishedModule()
    {
        Root = Path.Combine(Path.GetTempPath(), "ct-module-" + Guid.NewGuid().ToString("N"));
        Folder = Path.Combine(Root, "ConnectionTools");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoRoot };
        foreach (var arg in new[] { "publish", Path.Combine("src", "ConnectionTools.PowerShell"), "-c", "Release", "-nologo", $"-p:ModuleOutputPath={Folder}{Path.DirectorySeparatorChar}" })
        {
            start.ArgumentList.Add(arg);
        }

        using var publish = Process.Start(start)!;
        var output = publish.StandardOutput.ReadToEndAsync();
        var errors = publish.StandardError.ReadToEndAsync();
        publish.WaitForExit();
        Output = output.Result + errors.Result;
        ExitCode = publish.ExitCode;
    }

    public string Root { get; }

    public string Folder { get; }

    public string Output { get; }

    public int ExitCode { get; }

    public string Dependencies => Path.Combine(Folder, "dependencies");

    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "ConnectionTools.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("ConnectionTools.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

public sealed class ModuleLayoutTests : IClassFixture<PublishedModule>
{
    private readonly PublishedModule _module;

    public ModuleLayoutTests(PublishedModule module)
    {
        _module = module;
        Assert.True(module.ExitCode == 0, "dotnet publish failed:\n" + module.Output);
    }

    [Fact]
    public void The_module_folder_has_the_cmdlets_on_top_and_the_engine_in_dependencies()
    {
        foreach (var file in new[] { "ConnectionTools.psd1", "ConnectionTools.PowerShell.dll", "ConnectionTools.Loader.dll", "ConnectionTools.format.ps1xml", Path.Combine("en-US", "about_ConnectionTools.help.txt"), Path.Combine("en-US", "ConnectionTools.PowerShell.dll-Help.xml") })
        {
            Assert.True(File.Exists(Path.Combine(_module.Folder, file)), file + " is missing");
        }

        Assert.True(File.Exists(Path.Combine(_module.Dependencies, "ConnectionTools.Core.dll")));
        Assert.False(File.Exists(Path.Combine(_module.Folder, "ConnectionTools.Core.dll")), "Core must load from dependencies/, not beside the cmdlets");
        Assert.Empty(Directory.GetFiles(_module.Folder, "System.Management.Automation.dll", SearchOption.AllDirectories));
        foreach (var rid in new[] { "win-x64/native/e_sqlite3.dll", "linux-x64/native/libe_sqlite3.so", "osx-arm64/native/libe_sqlite3.dylib", "linux-musl-x64/native/libe_sqlite3.so" })
        {
            Assert.True(File.Exists(Path.Combine(_module.Dependencies, "runtimes", rid)), rid + " is missing");
        }
    }

    [Fact]
    public void The_cmdlet_help_is_MAML_with_an_entry_for_every_exported_cmdlet()
    {
        XNamespace command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        var help = XDocument.Load(Path.Combine(_module.Folder, "en-US", "ConnectionTools.PowerShell.dll-Help.xml"));
        var manifest = File.ReadAllText(Path.Combine(_module.Folder, "ConnectionTools.psd1"));
        var exported = Regex.Match(manifest, @"CmdletsToExport\s*=\s*@\((?<names>[^)]*)\)").Groups["names"].Value;

        Assert.Equal("helpItems", help.Root!.Name.LocalName);
        Assert.Equal(
            Regex.Matches(exported, "'([^']+)'").Select(m => m.Groups[1].Value).Order(),
            help.Root.Elements(command + "command").Select(c => c.Element(command + "details")!.Element(command + "name")!.Value).Order());
    }

    [Fact]
    public void The_private_load_context_opens_a_store_from_the_published_folder_with_our_native_resolver()
    {
        var context = new ModuleLoadContext(_module.Dependencies);
        var core = context.LoadFromAssemblyName(new AssemblyName("ConnectionTools.Core"));
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(core));
        Assert.StartsWith(_module.Dependencies, core.Location, StringComparison.Ordinal);

        var storeType = core.GetType("ConnectionTools.Storage.ConnectionStore", throwOnError: true)!;
        var storePath = Path.Combine(_module.Root, "layout.db");
        var store = storeType.GetMethod("Open")!.Invoke(null, new object?[] { storePath, null })!;
        var filter = Activator.CreateInstance(core.GetType("ConnectionTools.Storage.ConnectionFilter", throwOnError: true)!);
        var rows = (IEnumerable)storeType.GetMethod("List")!.Invoke(store, new[] { filter })!;
        ((IDisposable)store).Dispose();

        Assert.Empty(rows.Cast<object>());
        var sqlite = context.Assemblies.Single(a => a.GetName().Name == "Microsoft.Data.Sqlite");
        Assert.StartsWith(_module.Dependencies, sqlite.Location, StringComparison.Ordinal);
        var expectedNative = ModuleLoadContext.NativeLibraryCandidates(_module.Dependencies, "e_sqlite3").Where(File.Exists).First();
        Assert.Contains(expectedNative, context.LoadedNativeLibraries);
    }

    [Fact]
    public void Framework_assemblies_stay_with_the_runtime()
    {
        var context = new ModuleLoadContext(_module.Dependencies);
        var memory = context.LoadFromAssemblyName(new AssemblyName("System.Memory"));

        Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(memory));
    }

    [Theory]
    [InlineData("10.0.0.0", "10.0.0.0", true)]
    [InlineData("10.0.0.0", "8.0.0.0", true)]
    [InlineData("8.0.0.0", "10.0.0.0", false)] // PowerShell 7.4 on .NET 8 asked for System.Text.Json 10: ours must load.
    [InlineData(null, "1.0.0.0", false)]
    public void The_runtime_s_copy_is_used_only_when_it_is_new_enough(string? framework, string requested, bool preferFramework)
    {
        Assert.Equal(preferFramework, ModuleLoadContext.PreferFramework(framework is null ? null : new Version(framework), new Version(requested)));
    }

    [Fact]
    public void A_dependency_newer_than_the_runtime_s_copy_loads_from_the_module()
    {
        var context = new ModuleLoadContext(_module.Dependencies);
        var frameworkVersion = typeof(System.Text.Json.JsonSerializer).Assembly.GetName().Version!;

        // Ask for a version above the runtime's: the context must not hand the request to the runtime, which would refuse it.
        var json = context.LoadFromAssemblyName(new AssemblyName($"System.Text.Json, Version={frameworkVersion.Major + 1}.0.0.0"));

        Assert.Same(context, AssemblyLoadContext.GetLoadContext(json));
        Assert.StartsWith(_module.Dependencies, json.Location, StringComparison.Ordinal);
    }

    [Fact]
    public void The_native_library_is_looked_up_by_this_platform_s_rid_and_file_name()
    {
        var first = ModuleLoadContext.NativeLibraryCandidates("/deps", "e_sqlite3").First();
        var expectedName = OperatingSystem.IsWindows() ? "e_sqlite3.dll" : OperatingSystem.IsMacOS() ? "libe_sqlite3.dylib" : "libe_sqlite3.so";

        Assert.EndsWith(Path.Combine("native", expectedName), first, StringComparison.Ordinal);
        Assert.Contains(RuntimeInformation.RuntimeIdentifier, first, StringComparison.Ordinal);
    }
}
