using System;
using System.IO;
using ConnectionTools.Platform;

namespace ConnectionTools.Security
{
    /// <summary>Writes a secret (a key, an invitation code) to a file only its owner can read.</summary>
    internal static class OwnerOnlyFile
    {
        /// <summary>
        /// Writes <paramref name="bytes"/> to a temporary file beside <paramref name="path"/>, made owner-only before any byte is
        /// written, then moves it into place, so no reader ever sees a partial or world-readable file. With
        /// <paramref name="replace"/> false, a file another process put at <paramref name="path"/> meanwhile wins: returns false.
        /// </summary>
        public static bool Write(string path, byte[] bytes, bool replace)
        {
            var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    UnixFile.SetMode(temporary, UnixFile.OwnerReadWrite);
                    stream.Write(bytes, 0, bytes.Length);
                    stream.Flush(true);
                }

                if (replace && File.Exists(path))
                {
                    File.Delete(path);
                }

                try
                {
                    File.Move(temporary, path);
                    return true;
                }
                catch (IOException) when (!replace && File.Exists(path))
                {
                    return false;
                }
            }
            finally
            {
                File.Delete(temporary);
            }
        }
    }
}
