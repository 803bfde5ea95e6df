using System;
using ConnectionTools.Errors;

namespace ConnectionTools.Hosting
{
    /// <summary>
    /// How one item of a pipeline fails: its error is written and the next item goes on. A store that cannot be used would
    /// fail every item the same way, so that error ends the command instead.
    /// </summary>
    public static class PerItem
    {
        public static void Run(IHostContext host, Action work)
        {
            host.CancellationToken.ThrowIfCancellationRequested();
            try
            {
                work();
            }
            catch (ConnectionToolsException e) when (!IsStoreWide(e))
            {
                host.WriteError(e);
            }
        }

        public static bool IsStoreWide(ConnectionToolsException e) => e.ErrorId.StartsWith("ConnectionTools.Store.", StringComparison.Ordinal);
    }
}
