using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>
    /// Reads the comments a case already has in the bound system, so that comments a crash may have left written but unrecorded
    /// are not written twice (comments are append-only and carry no external id).
    /// </summary>
    public interface ICommentReader
    {
        /// <summary>The bodies of the case's comments, oldest first, exactly as the system stores them.</summary>
        Task<IReadOnlyList<string>> CommentBodiesAsync(string localCaseId, CancellationToken cancellationToken);
    }
}
