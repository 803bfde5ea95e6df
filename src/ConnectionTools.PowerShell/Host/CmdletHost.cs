using System.Management.Automation;
using System.Threading;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;

namespace ConnectionTools.PowerShell.Host
{
    /// <summary>Core's view of the running cmdlet. Called only on the pipeline thread.</summary>
    internal sealed class CmdletHost : IHostContext
    {
        private readonly PSCmdlet _cmdlet;

        public CmdletHost(PSCmdlet cmdlet, CancellationToken cancellationToken)
        {
            _cmdlet = cmdlet;
            CancellationToken = cancellationToken;
        }

        public CancellationToken CancellationToken { get; }

        public void WriteObject(object value) => _cmdlet.WriteObject(value);

        public void WriteError(ConnectionToolsException error) => _cmdlet.WriteError(ErrorMapper.ToRecord(error));

        public void WriteWarning(string message) => _cmdlet.WriteWarning(message);

        public void WriteVerbose(string message) => _cmdlet.WriteVerbose(message);

        public void WriteProgress(ProgressInfo progress) => _cmdlet.WriteProgress(new ProgressRecord(progress.ActivityId, progress.Activity, progress.Status)
        {
            PercentComplete = progress.PercentComplete,
            RecordType = progress.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        });

        public bool ShouldProcess(string target, string action) => _cmdlet.ShouldProcess(target, action);
    }
}
