using System.Threading;
using ConnectionTools.Errors;

namespace ConnectionTools.Hosting
{
    /// <summary>
    /// Everything Core may ask of its host. The cmdlet layer implements it over PSCmdlet; tests implement it with a recorder.
    /// Core calls it only from the thread that called into Core.
    /// </summary>
    public interface IHostContext
    {
        void WriteObject(object value);

        /// <summary>A per-item failure: the host reports it and Core goes on with the next item.</summary>
        void WriteError(ConnectionToolsException error);

        void WriteWarning(string message);

        void WriteVerbose(string message);

        void WriteProgress(ProgressInfo progress);

        /// <summary>Asks before a change. False means skip this item (-WhatIf, or the user said no).</summary>
        bool ShouldProcess(string target, string action);

        /// <summary>Cancelled when the user presses Ctrl+C.</summary>
        CancellationToken CancellationToken { get; }
    }
}
