using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>
    /// One partner case to create or update in the bound system, in the system-neutral shape the incoming rule writes
    /// (<c>entity.summary</c>, <c>entity.description</c>, <c>entity.status</c>, <c>entity.priority</c>). The write is keyed by the
    /// partner's case id (Salesforce: an external id field on Case; Dataverse: an alternate key on incident), so writing it twice,
    /// or after a crash between the write and the store's commit, never makes a second case.
    /// </summary>
    public sealed class CaseWrite
    {
        public CaseWrite(string partnerCaseId, IReadOnlyDictionary<string, string?> fields, IReadOnlyList<string>? newComments = null, string? localCaseId = null)
        {
            PartnerCaseId = string.IsNullOrEmpty(partnerCaseId) ? throw new ArgumentException("A partner case id is required.", nameof(partnerCaseId)) : partnerCaseId;
            Fields = fields ?? throw new ArgumentNullException(nameof(fields));
            NewComments = newComments ?? Array.Empty<string>();
            LocalCaseId = localCaseId;
        }

        /// <summary>
        /// Set when the partner's case is its twin of one of this node's own cases (it was made from it): that case is updated by
        /// its id and given the partner's case id as its external id (alternate key), so later writes find it by that key.
        /// </summary>
        public string? LocalCaseId { get; }

        /// <summary>The case's id on the partner's side: the value of the external id field (alternate key).</summary>
        public string PartnerCaseId { get; }

        /// <summary>Neutral field name (summary, description, status, priority) to value; a field absent here is left as it is.</summary>
        public IReadOnlyDictionary<string, string?> Fields { get; }

        /// <summary>Comment bodies to append to the case, oldest first (comments are append-only).</summary>
        public IReadOnlyList<string> NewComments { get; }
    }

    /// <summary>What became of one <see cref="CaseWrite"/>: the local case it landed in, or the system's refusal of that case.</summary>
    public sealed class CaseWriteResult
    {
        public CaseWriteResult(string partnerCaseId, string? localCaseId, bool created, ConnectionToolsException? error)
        {
            PartnerCaseId = partnerCaseId;
            LocalCaseId = localCaseId;
            Created = created;
            Error = error;
        }

        public string PartnerCaseId { get; }

        /// <summary>The case's id in the bound system (Salesforce Case Id, Dataverse incidentid); null when refused.</summary>
        public string? LocalCaseId { get; }

        public bool Created { get; }

        /// <summary>
        /// Null when written. Otherwise an error of that case only (ConnectionTools.SyncApply.Refused and its kin), with the system's
        /// own message and the field it names; the other cases of the batch are unaffected.
        /// </summary>
        public ConnectionToolsException? Error { get; }
    }

    /// <summary>
    /// Writes partner cases into one bound system through its own API, with the connection's access token (refreshed once on 401,
    /// as retrieval does). A failure of the whole call (no answer after retries, a refused grant) throws; a refusal of one case is
    /// that case's <see cref="CaseWriteResult.Error"/>.
    /// </summary>
    public interface ICaseWriter
    {
        /// <summary>The most cases one <see cref="WriteAsync"/> call takes (Salesforce sObject Collections: 200).</summary>
        int MaxBatch { get; }

        /// <summary>Writes the cases; returns one result per write, in the same order.</summary>
        Task<IReadOnlyList<CaseWriteResult>> WriteAsync(IReadOnlyList<CaseWrite> writes, CancellationToken cancellationToken);
    }
}
