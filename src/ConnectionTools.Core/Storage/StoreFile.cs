using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using ConnectionTools.Errors;
using ConnectionTools.Platform;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// What is checked about a store's path before SQLite opens it, and the errors that name what is wrong with a file.
    /// Only the path is examined (stat, mkdir, chmod): nothing here opens the database file, its -wal, -shm or journal,
    /// because on Linux and macOS closing any descriptor of the file drops every SQLite lock this process holds on it.
    /// Whether a file is a SQLite database is SQLite's to say.
    /// </summary>
    internal static class StoreFile
    {
        /// <summary>The files SQLite keeps beside a database, and the key file that protects its secrets.</summary>
        private static readonly string[] Companions = { "-wal", "-shm", "-journal", ".key" };

        private static readonly byte[] SqliteHeader = Encoding.ASCII.GetBytes("SQLite format 3\0");

        /// <summary>
        /// Refuses a directory, and a missing file unless <paramref name="location"/> may create one (the one place where a
        /// path that does not exist is refused, for every way of naming a store); creates a missing folder owner-only, and
        /// says whether the store file exists yet. Without a location (Core's own callers), a missing file is created.
        /// </summary>
        public static bool PrepareLocation(string path, StoreLocation? location = null)
        {
            if (Directory.Exists(path))
            {
                throw new ConnectionToolsException(
                    ErrorIds.StorePathIsDirectory,
                    ErrorKind.InvalidArgument,
                    $"The store path '{path}' is a directory. A store is a single file.",
                    path,
                    $"Give a file path, for example '{Path.Combine(path, StoreLocation.FileName)}'.");
            }

            if (File.Exists(path))
            {
                return true;
            }

            if (location != null && !location.MayCreate)
            {
                throw NotFound(path, location);
            }

            EnsureFolder(path);
            return false;
        }

        public static ConnectionToolsException NotFound(string path, StoreLocation location) => new ConnectionToolsException(
            ErrorIds.StoreNotFound,
            ErrorKind.ObjectNotFound,
            $"No store exists at '{path}' (from {location.Origin}). Nothing was created: a mistyped path must not look like an empty store.",
            path,
            location.Origin == "--store"
                ? $"Check the path. To create a new store there, add --create: --store \"{path}\" --create."
                : location.Origin == StoreLocation.EnvironmentVariable
                    ? $"Check {StoreLocation.EnvironmentVariable}. To create a new store there, run once: Connect-ConnectionNode -StorePath '{path}' -Create."
                    : $"Check the path. To create a new store there: Connect-ConnectionNode -StorePath '{path}' -Create.");

        /// <summary>
        /// Refuses to let a command write <paramref name="path"/> when it is a store open in this process, a file beside one, or any
        /// existing SQLite database. A store is never replaced by a configuration file or an invitation code.
        /// </summary>
        public static void RefuseAsWriteTarget(string path, string purpose)
        {
            var real = UnixFile.RealPath(path);
            foreach (var store in StoreRegistry.OpenPaths())
            {
                if (UnixFile.PathComparer.Equals(real, store) || IsCompanion(real, store))
                {
                    throw ProtectedPath(path, purpose, $"it is the store this process has open ('{store}'), or a file SQLite keeps beside it");
                }
            }

            // Reading the first bytes is safe only because no store of this process lives at this path (checked above).
            if (File.Exists(real) && StartsWithSqliteHeader(real))
            {
                throw ProtectedPath(path, purpose, "it is a SQLite database");
            }
        }

        public static ConnectionToolsException NotAStore(string path, Exception? inner) => new ConnectionToolsException(
            ErrorIds.StoreNotAStore,
            ErrorKind.InvalidData,
            $"The file '{path}' is not a ConnectionTools store (it is not a SQLite database). It was not changed.",
            path,
            "Point to a store file, or to a path where a new store can be created.",
            inner);

        public static ConnectionToolsException ForeignDatabase(string path, string what) => new ConnectionToolsException(
            ErrorIds.StoreForeignDatabase,
            ErrorKind.InvalidData,
            $"The file '{path}' is a SQLite database of another application ({what}), not a ConnectionTools store. It was not changed.",
            path,
            "Point to a ConnectionTools store, or to a path where a new store can be created.");

        public static ConnectionToolsException Corrupt(string path, Exception? inner, string? detail = null) => new ConnectionToolsException(
            ErrorIds.StoreCorrupt,
            ErrorKind.InvalidData,
            $"The store '{path}' is damaged: SQLite reports {detail ?? "that the database disk image is malformed"}. Nothing more is written to it.",
            path,
            "Stop every process that uses it (the node host, PowerShell sessions, scheduled tasks), keep a copy of the file with its -wal, then restore the " +
            "latest backup, or rebuild it with: sqlite3 <damaged.db> \".recover\" | sqlite3 <new.db>. Get-ConnectionNode -Check checks a store.",
            inner);

        public static ConnectionToolsException AccessDenied(string path, Exception? inner) => new ConnectionToolsException(
            ErrorIds.StoreAccessDenied,
            ErrorKind.PermissionDenied,
            $"The store file '{path}' cannot be read by this user. It was not changed.",
            path,
            "Run as the user who owns the store, or give that user read and write access to the file and its folder.",
            inner);

        public static ConnectionToolsException Unavailable(string path, Exception inner) => new ConnectionToolsException(
            ErrorIds.StoreUnavailable,
            ErrorKind.ResourceUnavailable,
            $"The store '{path}' cannot be opened: {inner.Message}",
            path,
            "Check that the path is on a local, writable disk and that its folder exists.",
            inner);

        private static ConnectionToolsException ProtectedPath(string path, string purpose, string why) => new ConnectionToolsException(
            ErrorIds.ConfigurationProtectedPath,
            ErrorKind.InvalidArgument,
            $"{purpose} is not written to '{path}': {why}. Nothing was written.",
            path,
            "Choose another file name, for example one ending in .yaml.");

        private static bool IsCompanion(string path, string store)
        {
            foreach (var suffix in Companions)
            {
                if (UnixFile.PathComparer.Equals(path, store + suffix))
                {
                    return true;
                }
            }

            return false;
        }

        private static bool StartsWithSqliteHeader(string path)
        {
            var header = new byte[SqliteHeader.Length];
            try
            {
                using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                {
                    var total = 0;
                    int n;
                    while (total < header.Length && (n = stream.Read(header, total, header.Length - total)) > 0)
                    {
                        total += n;
                    }

                    if (total < header.Length)
                    {
                        return false;
                    }
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // Unreadable here means the write that follows fails with its own clear error.
                return false;
            }

            for (var i = 0; i < header.Length; i++)
            {
                if (header[i] != SqliteHeader[i])
                {
                    return false;
                }
            }

            return true;
        }

        private static void EnsureFolder(string path)
        {
            var folder = Path.GetDirectoryName(path);
            if (string.IsNullOrEmpty(folder) || Directory.Exists(folder))
            {
                return;
            }

            // Every folder made here is the owner's alone; folders that already exist are left as they are.
            var missing = new Stack<string>();
            for (var f = folder; !string.IsNullOrEmpty(f) && !Directory.Exists(f); f = Path.GetDirectoryName(f))
            {
                missing.Push(f!);
            }

            try
            {
                while (missing.Count > 0)
                {
                    var created = missing.Pop();
                    Directory.CreateDirectory(created);
                    UnixFile.SetMode(created, UnixFile.OwnerOnlyFolder);
                }
            }
            catch (UnauthorizedAccessException e)
            {
                throw AccessDenied(path, e);
            }
            catch (IOException e)
            {
                throw Unavailable(path, e);
            }
        }
    }
}
