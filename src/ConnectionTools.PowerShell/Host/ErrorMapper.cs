using System;
using System.Management.Automation;
using ConnectionTools.Errors;

namespace ConnectionTools.PowerShell.Host
{
    /// <summary>The single place where Core's typed errors become PowerShell ErrorRecords.</summary>
    internal static class ErrorMapper
    {
        public static ErrorRecord ToRecord(ConnectionToolsException error)
        {
            var record = new ErrorRecord(error, error.ErrorId, ToCategory(error.Kind), error.Target);
            if (!string.IsNullOrEmpty(error.RecommendedAction))
            {
                record.ErrorDetails = new ErrorDetails(error.Message) { RecommendedAction = error.RecommendedAction };
            }

            return record;
        }

        public static ErrorCategory ToCategory(ErrorKind kind) =>
            Enum.TryParse(kind.ToString(), out ErrorCategory category) ? category : ErrorCategory.NotSpecified;
    }
}
