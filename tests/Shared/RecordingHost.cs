using ConnectionTools.Errors;
using ConnectionTools.Hosting;

namespace ConnectionTools.Core.Tests;

/// <summary>The test side of the host seam: records everything Core writes, and answers ShouldProcess like -WhatIf or -Confirm would.</summary>
internal sealed class RecordingHost : IHostContext
{
    public List<object> Output { get; } = new();

    public List<ConnectionToolsException> Errors { get; } = new();

    public List<string> Warnings { get; } = new();

    public List<string> Verbose { get; } = new();

    public List<ProgressInfo> Progress { get; } = new();

    public List<(string Target, string Action)> ShouldProcessCalls { get; } = new();

    /// <summary>False behaves like -WhatIf: every ShouldProcess is answered no.</summary>
    public bool Proceed { get; set; } = true;

    public CancellationToken CancellationToken { get; set; }

    public IEnumerable<T> OutputOf<T>() => Output.OfType<T>();

    public void WriteObject(object value) => Output.Add(value);

    public void WriteError(ConnectionToolsException error) => Errors.Add(error);

    public void WriteWarning(string message) => Warnings.Add(message);

    public void WriteVerbose(string message) => Verbose.Add(message);

    public void WriteProgress(ProgressInfo progress) => Progress.Add(progress);

    public bool ShouldProcess(string target, string action)
    {
        ShouldProcessCalls.Add((target, action));
        return Proceed;
    }
}
