using System.Collections.Generic;
using System.Threading;
using ConnectionTools.Errors;

namespace ConnectionTools.Hosting
{
    /// <summary>
    /// Holds back per-item errors until every item has been processed, then writes them in order. Bulk commands that must
    /// not stop halfway (re-authorizing every inactive connection, applying a configuration) use it, so that a script with
    /// $ErrorActionPreference = 'Stop', which turns the first error into a script-terminating one (and pwsh -File's exit
    /// code into 1), still gets every item processed. Results stream as they come.
    /// </summary>
    internal sealed class ErrorsLastHost : IHostContext
    {
        private readonly IHostContext _inner;
        private readonly List<ConnectionToolsException> _errors = new List<ConnectionToolsException>();

        public ErrorsLastHost(IHostContext inner)
        {
            _inner = inner;
        }

        public CancellationToken CancellationToken => _inner.CancellationToken;

        public void WriteObject(object value) => _inner.WriteObject(value);

        public void WriteError(ConnectionToolsException error) => _errors.Add(error);

        public void WriteWarning(string message) => _inner.WriteWarning(message);

        public void WriteVerbose(string message) => _inner.WriteVerbose(message);

        public void WriteProgress(ProgressInfo progress) => _inner.WriteProgress(progress);

        public bool ShouldProcess(string target, string action) => _inner.ShouldProcess(target, action);

        /// <summary>Writes the held errors. Call once, after the last item (also when the work ended early).</summary>
        public void Flush()
        {
            var errors = _errors.ToArray();
            _errors.Clear();
            foreach (var error in errors)
            {
                _inner.WriteError(error);
            }
        }
    }
}
