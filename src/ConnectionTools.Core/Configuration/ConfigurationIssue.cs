using System.Globalization;
using ConnectionTools.Errors;

namespace ConnectionTools.Configuration
{
    /// <summary>Where in a configuration file something is: the file, a 1-based line and column, and the key path.</summary>
    public sealed class ConfigurationLocation
    {
        public ConfigurationLocation(string file, int line, int column, string key)
        {
            File = file;
            Line = line;
            Column = column;
            Key = key;
        }

        public string File { get; }

        public int Line { get; }

        public int Column { get; }

        /// <summary>The key path, for example <c>connections[2].authorization.clientSecret</c>; empty for the document itself.</summary>
        public string Key { get; }

        public ConfigurationLocation WithKey(string key) => new ConfigurationLocation(File, Line, Column, key);

        /// <summary>Whether it points into the file; false for a problem with the file as a whole (it is not there).</summary>
        public bool HasPosition => Line > 0;

        /// <summary>file:line:column, the form editors and CI logs turn into a link; just the file when there is no position.</summary>
        public override string ToString() => HasPosition ? string.Format(CultureInfo.InvariantCulture, "{0}:{1}:{2}", File, Line, Column) : File;
    }

    /// <summary>
    /// One problem found in a configuration file. Validation collects all of them before anything is applied; each becomes a
    /// non-terminating error whose message starts with file:line:column and names the key. Never carries a secret's value.
    /// </summary>
    public sealed class ConfigurationIssue
    {
        public ConfigurationIssue(string errorId, ConfigurationLocation location, string message, string? recommendedAction = null)
        {
            ErrorId = errorId;
            Location = location;
            Message = message;
            RecommendedAction = recommendedAction;
        }

        public string ErrorId { get; }

        public ConfigurationLocation Location { get; }

        public string Message { get; }

        public string? RecommendedAction { get; }

        public ConnectionToolsException ToException() => new ConnectionToolsException(
            ErrorId,
            ErrorId == ErrorIds.ConfigurationFileNotFound ? ErrorKind.ObjectNotFound : ErrorKind.InvalidData,
            Location.HasPosition ? $"{Location}: {Message}" : Message,
            Location,
            RecommendedAction);

        public override string ToString() => Location.HasPosition ? $"{Location}: {Message}" : Message;
    }
}
