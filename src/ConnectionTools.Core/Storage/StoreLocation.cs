using System;
using System.IO;
using System.Runtime.InteropServices;
using ConnectionTools.Errors;

namespace ConnectionTools.Storage
{
    public enum StoreSource
    {
        /// <summary>The per-user data folder.</summary>
        Default,

        /// <summary>The CONNECTIONTOOLS_STORE environment variable.</summary>
        Environment,

        /// <summary>Connect-ConnectionNode -StorePath, for this session.</summary>
        Session,
    }

    /// <summary>Where the store file is and why it is there.</summary>
    public sealed class StoreLocation
    {
        public const string EnvironmentVariable = "CONNECTIONTOOLS_STORE";
        public const string FileName = "store.db";

        /// <param name="create">Whether a store may be created when no file exists at <paramref name="path"/> (-Create, --create).</param>
        /// <param name="origin">How the user named the path, for the error that says it does not exist (-StorePath, --store).</param>
        public StoreLocation(string path, StoreSource source, bool create = false, string? origin = null)
        {
            Path = path;
            Source = source;
            Create = create;
            Origin = origin ?? (source == StoreSource.Environment ? EnvironmentVariable : source == StoreSource.Session ? "-StorePath" : "the per-user default");
        }

        public string Path { get; }

        public StoreSource Source { get; }

        /// <summary>The user asked for a new store to be created if none exists at <see cref="Path"/>.</summary>
        public bool Create { get; }

        /// <summary>How the path was named: -StorePath, CONNECTIONTOOLS_STORE, --store or the per-user default.</summary>
        public string Origin { get; }

        /// <summary>
        /// A path the user named must already hold a store unless they said -Create: a typo must not look like an empty store.
        /// The per-user default is created on first use.
        /// </summary>
        public bool MayCreate => Create || Source == StoreSource.Default;

        /// <summary>
        /// Picks the store: the session's path, else the environment variable, else the per-user data folder.
        /// Paths must already be absolute; the cmdlet layer resolves them against the PowerShell location.
        /// </summary>
        public static StoreLocation Resolve(string? sessionPath, Func<string, string?> getEnvironmentVariable, bool create = false)
        {
            if (!string.IsNullOrWhiteSpace(sessionPath))
            {
                return new StoreLocation(Normalize(sessionPath!, "-StorePath"), StoreSource.Session, create);
            }

            var fromEnvironment = getEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(fromEnvironment))
            {
                return new StoreLocation(Normalize(fromEnvironment!, EnvironmentVariable), StoreSource.Environment, create);
            }

            return new StoreLocation(System.IO.Path.Combine(DefaultFolder(getEnvironmentVariable), FileName), StoreSource.Default);
        }

        /// <summary>%LOCALAPPDATA%\ConnectionTools on Windows; $XDG_DATA_HOME/connectiontools or ~/.local/share/connectiontools elsewhere.</summary>
        public static string DefaultFolder(Func<string, string?> getEnvironmentVariable)
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                var localAppData = getEnvironmentVariable("LOCALAPPDATA");
                if (string.IsNullOrEmpty(localAppData))
                {
                    localAppData = System.Environment.GetFolderPath(System.Environment.SpecialFolder.LocalApplicationData);
                }

                return System.IO.Path.Combine(localAppData!, "ConnectionTools");
            }

            var xdg = getEnvironmentVariable("XDG_DATA_HOME");
            if (!string.IsNullOrEmpty(xdg) && System.IO.Path.IsPathRooted(xdg))
            {
                return System.IO.Path.Combine(xdg!, "connectiontools");
            }

            var home = getEnvironmentVariable("HOME");
            if (string.IsNullOrEmpty(home))
            {
                home = System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);
            }

            return System.IO.Path.Combine(home!, ".local", "share", "connectiontools");
        }

        private static string Normalize(string path, string origin)
        {
            try
            {
                return System.IO.Path.GetFullPath(path.Trim());
            }
            catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
            {
                throw new ConnectionToolsException(
                    ErrorIds.StoreInvalidPath,
                    ErrorKind.InvalidArgument,
                    $"The store path '{path}' from {origin} is not a valid file path: {e.Message}",
                    path,
                    "Give the full path of a store file, for example ~/connections/store.db.",
                    e);
            }
        }

        public override string ToString() => $"{Path} ({Source})";
    }
}
