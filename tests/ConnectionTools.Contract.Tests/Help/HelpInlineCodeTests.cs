using System.Text.RegularExpressions;
using System.Xml.Linq;
using ConnectionTools.HelpBuilder;

namespace ConnectionTools.Contract.Tests;

/// <summary>Get-Help shows plain text: Markdown inline code in the docs reaches the help without its backticks.</summary>
public partial class HelpContractTests
{
    [Fact]
    public void Inline_code_in_prose_reaches_the_help_without_backticks_and_code_blocks_keep_theirs()
    {
        var markdown = File.ReadAllText(Path.Combine(DocsFolder, "Get-Connection.md")).ReplaceLineEndings("\n");
        var example = Regex.Match(markdown, @"\n### Example 1[^\n]*\n").Value;
        markdown = markdown.Replace(example, example + """

            ```powershell
            Get-Connection -Name crm-eu `
                -Status Active
            ```

            Lists `crm-eu` when it is `Active`; see ``Get-Help about_Wildcards`` and `` `n ``, a lone ` stays.

            """, StringComparison.Ordinal);

        var help = MarkdownHelpParser.Parse(markdown, "Get-Connection.md");
        var maml = MamlWriter.Write(new[] { help }).Root!.Element(Command + "command")!;
        var first = maml.Element(Command + "examples")!.Elements(Command + "example").First();
        var remarks = string.Join("\n", first.Element(Dev + "remarks")!.Elements(Maml + "para").Select(p => p.Value));

        Assert.Contains("Lists crm-eu when it is Active; see Get-Help about_Wildcards and `n, a lone ` stays.", remarks, StringComparison.Ordinal);
        Assert.Contains("crm-eu `\n", first.Element(Dev + "code")!.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void No_help_text_outside_code_shows_a_Markdown_code_span()
    {
        var maml = MamlWriter.Write(Docs.Value);
        var spans = maml.Descendants(Maml + "para")
            .Where(p => p.Ancestors(Dev + "code").Count() == 0)
            .SelectMany(p => p.Value.Split('\n').Select(line => (Command: p.Ancestors(Command + "command").Single().Element(Command + "details")!.Element(Command + "name")!.Value, Line: line)))
            .Where(x => Regex.IsMatch(x.Line, @"`[A-Za-z$\-][^`]*`"))
            .Select(x => $"{x.Command}: {x.Line}")
            .ToList();

        Assert.True(spans.Count == 0, "Help text with Markdown backticks:\n" + string.Join("\n", spans.Take(20)));
    }

    [Theory]
    [InlineData("`Get-Connection`", "Get-Connection")]
    [InlineData("run `Get-Connection -Name x` now", "run Get-Connection -Name x now")]
    [InlineData("`` ` ``", "`")]
    [InlineData("``a`b``", "a`b")]
    [InlineData("a ` b", "a ` b")]
    [InlineData("no code", "no code")]
    public void Code_spans_read_as_their_code(string markdown, string text) =>
        Assert.Equal(text, MarkdownHelpParser.PlainText(markdown));
}
