using System;

namespace ConnectionTools.Jobs.Retrieval
{
    /// <summary>
    /// One case as the org returned it: a Salesforce <c>Case</c> or a Dataverse <c>incident</c>. The typed fields are the ones the
    /// job needs (identity, order, display); <see cref="Payload"/> keeps the record's JSON exactly as received, so nothing is lost.
    /// </summary>
    public sealed class CaseRecord
    {
        public CaseRecord(string id, DateTimeOffset modifiedAt, string? caseNumber, string? subject, string? status, string payload)
        {
            if (string.IsNullOrEmpty(id))
            {
                throw new ArgumentException("A case record needs an id.", nameof(id));
            }

            Id = id;
            ModifiedAt = CaseTimestamps.ToUtcMilliseconds(modifiedAt);
            CaseNumber = caseNumber;
            Subject = subject;
            Status = status;
            Payload = payload ?? throw new ArgumentNullException(nameof(payload));
            WatermarkAt = ModifiedAt;
        }

        /// <summary>The org's record id: Salesforce's 18-character Id, or Dataverse's incidentid (a GUID, lower case).</summary>
        public string Id { get; }

        /// <summary>When the org last changed the record (SystemModstamp, modifiedon): UTC, millisecond precision.</summary>
        public DateTimeOffset ModifiedAt { get; }

        /// <summary>
        /// What the record moves the job's watermark to once committed: its ModifiedAt, except where the provider reads a case by
        /// another route than the watermark's order (Dataverse cases found through their new notes: null, they move nothing).
        /// </summary>
        public DateTimeOffset? WatermarkAt { get; private set; }

        /// <summary>This record, moving the watermark to <paramref name="at"/> (null: not at all).</summary>
        internal CaseRecord Watermark(DateTimeOffset? at)
        {
            WatermarkAt = at is DateTimeOffset value ? CaseTimestamps.ToUtcMilliseconds(value) : (DateTimeOffset?)null;
            return this;
        }

        /// <summary>CaseNumber (Salesforce) or ticketnumber (Dataverse).</summary>
        public string? CaseNumber { get; }

        /// <summary>Subject (Salesforce) or title (Dataverse).</summary>
        public string? Subject { get; }

        /// <summary>Status (Salesforce picklist value) or the label of statecode (Dataverse: Active, Resolved, Canceled).</summary>
        public string? Status { get; }

        /// <summary>The record's JSON object as the API returned it.</summary>
        public string Payload { get; }

        public override string ToString() => $"{CaseNumber ?? Id} ({ModifiedAt:yyyy-MM-dd'T'HH:mm:ss.fff'Z'})";
    }
}
