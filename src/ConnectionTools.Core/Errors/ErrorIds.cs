namespace ConnectionTools.Errors
{
    /// <summary>Every error id Core raises, in one place, so docs and tests can enumerate them.</summary>
    public static class ErrorIds
    {
        public const string ConnectionNotFound = "ConnectionTools.Connection.NotFound";
        public const string ConnectionNameInUse = "ConnectionTools.Connection.NameInUse";
        public const string ConnectionInvalidName = "ConnectionTools.Connection.InvalidName";
        public const string ConnectionInvalidDescription = "ConnectionTools.Connection.InvalidDescription";
        public const string ConnectionIllegalTransition = "ConnectionTools.Connection.IllegalTransition";
        public const string ConnectionConflict = "ConnectionTools.Connection.Conflict";
        public const string ConnectionRemoved = "ConnectionTools.Connection.Removed";

        public const string StorePathIsDirectory = "ConnectionTools.Store.PathIsDirectory";
        public const string StoreAccessDenied = "ConnectionTools.Store.AccessDenied";
        public const string StoreNotAStore = "ConnectionTools.Store.NotAStore";
        public const string StoreSchemaTooNew = "ConnectionTools.Store.SchemaTooNew";
        public const string StoreReadOnly = "ConnectionTools.Store.ReadOnly";
        public const string StoreBusy = "ConnectionTools.Store.Busy";
        public const string StoreUnavailable = "ConnectionTools.Store.Unavailable";
        public const string StoreInvalidPath = "ConnectionTools.Store.InvalidPath";
        public const string StoreFailed = "ConnectionTools.Store.Failed";

        public const string OperationStopped = "ConnectionTools.OperationStopped";
    }
}
