namespace ConnectionTools.Errors
{
    /// <summary>
    /// What kind of failure an error is. The names match PowerShell's ErrorCategory so the cmdlet layer maps them one to one.
    /// </summary>
    public enum ErrorKind
    {
        NotSpecified,
        InvalidArgument,
        InvalidOperation,
        InvalidData,
        ObjectNotFound,
        ResourceExists,
        ResourceBusy,
        ResourceUnavailable,
        PermissionDenied,
        WriteError,
        ReadError,
        OperationStopped,
        AuthenticationError,
        ConnectionError,
        OperationTimeout,
    }
}
