using System;
using System.Collections.Generic;
using System.Text.Json;
using ConnectionTools.Errors;
using ConnectionTools.Peering;

namespace ConnectionTools.Sync
{
    /// <summary>What one sync batch may carry, and the check every received batch passes before anything of it is stored.</summary>
    public static class SyncBatches
    {
        /// <summary>Events per request (and per answer).</summary>
        public const int MaxEvents = 500;

        /// <summary>The largest replica one event may carry, as JSON text (a rule's result is held to the same).</summary>
        public const int MaxReplicaChars = 1024 * 1024;

        /// <summary>
        /// Refuses a batch whole, naming the first problem, when it holds too many events, an oversized replica, or a malformed
        /// event: an id that is not a GUID, a missing trace or case id, a sequence below 1, a replica or base that is not a JSON object,
        /// or one event id twice.
        /// </summary>
        public static void Validate(IReadOnlyList<SyncEventMessage>? events, string from)
        {
            if (events is null)
            {
                throw Malformed(from, "it has no list of events");
            }

            if (events.Count > MaxEvents)
            {
                throw new ConnectionToolsException(ErrorIds.SyncBatchTooLarge, ErrorKind.InvalidData,
                    $"A sync batch from {from} holds {events.Count} events; a batch holds at most {MaxEvents}. Nothing of it was stored.", null,
                    "Both nodes must run compatible versions of ConnectionTools.");
            }

            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < events.Count; i++)
            {
                var e = events[i];
                if (e is null || e.EventId is null || !Guid.TryParseExact(e.EventId, "D", out _))
                {
                    throw Malformed(from, $"event {i + 1} has no event id, or one that is not a GUID");
                }

                if (!seen.Add(e.EventId!))
                {
                    throw Malformed(from, $"event {e.EventId} appears twice");
                }

                if (string.IsNullOrEmpty(e.TraceId) || e.TraceId.Length > 64 || string.IsNullOrEmpty(e.CaseId) || e.CaseId.Length > 255 || e.Sequence < 1)
                {
                    throw Malformed(from, $"event {e.EventId} has no trace id or case id, or a sequence number below 1");
                }

                if (e.TwinCaseId != null && (e.TwinCaseId.Length == 0 || e.TwinCaseId.Length > 255))
                {
                    throw Malformed(from, $"event {e.EventId} names an empty twin case id, or one over 255 characters");
                }

                if (e.Replica is null || e.Replica.Length > MaxReplicaChars)
                {
                    throw new ConnectionToolsException(ErrorIds.SyncBatchTooLarge, ErrorKind.InvalidData,
                        $"Event {e.EventId} from {from} carries no replica or one over {MaxReplicaChars:N0} characters. Nothing of the batch was stored.", null,
                        "Make the sender's outgoing rule send less (Set-ConnectionSyncRule -Test shows what it makes).");
                }

                if (!IsJsonObject(e.Replica))
                {
                    throw Malformed(from, $"the replica of event {e.EventId} is not a JSON object");
                }

                if (e.Versions != null && (e.Versions.Length > MaxReplicaChars || !IsJsonObject(e.Versions)))
                {
                    throw Malformed(from, $"the field versions of event {e.EventId} are not a JSON object of at most {MaxReplicaChars:N0} characters");
                }
            }
        }

        private static bool IsJsonObject(string text)
        {
            try
            {
                using (var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 }))
                {
                    return document.RootElement.ValueKind == JsonValueKind.Object;
                }
            }
            catch (JsonException)
            {
                return false;
            }
        }

        private static ConnectionToolsException Malformed(string from, string why) => new ConnectionToolsException(
            ErrorIds.SyncMalformedBatch,
            ErrorKind.InvalidData,
            $"A sync batch from {from} is not valid: {why}. Nothing of it was stored.",
            null,
            "Both nodes must run compatible versions of ConnectionTools.");
    }
}
