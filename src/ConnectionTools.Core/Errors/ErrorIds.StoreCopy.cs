namespace ConnectionTools.Errors
{
    /// <summary>
    /// Error ids of Copy-ConnectionStore. A family of their own rather than Store.*: every cmdlet's help names every Store.* id
    /// (any cmdlet opens the store), and these only Copy-ConnectionStore raises.
    /// </summary>
    public static partial class ErrorIds
    {
        /// <summary>The destination store already holds data (connections, audit, jobs...): a copy goes only into a new, empty store.</summary>
        public const string StoreCopyTargetNotEmpty = "ConnectionTools.StoreCopy.TargetNotEmpty";

        /// <summary>The destination is the source store itself.</summary>
        public const string StoreCopySameStore = "ConnectionTools.StoreCopy.SameStore";

        /// <summary>The two stores are at different schema versions, or their tables or columns differ.</summary>
        public const string StoreCopySchemaMismatch = "ConnectionTools.StoreCopy.SchemaMismatch";

        /// <summary>After the copy committed, a table's rows in the destination did not match the source's (count or checksum).</summary>
        public const string StoreCopyVerificationFailed = "ConnectionTools.StoreCopy.VerificationFailed";
    }
}
