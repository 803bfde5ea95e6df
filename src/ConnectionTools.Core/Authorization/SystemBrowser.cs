using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionTools.Authorization
{
    /// <summary>Opens a URL in the user's default browser, the way each platform expects.</summary>
    public static class SystemBrowser
    {
        public static Task OpenAsync(Uri url, CancellationToken cancellationToken)
        {
            if (url is null)
            {
                throw new ArgumentNullException(nameof(url));
            }

            ProcessStartInfo start;
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                start = new ProcessStartInfo(url.AbsoluteUri) { UseShellExecute = true };
            }
            else if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                start = new ProcessStartInfo("open", url.AbsoluteUri) { UseShellExecute = false };
            }
            else
            {
                start = new ProcessStartInfo("xdg-open", url.AbsoluteUri) { UseShellExecute = false };
            }

            using (Process.Start(start))
            {
            }

            return Task.CompletedTask;
        }
    }
}
