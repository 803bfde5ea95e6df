using System;

namespace ConnectionTools.Errors
{
    /// <summary>
    /// The one error type Core throws on purpose. It carries a stable dotted id that scripts can match on,
    /// a kind that maps to PowerShell's ErrorCategory, the object it is about, and what to do next.
    /// Messages never contain secrets.
    /// </summary>
    public sealed class ConnectionToolsException : Exception
    {
        public ConnectionToolsException(string errorId, ErrorKind kind, string message, object? target = null, string? recommendedAction = null, Exception? innerException = null)
            : base(message, innerException)
        {
            ErrorId = errorId ?? throw new ArgumentNullException(nameof(errorId));
            Kind = kind;
            Target = target;
            RecommendedAction = recommendedAction;
        }

        /// <summary>A stable id such as <c>ConnectionTools.Connection.NotFound</c>.</summary>
        public string ErrorId { get; }

        public ErrorKind Kind { get; }

        /// <summary>The connection name, id, path or object the error is about.</summary>
        public object? Target { get; }

        public string? RecommendedAction { get; }
    }
}
