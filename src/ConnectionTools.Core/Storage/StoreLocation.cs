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

    /// <summary>Where the store is (a file, or a PostgreSQL database) and why it is there.</summary>
    public sealed class StoreLocation
    {
        public const string EnvironmentVariable = "CONNECTIONTOOLS_STORE";
        public const string FileName = "store.db";

        /// <summary>The key file that protects a PostgreSQL store's secrets, when Connect-ConnectionNode -KeyFile does not name one.</summary>
        public const string KeyFileVariable = "CONNECTIONTOOLS_KEY_FILE";

        /// <param name="create">Whether a store may be created when no file exists at <paramref name="path"/> (-Create, --create).</param>
        /// <param name="origin">How the user named the path, for the error that says it does not exist (-StorePath, --store).</param>
        public StoreLocation(string path, StoreSource source, bool create = false, string? origin = null)
        {
            Path = path;
            Source = source;
            Create = create;
            Origin = origin ?? (source == StoreSource.Environment ? EnvironmentVariable : source == StoreSource.Session ? "-StorePath" : "the per-user default");
        }

        /// <summary>The store file; for a PostgreSQL store, its server and database as shown (never a password).</summary>
        public string Path { get; }

        public StoreSource Source { get; }

        /// <summary>The PostgreSQL engine of a database store; null for a file.</summary>
        internal StoreEngine? Engine { get; private set; }

        /// <summary>"SQLite" or "PostgreSQL".</summary>
        public string EngineName => Engine?.Name ?? "SQLite";

        /// <summary>The key file that protects a PostgreSQL store's secrets; null for a file store, whose key sits beside it.</summary>
        public string? KeyFile { get; private set; }

        /// <summary>
        /// A PostgreSQL store: <paramref name="connectionString"/> is a postgresql:// URI or Npgsql keywords, without a password
        /// (it comes from <paramref name="credential"/>, PGPASSWORD or PGPASSFILE). Its secrets are encrypted with the key in
        /// <paramref name="keyFile"/>, which every host of the node reads.
        /// </summary>
        public static StoreLocation ForDatabase(string connectionString, StoreSource source, bool create, System.Net.NetworkCredential? credential, string? keyFile, string? origin = null)
        {
            var engine = ExternalEngines.Postgres(connectionString, credential, create, origin ?? (source == StoreSource.Environment ? EnvironmentVariable : "-ConnectionString"));
            if (string.IsNullOrWhiteSpace(keyFile))
            {
                throw new ConnectionToolsException(
                    ErrorIds.StoreKeyRequired,
                    ErrorKind.InvalidArgument,
                    $"The PostgreSQL store '{engine.Display}' needs a key file for its secrets: a per-user key cannot be shared by the node's hosts, and the key is never kept in the database.",
                    engine.Display,
                    $"Name one with -KeyFile (or {KeyFileVariable}, or the node host's --key-file): the same file, copied owner-only, on every host of the node. With -Create a missing key file is made.");
            }

            return new StoreLocation(engine.Display, source, create, origin) { Engine = engine, KeyFile = Normalize(keyFile!, "-KeyFile") };
        }

        /// <summary>Whether <paramref name="value"/> names a PostgreSQL database rather than a file: a postgresql:// URI or Npgsql keywords (Host=…).</summary>
        public static bool IsDatabase(string? value)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return false;
            }

            var text = value!.Trim();
            return text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) ||
                text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) ||
                System.Text.RegularExpressions.Regex.IsMatch(text, @"(^|;)\s*(Host|Server)\s*=", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        }

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
            if (IsDatabase(fromEnvironment))
            {
                return ForDatabase(fromEnvironment!.Trim(), StoreSource.Environment, create, null, getEnvironmentVariable(KeyFileVariable));
            }

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
