using System;
using System.Globalization;
using System.Text.RegularExpressions;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Sync
{
    /// <summary>Why one sync event failed, as Get-ConnectionSyncError lists it: the event's error with the rule's line.</summary>
    public sealed class SyncError
    {
        private static readonly Regex LineInMessage = new Regex(@"\bat line (\d+)", RegexOptions.CultureInvariant);

        public Guid ConnectionId { get; internal set; }

        public string ConnectionName { get; internal set; } = "";

        public SyncDirection Direction { get; internal set; }

        public Guid EventId { get; internal set; }

        public string TraceId { get; internal set; } = "";

        public string CaseId { get; internal set; } = "";

        public long Sequence { get; internal set; }

        public string ErrorId { get; internal set; } = "";

        public string Message { get; internal set; } = "";

        /// <summary>The rule's line the error happened at, when the error names one.</summary>
        public int? Line { get; internal set; }

        public int Attempts { get; internal set; }

        public DateTimeOffset FailedAt { get; internal set; }

        public override string ToString() => $"{ErrorId}: {Message}";

        internal static SyncError From(SyncEvent e)
        {
            var message = e.Error ?? "";
            var line = LineInMessage.Match(message);
            return new SyncError
            {
                ConnectionId = e.ConnectionId,
                ConnectionName = e.ConnectionName,
                Direction = e.Direction,
                EventId = e.EventId,
                TraceId = e.TraceId,
                CaseId = e.CaseId,
                Sequence = e.Sequence,
                ErrorId = e.ErrorId ?? "",
                Message = message,
                Line = line.Success ? int.Parse(line.Groups[1].Value, CultureInfo.InvariantCulture) : (int?)null,
                Attempts = e.Attempts,
                FailedAt = e.UpdatedAt,
            };
        }
    }

    /// <summary>What Get-ConnectionSyncEvent and Get-ConnectionSyncError ask for. Every part is optional; empty means everything.</summary>
    public sealed class SyncEventQuery
    {
        /// <summary>Connection names or PowerShell wildcard patterns; empty means every connection.</summary>
        public System.Collections.Generic.IReadOnlyList<string>? Names { get; set; }

        public SyncDirection? Direction { get; set; }

        public System.Collections.Generic.IReadOnlyList<string>? CaseIds { get; set; }

        public System.Collections.Generic.IReadOnlyList<SyncEventStatus>? Statuses { get; set; }

        public System.Collections.Generic.IReadOnlyList<string>? TraceIds { get; set; }
    }

    /// <summary>A private connection's sync as Get-Connection shows it: counted in one grouped query per listing, never stored.</summary>
    internal sealed class SyncCounts
    {
        public static readonly SyncCounts None = new SyncCounts();

        /// <summary>Outgoing events queued or sent and not yet acknowledged.</summary>
        public int Out { get; set; }

        /// <summary>Incoming events received and not yet applied.</summary>
        public int In { get; set; }

        /// <summary>Failed events, both directions.</summary>
        public int Failed { get; set; }

        /// <summary>The last round that completed with the partner; null until the transport records one.</summary>
        public DateTimeOffset? LastRoundAt { get; set; }
    }
}
