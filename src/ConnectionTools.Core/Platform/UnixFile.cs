using System;
using System.IO;
using System.Runtime.InteropServices;

namespace ConnectionTools.Platform
{
    /// <summary>
    /// The few POSIX calls the engine needs by path. None of them opens the file: on Linux and macOS, closing any descriptor
    /// of a database file drops every lock the process holds on it, so nothing but SQLite may open the store.
    /// </summary>
    internal static class UnixFile
    {
        public const uint OwnerReadWrite = 0x180; // 0600

        public const uint OwnerOnlyFolder = 0x1C0; // 0700

        public static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        /// <summary>Sets the file's mode bits; on Windows a new file inherits its folder's ACL, the user's own in a profile.</summary>
        public static void SetMode(string path, uint mode)
        {
            if (IsWindows)
            {
                return;
            }

            if (chmod(path, mode) != 0)
            {
                throw new IOException($"Could not set the permissions of '{path}' to {Convert.ToString(mode, 8)} (errno {Marshal.GetLastWin32Error()}).");
            }
        }

        /// <summary>
        /// The canonical path: symlinks resolved on Unix (through the folder when the file does not exist yet), the full path on
        /// Windows. Two spellings of one file give the same answer.
        /// </summary>
        public static string RealPath(string path)
        {
            var full = Path.GetFullPath(path);
            if (IsWindows)
            {
                return full;
            }

            var resolved = Resolve(full);
            if (resolved != null)
            {
                return resolved;
            }

            var folder = Path.GetDirectoryName(full);
            var folderResolved = string.IsNullOrEmpty(folder) ? null : Resolve(folder!);
            return folderResolved is null ? full : Path.Combine(folderResolved, Path.GetFileName(full));
        }

        /// <summary>How paths compare on this platform's usual file systems.</summary>
        public static StringComparer PathComparer => IsWindows ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

        private static string? Resolve(string path)
        {
            var buffer = realpath(path, IntPtr.Zero);
            if (buffer == IntPtr.Zero)
            {
                return null;
            }

            try
            {
                return Marshal.PtrToStringAnsi(buffer);
            }
            finally
            {
                free(buffer);
            }
        }

#pragma warning disable CA2101, SA1300 // libc's own names, and ANSI (UTF-8 on .NET Core) paths are what these take.
        [DllImport("libc", SetLastError = true)]
        private static extern int chmod([MarshalAs(UnmanagedType.LPStr)] string path, uint mode);

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPStr)] string path, IntPtr resolved);

        [DllImport("libc")]
        private static extern void free(IntPtr pointer);
#pragma warning restore CA2101, SA1300
    }
}
