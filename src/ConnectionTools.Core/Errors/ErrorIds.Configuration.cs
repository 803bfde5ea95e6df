namespace ConnectionTools.Errors
{
    /// <summary>Connections as code: the errors of loading, validating, planning and applying a configuration file.</summary>
    public static partial class ErrorIds
    {
        public const string ConfigurationFileNotFound = "ConnectionTools.Configuration.FileNotFound";
        /// <summary>A file the command would write is a store, a file beside one, or another SQLite database.</summary>
        public const string ConfigurationProtectedPath = "ConnectionTools.Configuration.ProtectedPath";
        public const string ConfigurationTooLarge = "ConnectionTools.Configuration.TooLarge";
        public const string ConfigurationEmpty = "ConnectionTools.Configuration.Empty";
        public const string ConfigurationSyntaxError = "ConnectionTools.Configuration.SyntaxError";
        public const string ConfigurationUnsupportedVersion = "ConnectionTools.Configuration.UnsupportedVersion";
        public const string ConfigurationUnknownKey = "ConnectionTools.Configuration.UnknownKey";
        public const string ConfigurationMissingKey = "ConnectionTools.Configuration.MissingKey";
        public const string ConfigurationWrongType = "ConnectionTools.Configuration.WrongType";
        public const string ConfigurationInvalidValue = "ConnectionTools.Configuration.InvalidValue";
        public const string ConfigurationDuplicateKey = "ConnectionTools.Configuration.DuplicateKey";
        public const string ConfigurationDuplicateName = "ConnectionTools.Configuration.DuplicateName";
        public const string ConfigurationLiteralSecret = "ConnectionTools.Configuration.LiteralSecret";
        public const string ConfigurationUnresolvedReference = "ConnectionTools.Configuration.UnresolvedReference";

        /// <summary>The summary that ends Invoke-ConnectionConfiguration when the file has errors; each error was written before it.</summary>
        public const string ConfigurationInvalid = "ConnectionTools.Configuration.Invalid";

        /// <summary>The file asks for a change no command can make (an immutable property, a one-way mode, another connection's name).</summary>
        public const string ConfigurationNotApplicable = "ConnectionTools.Configuration.NotApplicable";

        /// <summary>System connections are declared but this node cannot create or authorize them.</summary>
        public const string ConfigurationSystemConnectionsUnavailable = "ConnectionTools.Configuration.SystemConnectionsUnavailable";

        /// <summary>Export-ConnectionConfiguration -Path names a file that exists, and -Force was not given.</summary>
        public const string ConfigurationFileExists = "ConnectionTools.Configuration.FileExists";

        public const string ConfigurationWriteFailed = "ConnectionTools.Configuration.WriteFailed";
    }
}
