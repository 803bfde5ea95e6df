namespace ConnectionTools.Errors
{
    /// <summary>Case sync, part 2: writing partner cases into the bound system (Salesforce, Dataverse).</summary>
    public static partial class ErrorIds
    {
        /// <summary>
        /// The system refused one case (a field too long, a picklist value it does not know, a field the user may not write, a required
        /// field missing): an error of that case only, with the system's own message, its error code and the field it names.
        /// </summary>
        public const string SyncApplyRefused = "ConnectionTools.SyncApply.Refused";

        /// <summary>
        /// The system has no external id field on Case (Salesforce) or no alternate key on incident (Dataverse) to match partner cases by:
        /// an error of the connection, thrown before (or instead of) any write.
        /// </summary>
        public const string SyncApplyMissingExternalId = "ConnectionTools.SyncApply.MissingExternalId";

        /// <summary>
        /// The connection's user may not create or edit cases, or may not write the external id field (Salesforce object permissions
        /// and field-level security, read from Case's describe by Test-ConnectionSync): an error of the connection.
        /// </summary>
        public const string SyncApplyNoWriteAccess = "ConnectionTools.SyncApply.NoWriteAccess";

        /// <summary>A partner case new to Dataverse, on a connection with no default customer (account or contact) to create it under.</summary>
        public const string SyncApplyNoDefaultCustomer = "ConnectionTools.SyncApply.NoDefaultCustomer";

        /// <summary>
        /// The case was written but one of its new comments was not: refused by the system, or sent without an answer (it may have
        /// been added; comments are not sent twice). The exception's Data["ConnectionTools.CommentsAppended"] (int) says how many of the
        /// case's new comments, oldest first, were added before it.
        /// </summary>
        public const string SyncApplyCommentFailed = "ConnectionTools.SyncApply.CommentFailed";

        /// <summary>The system refused the connection's access token for a write, also after one refresh. Thrown; nothing more was written.</summary>
        public const string SyncApplyUnauthorized = "ConnectionTools.SyncApply.Unauthorized";

        /// <summary>The system answered a write with an error of the whole call (a 5xx after retries, 403, an answer that cannot be read). Thrown.</summary>
        public const string SyncApplyFailed = "ConnectionTools.SyncApply.Failed";
    }
}
