using System;
using System.IO;
using System.Text;
using ConnectionTools.Errors;

namespace ConnectionTools.Storage
{
    /// <summary>Checks made on the store file before SQLite touches it, so that a wrong path is reported and never modified.</summary>
    internal static class StoreFile
    {
        private static readonly byte[] SqliteHeader = Encoding.ASCII.GetBytes("SQLite format 3\0");

        public static void CheckBeforeOpen(string path)
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

            if (!File.Exists(path))
            {
                EnsureFolder(path);
                return;
            }

            var header = new byte[SqliteHeader.Length];
            int read;
            try
            {
                using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                {
                    read = ReadFully(stream, header);
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

            // An empty file is a new store; anything else must be a SQLite database.
            if (read == 0)
            {
                return;
            }

            if (read < header.Length || !HeaderMatches(header))
            {
                throw NotAStore(path, null);
            }
        }

        public static ConnectionToolsException NotAStore(string path, Exception? inner) => new ConnectionToolsException(
            ErrorIds.StoreNotAStore,
            ErrorKind.InvalidData,
            $"The file '{path}' is not a ConnectionTools store (it is not a SQLite database). It was not changed.",
            path,
            "Point to a store file, or to a path where a new store can be created.",
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

        private static void EnsureFolder(string path)
        {
            var folder = Path.GetDirectoryName(path);
            if (string.IsNullOrEmpty(folder) || Directory.Exists(folder))
            {
                return;
            }

            try
            {
                Directory.CreateDirectory(folder);
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

        private static bool HeaderMatches(byte[] header)
        {
            for (var i = 0; i < SqliteHeader.Length; i++)
            {
                if (header[i] != SqliteHeader[i])
                {
                    return false;
                }
            }

            return true;
        }

        private static int ReadFully(Stream stream, byte[] buffer)
        {
            var total = 0;
            while (total < buffer.Length)
            {
                var n = stream.Read(buffer, total, buffer.Length - total);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            return total;
        }
    }
}
