using System.Text.RegularExpressions;

namespace ConnectionTools.Contract.Tests;

/// <summary>
/// Storage/ in Core is the only room that knows SQLite: every other source file under src/ (the rest of Core, the node host,
/// the cmdlets, the loader) reaches the store through ConnectionStore, StoreSession and the *Rows classes. The second store
/// engine, PostgreSQL, plugs in at that boundary from an assembly of its own (ConnectionTools.Storage.PostgreSql), which is
/// the other room allowed to run SQL; nothing else may.
/// </summary>
public class StorageBoundaryTests
{
    private const string StorageFolder = "ConnectionTools.Core/Storage/";

    /// <summary>The PostgreSQL engine: a store engine, on the storage side of the boundary.</summary>
    private const string PostgresEngineFolder = "ConnectionTools.Storage.PostgreSql/";

    /// <summary>
    /// The provider's namespace, its types named bare (SqliteConnection, SqliteException...), its native binding, ADO.NET
    /// commands run by hand, and SQL run through a store session (its Execute, Scalar, Command and Reusable given SQL text;
    /// not every Execute: the sync rules' engine.Execute(script) is JavaScript).
    /// </summary>
    private static readonly Regex SqliteUse = new(
        @"Microsoft\.Data\.Sqlite|\bSqlite[A-Z]\w*|\bSQLitePCL\b|\.Execute(Reader|NonQuery|Scalar)\b|\.(Execute|Scalar|Command|Reusable)\(\s*\$?@?""",
        RegexOptions.CultureInvariant);

    [Fact]
    public void No_source_file_outside_Storage_names_SQLite()
    {
        var sources = SourceFiles(SourceRoot).ToList();
        Assert.Contains(sources, f => f.Relative.StartsWith("ConnectionTools.Core/Storage/", StringComparison.Ordinal));
        Assert.Contains(sources, f => f.Relative.StartsWith("ConnectionTools.Node/", StringComparison.Ordinal));
        Assert.Contains(sources, f => f.Relative.StartsWith("ConnectionTools.PowerShell/", StringComparison.Ordinal));

        var violations = Violations(SourceRoot);

        Assert.True(violations.Count == 0, "Only src/" + StorageFolder + " may use SQLite; found:\n" + string.Join("\n", violations.Select(v => $"{v.File}:{v.Line}: {v.Text}")));
    }

    [Fact]
    public void The_boundary_check_finds_SQLite_outside_Storage_and_allows_it_inside()
    {
        var root = Directory.CreateTempSubdirectory("storage-boundary-");
        try
        {
            Write(root.FullName, "ConnectionTools.Core/Storage/Rows.cs", "using Microsoft.Data.Sqlite;\nclass Rows { SqliteCommand? C; }\n");
            Write(root.FullName, "ConnectionTools.Storage.PostgreSql/Engine.cs", "class Engine { void V(dynamic tx) => tx.Execute(\"DELETE FROM connectiontools_store;\"); }\n");
            Write(root.FullName, "ConnectionTools.Core/Jobs/Runner.cs", "class Runner { void Run(Microsoft.Data.Sqlite.SqliteConnection db) { } }\n");
            Write(root.FullName, "ConnectionTools.Node/Host.cs", "class Host { object? Q(dynamic command) => command.ExecuteScalar(); }\n");
            Write(root.FullName, "ConnectionTools.PowerShell/Cmdlet.cs", "// SQLite checks the file; prose is fine.\nclass Cmdlet { }\n");
            Write(root.FullName, "ConnectionTools.Core/Peering/Server.cs", "class Server {\n    void Touch(dynamic tx) => tx.Execute(\"UPDATE connections SET name = 'x';\");\n}\n");
            Write(root.FullName, "ConnectionTools.PowerShell/obj/Generated.cs", "using Microsoft.Data.Sqlite;\n");
            Write(root.FullName, "ConnectionTools.Core/SyncRules/Rules.cs", "class Rules { void Run(dynamic engine, object script) => engine.Execute(script); }\n");

            var violations = Violations(root.FullName);

            Assert.Equal(
                new[]
                {
                    ("ConnectionTools.Core/Jobs/Runner.cs", 1, "Microsoft.Data.Sqlite"),
                    ("ConnectionTools.Core/Peering/Server.cs", 2, ".Execute(\""),
                    ("ConnectionTools.Node/Host.cs", 1, ".ExecuteScalar"),
                },
                violations.Select(v => (v.File, v.Line, v.Use)).ToArray());
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static string SourceRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "ConnectionTools.sln")))
                {
                    return Path.Combine(dir.FullName, "src");
                }
            }

            throw new InvalidOperationException("ConnectionTools.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Each line that uses SQLite outside Storage/, with its path relative to <paramref name="root"/> in forward slashes.</summary>
    private static List<Violation> Violations(string root)
    {
        var found = new List<Violation>();
        foreach (var (full, relative) in SourceFiles(root))
        {
            if (relative.StartsWith(StorageFolder, StringComparison.Ordinal) || relative.StartsWith(PostgresEngineFolder, StringComparison.Ordinal))
            {
                continue;
            }

            var lines = File.ReadAllLines(full);
            for (var i = 0; i < lines.Length; i++)
            {
                var match = SqliteUse.Match(lines[i]);
                if (match.Success)
                {
                    found.Add(new Violation(relative, i + 1, match.Value, lines[i].Trim()));
                }
            }
        }

        return found.OrderBy(v => v.File, StringComparer.Ordinal).ThenBy(v => v.Line).ToList();
    }

    /// <summary>The .cs files under <paramref name="root"/>, without build output (bin/, obj/).</summary>
    private static IEnumerable<(string Full, string Relative)> SourceFiles(string root) =>
        Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Select(full => (Full: full, Relative: Path.GetRelativePath(root, full).Replace('\\', '/')))
            .Where(f => !f.Relative.Split('/').Any(part => part is "bin" or "obj"));

    private static void Write(string root, string relative, string text)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private sealed record Violation(string File, int Line, string Use, string Text);
}
