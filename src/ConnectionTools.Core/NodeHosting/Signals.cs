using System.Runtime.InteropServices;

namespace ConnectionTools.NodeHosting
{
    /// <summary>POSIX kill(2): netstandard2.0 has no way to send a process a signal other than SIGKILL.</summary>
    internal static class Signals
    {
        /// <summary>Sends <paramref name="signal"/> to the process; false when it could not be sent (no such process, not allowed).</summary>
        public static bool Send(int processId, int signal) => kill(processId, signal) == 0;

#pragma warning disable SA1300 // libc's own name.
        [DllImport("libc", SetLastError = true)]
        private static extern int kill(int pid, int sig);
#pragma warning restore SA1300
    }
}
