using System;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConnectionTools.Connections;
using ConnectionTools.Jobs.Retrieval;

namespace ConnectionTools.SyncRules
{
    /// <summary>
    /// What a rule sees as <c>entity</c>: one case in the same shape whichever system it came from, so that the Basic rules (and most
    /// Script rules) work between Salesforce and Dynamics 365 alike. The system's own record stays reachable as <c>entity.fields</c>.
    /// </summary>
    public static class CaseEntities
    {
        /// <summary>A case to try rules on (Set-ConnectionSyncRule -Test): every field the Basic rules read, and one comment.</summary>
        public const string Sample =
            "{\"id\":\"5003000000D8cuIAAR\",\"key\":\"00001026\",\"summary\":\"Printer on floor 3 jams\"," +
            "\"description\":\"The printer jams on every second page since Monday.\",\"status\":\"New\",\"priority\":\"High\"," +
            "\"comments\":[{\"author\":\"Ada Admin\",\"body\":\"Replaced the drum; watching it.\",\"created\":\"2026-12-01T09:30:00Z\"}]," +
            "\"fields\":{}}";

        /// <summary>The entity of a case as the retrieval job queued it: the record's id and its JSON as the API returned it.</summary>
        public static string FromQueued(ConnectionType system, string recordId, DateTimeOffset modifiedAt, string payload)
        {
            var fields = Parse(payload);
            return system == ConnectionType.Dynamics365
                ? Build(system, recordId, Text(fields, "ticketnumber"), Text(fields, "title"), StateLabel(fields), fields)
                : Build(system, recordId, Text(fields, "CaseNumber"), Text(fields, "Subject"), Text(fields, "Status"), fields);
        }

        /// <summary>The entity of a case a retrieval job read from a Salesforce org (Case) or a Dataverse environment (incident).</summary>
        public static string FromRecord(ConnectionType system, CaseRecord record)
        {
            if (record is null)
            {
                throw new ArgumentNullException(nameof(record));
            }

            return Build(system, record.Id, record.CaseNumber, record.Subject, record.Status, Parse(record.Payload));
        }

        private static JsonObject Parse(string payload) => JsonNode.Parse(payload) as JsonObject ?? new JsonObject();

        /// <summary>One shape for both systems; <paramref name="fields"/> (parsed once, by the caller) becomes <c>entity.fields</c>.</summary>
        private static string Build(ConnectionType system, string id, string? key, string? summary, string? status, JsonObject fields)
        {
            var entity = new JsonObject
            {
                ["id"] = id,
                ["key"] = key,
                ["summary"] = summary,
                ["description"] = Text(fields, system == ConnectionType.Dynamics365 ? "description" : "Description"),
                ["status"] = status,
                ["priority"] = system == ConnectionType.Dynamics365 ? DataversePriority(fields) : Text(fields, "Priority"),
                ["comments"] = Comments(system, fields),
                ["fields"] = fields,
            };
            return entity.ToJsonString();
        }

        /// <summary>
        /// The neutral priority words are Salesforce's default picklist (High, Medium, Low), so that a case's priority survives the
        /// round trip between the systems; Dataverse's prioritycode 1, 2, 3 (High, Normal, Low) maps onto them.
        /// </summary>
        internal static readonly string[] Priorities = { "High", "Medium", "Low" };

        private static string? DataversePriority(JsonObject fields) =>
            fields["prioritycode"] is JsonValue code && code.GetValueKind() == JsonValueKind.Number && code.TryGetValue<int>(out var number) && number >= 1 && number <= Priorities.Length
                ? Priorities[number - 1]
                : Text(fields, "prioritycode@OData.Community.Display.V1.FormattedValue") ?? Text(fields, "prioritycode");

        private static string? StateLabel(JsonObject fields) =>
            fields["statecode"] is JsonValue state && state.GetValueKind() == JsonValueKind.Number && state.TryGetValue<int>(out var code)
                ? DataverseCaseSource.StateLabel(code)
                : null;

        /// <summary>A scalar field as text (a string as it is, a number or boolean as its JSON), or null when absent or not a scalar.</summary>
        internal static string? Text(JsonObject fields, string name) =>
            fields.TryGetPropertyValue(name, out var value) && value is JsonValue scalar
                ? scalar.GetValueKind() == JsonValueKind.String ? scalar.GetValue<string>() : scalar.ToJsonString()
                : null;

        /// <summary>
        /// A case's comments, oldest first, as {author, body, created}. Salesforce returns them as a child relationship when the
        /// query asks for it (CaseComments.records; null when there are none); Dataverse as the expanded notes (Incident_Annotation),
        /// whose author is the formatted value of createdby when the request asked for formatted values.
        /// </summary>
        private static JsonArray Comments(ConnectionType system, JsonObject fields)
        {
            var comments = new JsonArray();
            var dataverse = system == ConnectionType.Dynamics365;
            if (fields[dataverse ? "Incident_Annotation" : "CaseComments"] is not JsonNode relation ||
                (dataverse ? relation : relation["records"]) is not JsonArray records)
            {
                return comments;
            }

            foreach (var record in records)
            {
                if (record is JsonObject comment)
                {
                    comments.Add(dataverse
                        ? new JsonObject
                        {
                            ["author"] = Text(comment, "_createdby_value@OData.Community.Display.V1.FormattedValue"),
                            ["body"] = Text(comment, "notetext"),
                            ["created"] = Text(comment, "createdon"),
                        }
                        : new JsonObject
                        {
                            ["author"] = (comment["CreatedBy"] as JsonObject) is JsonObject user ? Text(user, "Name") : null,
                            ["body"] = Text(comment, "CommentBody"),
                            ["created"] = Text(comment, "CreatedDate"),
                        });
                }
            }

            return comments;
        }
    }
}
