namespace ConnectionTools.Errors
{
    /// <summary>Error ids of scheduled jobs (issue 5).</summary>
    public static partial class ErrorIds
    {
        /// <summary>The org refused the connection's access token, also after one refresh.</summary>
        public const string JobUnauthorized = "ConnectionTools.Job.Unauthorized";

        /// <summary>The org answered a retrieval page with an error (or an answer that could not be read).</summary>
        public const string JobSourceFailed = "ConnectionTools.Job.SourceFailed";
    }
}
