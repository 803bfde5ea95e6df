using System;
using System.IO;
using System.Net;
using System.Text;
using System.Text.Json;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>The neutral status as an incident's statecode/statuscode, and the requests that move it (see the class comment).</summary>
    public sealed partial class DataverseCaseWriter
    {
        /// <summary>The error Dataverse answers to an update of a resolved or canceled incident.</summary>
        internal const string ClosedCaseCode = "0x80040227";

        private const int ActiveState = 0;
        private const int ResolvedState = 1;
        private const int CanceledState = 2;

        // statuscode 1 In Progress (Active), 5 Problem Solved and 1000 Information Provided (Resolved), 6 Canceled.
        private const int ActiveStatus = 1;

        /// <summary>
        /// incident.statecode of a neutral status: 0 Active, 1 Resolved, 2 Canceled (any case, outer spaces ignored); null when it
        /// has none. Salesforce's New, Working and Escalated are Active, its Closed is Resolved.
        /// </summary>
        public static int? StateCode(string value) => Target(value)?.State;

        private static StatusTarget? Target(string value)
        {
            switch ((value ?? string.Empty).Trim().ToUpperInvariant())
            {
                case "ACTIVE":
                case "NEW":
                case "OPEN":
                case "REOPENED":
                case "WORKING":
                case "ESCALATED":
                case "IN PROGRESS":
                case "ON HOLD":
                case "WAITING FOR DETAILS":
                case "RESEARCHING":
                    return new StatusTarget(ActiveState, null);
                case "RESOLVED":
                case "CLOSED":
                case "PROBLEM SOLVED":
                    return new StatusTarget(ResolvedState, 5);
                case "INFORMATION PROVIDED":
                    return new StatusTarget(ResolvedState, 1000);
                case "CANCELED":
                case "CANCELLED":
                    return new StatusTarget(CanceledState, 6);
                default:
                    return null;
            }
        }

        private static ConnectionToolsException UnknownStatus(string partnerCaseId, string value) => new ConnectionToolsException(
            ErrorIds.SyncApplyRefused,
            ErrorKind.InvalidData,
            $"Partner case '{partnerCaseId}' has entity.status '{Clip(value, 40)}', which has no Dataverse case state (Active, New, Working, Escalated → Active; Resolved, Closed → Resolved; Canceled → Canceled). Nothing of the case was sent.",
            partnerCaseId + ":statecode",
            "Map the partner's status to Active, Resolved or Canceled in the incoming rule.");

        /// <summary>Whether Dataverse refused an update because the incident is resolved or canceled.</summary>
        private static bool IsClosedCase(WriterChannel.Answer answer)
        {
            if (answer.Status != HttpStatusCode.BadRequest)
            {
                return false;
            }

            var (code, message) = ReadError(answer.Body);
            return code == ClosedCaseCode ||
                message is not null && message.IndexOf("has already been", StringComparison.OrdinalIgnoreCase) >= 0 &&
                message.IndexOf("reopen", StringComparison.OrdinalIgnoreCase) >= 0;
        }

        private static string StateJson(int state, int? status) => Write(json =>
        {
            json.WriteNumber("statecode", state);
            if (status is int code)
            {
                json.WriteNumber("statuscode", code);
            }
        });

        /// <summary>CloseIncident's parameters: an incidentresolution bound to the incident, and the Resolved statuscode.</summary>
        private static string CloseIncidentJson(string incident, int? status, string partnerCaseId) => Write(json =>
        {
            json.WriteStartObject("IncidentResolution");
            json.WriteString("@odata.type", "Microsoft.Dynamics.CRM.incidentresolution");
            json.WriteString("subject", Clip("Resolved by the partner (case " + partnerCaseId + ")", 200));
            json.WriteString("incidentid@odata.bind", incident);
            json.WriteEndObject();
            json.WriteNumber("Status", status ?? -1);
        });

        private static string Write(Action<Utf8JsonWriter> members)
        {
            using (var stream = new MemoryStream())
            {
                using (var json = new Utf8JsonWriter(stream))
                {
                    json.WriteStartObject();
                    members(json);
                    json.WriteEndObject();
                }

                return Encoding.UTF8.GetString(stream.ToArray());
            }
        }

        /// <summary>The state a case goes to: statecode, and the statuscode to set (null: keep an active incident's own).</summary>
        private sealed class StatusTarget
        {
            public StatusTarget(int state, int? status)
            {
                State = state;
                Status = status;
            }

            public int State { get; }

            public int? Status { get; }

            /// <summary>Resolved or Canceled: written after the fields, and the case reopens first.</summary>
            public bool Closes => State != ActiveState;
        }
    }
}
