using System.Collections.Generic;
using System.Threading;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;

namespace ConnectionTools.Configuration
{
    /// <summary>
    /// The host the applier gives the commands it reuses: the applier already asked ShouldProcess for the connection, so the
    /// command is told yes; what it writes is captured as the step's result, and its messages reach the real host.
    /// </summary>
    internal sealed class CapturingHost : IHostContext
    {
        private readonly IHostContext _outer;

        public CapturingHost(IHostContext outer)
        {
            _outer = outer;
        }

        public List<object> Objects { get; } = new List<object>();

        public List<ConnectionToolsException> Errors { get; } = new List<ConnectionToolsException>();

        public CancellationToken CancellationToken => _outer.CancellationToken;

        public void WriteObject(object value) => Objects.Add(value);

        public void WriteError(ConnectionToolsException error) => Errors.Add(error);

        public void WriteWarning(string message) => _outer.WriteWarning(message);

        public void WriteVerbose(string message) => _outer.WriteVerbose(message);

        public void WriteProgress(ProgressInfo progress)
        {
            // The applier reports progress over the whole plan; a step's own would fight with it.
        }

        public bool ShouldProcess(string target, string action) => true;

        /// <summary>The one object a step wrote, or its first error.</summary>
        public T Single<T>()
            where T : class
        {
            if (Errors.Count > 0)
            {
                throw Errors[0];
            }

            foreach (var value in Objects)
            {
                if (value is T typed)
                {
                    return typed;
                }
            }

            throw new System.InvalidOperationException("The step wrote no " + typeof(T).Name + ".");
        }
    }
}
