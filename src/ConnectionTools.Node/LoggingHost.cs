using ConnectionTools.Errors;
using ConnectionTools.Hosting;

namespace ConnectionTools.Node;

/// <summary>Core's host seam in the node host: verbose and warnings go to the log; nothing is asked, everything proceeds.</summary>
internal sealed class LoggingHost(ILogger logger, CancellationToken cancellationToken) : IHostContext
{
    public CancellationToken CancellationToken { get; } = cancellationToken;

    public void WriteObject(object value) => logger.LogDebug("{Value}", value);

    public void WriteError(ConnectionToolsException error) => logger.LogWarning("{ErrorId}: {Message}", error.ErrorId, error.Message);

    public void WriteWarning(string message) => logger.LogWarning("{Message}", message);

    public void WriteVerbose(string message) => logger.LogInformation("{Message}", message);

    public void WriteProgress(ProgressInfo progress)
    {
    }

    public bool ShouldProcess(string target, string action) => true;
}
