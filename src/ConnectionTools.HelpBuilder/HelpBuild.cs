using System.Text;
using System.Xml;

namespace ConnectionTools.HelpBuilder;

/// <summary>The tool's one job: every cmdlet doc in a folder into one MAML file. Kept apart from Main so tests can run it.</summary>
internal static class HelpBuild
{
    public const string Usage = "usage: ConnectionTools.HelpBuilder <docs folder> <output -Help.xml file>";

    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        if (args.Count != 2)
        {
            error.WriteLine(Usage);
            return 2;
        }

        var (folder, outputFile) = (args[0], args[1]);
        try
        {
            var commands = MarkdownHelpParser.ParseFolder(folder);
            if (commands.Count == 0)
            {
                error.WriteLine($"{folder}: error HELP1: no cmdlet docs ({MarkdownHelpParser.CommandFilePattern}) found.");
                return 1;
            }

            // A doc that names another help file would be shipped in the wrong place, or not found by Get-Help.
            var expected = Path.GetFileName(outputFile);
            foreach (var command in commands.Where(c => !string.Equals(c.Metadata["external help file"], expected, StringComparison.OrdinalIgnoreCase)))
            {
                throw new HelpFormatException(command.Source, 1, $"'external help file' is '{command.Metadata["external help file"]}', but this build writes '{expected}'.");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outputFile))!);
            using (var writer = XmlWriter.Create(outputFile, new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) }))
            {
                MamlWriter.Write(commands).Save(writer);
            }

            output.WriteLine($"Wrote help for {commands.Count} cmdlets to {outputFile}");
            return 0;
        }
        catch (HelpFormatException e)
        {
            // The canonical "file(line): error CODE: text" form, which MSBuild's Exec reports as a build error at that line.
            error.WriteLine($"{e.File}({e.Line}): error HELP1: {e.Problem}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"{folder}: error HELP1: {e.Message}");
            return 1;
        }
    }
}
