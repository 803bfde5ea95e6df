namespace ConnectionTools.HelpBuilder;

/// <summary>A markdown help file that does not follow the layout. The message starts with "file(line):" so editors and MSBuild can jump there.</summary>
internal sealed class HelpFormatException : Exception
{
    public HelpFormatException(string file, int line, string problem)
        : base($"{file}({line}): {problem}")
    {
        File = file;
        Line = line;
        Problem = problem;
    }

    public string File { get; }

    public int Line { get; }

    public string Problem { get; }
}
