using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionTools.Jobs.Retrieval
{
    /// <summary>Pages through an org's cases changed since a watermark.</summary>
    public interface ICaseSource
    {
        /// <summary>
        /// Requests the pages of <paramref name="query"/> in order and hands each to <paramref name="onPage"/>, awaiting it before the
        /// next page is requested: the caller commits a page (and may advance its watermark) inside <paramref name="onPage"/>, and at
        /// most one page is held in memory; empty pages are not handed over. Records come oldest first (ModifiedAt, then Id), except those a
        /// provider finds by another route (Dataverse cases with new notes, first), which do not move the watermark (CaseRecord.WatermarkAt);
        /// a record changed during the run may come again, newer, in a later page, so the store downstream must be idempotent (newest version wins).
        /// When a page fails, the pages already handed over stay handed over and the call throws: a ConnectionToolsException with id
        /// ConnectionTools.Job.Unauthorized (the token was refused after one refresh), ConnectionTools.Job.SourceFailed (the org
        /// answered with an error), or ConnectionTools.Authorization.ProviderUnavailable (no answer, or throttled, after retries).
        /// </summary>
        Task RetrieveAsync(CaseQuery query, Func<IReadOnlyList<CaseRecord>, CancellationToken, Task> onPage, CancellationToken cancellationToken);
    }
}
