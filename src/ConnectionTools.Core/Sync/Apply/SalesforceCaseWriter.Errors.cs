using System;
using System.Collections.Generic;
using System.Text.Json;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>Salesforce case writer: reading Salesforce's error answers and turning them into errors of a case, with what to do.</summary>
    public sealed partial class SalesforceCaseWriter
    {
        private static ConnectionToolsException Refused(string partnerCaseId, List<SalesforceError> errors)
        {
            var parts = new List<string>();
            var actions = new List<string>();
            string? field = null;
            foreach (var e in errors)
            {
                var fields = e.Fields.Count > 0 ? " [" + string.Join(", ", e.Fields) + "]" : string.Empty;
                parts.Add((e.Code ?? "error") + fields + ": " + WriterChannel.Clip(e.Message));
                field ??= e.Fields.Count > 0 ? e.Fields[0] : null;
                actions.Add(ActionFor(e.Code, e.Fields.Count > 0 ? string.Join(", ", e.Fields) : "the field"));
            }

            if (parts.Count == 0)
            {
                parts.Add("no reason given");
                actions.Add("Check the case in Salesforce and the incoming rule.");
            }

            var target = field is null ? partnerCaseId : partnerCaseId + ":" + field;
            return new ConnectionToolsException(
                ErrorIds.SyncApplyRefused,
                ErrorKind.InvalidData,
                $"Salesforce refused partner case '{partnerCaseId}': {string.Join("; ", parts)}. The other cases of the batch are not affected.",
                target,
                string.Join(" ", new HashSet<string>(actions)));
        }

        private static string ActionFor(string? code, string fields)
        {
            switch (code)
            {
                case "REQUIRED_FIELD_MISSING":
                    return $"Make the incoming rule set {fields} (mapped from entity.summary, entity.description, entity.status or entity.priority) for every case.";
                case "STRING_TOO_LONG":
                    return $"Shorten {fields} in the incoming rule to the field's length in Salesforce.";
                case "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST":
                case "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST_VALUE":
                    return $"Map the partner's value of {fields} to one of the picklist's values in the incoming rule, or add the value to the picklist in Salesforce.";
                case "INVALID_FIELD_FOR_INSERT_UPDATE":
                    return $"Give the connected user edit access to {fields} (field-level security), or stop the incoming rule from setting it.";
                case "INVALID_TYPE_ON_FIELD_IN_RECORD":
                    return $"Make the incoming rule give {fields} a value of the field's type.";
                default:
                    return $"Fix {fields} in the incoming rule, or the case's setup in Salesforce (validation rules, required fields), as the message says.";
            }
        }

        private static bool Names(string? message, IReadOnlyList<string> fields, string field)
        {
            foreach (var f in fields)
            {
                if (string.Equals(f, field, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return message is not null && message.IndexOf(field, StringComparison.OrdinalIgnoreCase) >= 0;
        }

        // Whole-call errors are an array of {message, errorCode[, fields]}.
        private static SalesforceError? FirstError(string body)
        {
            try
            {
                using (var document = JsonDocument.Parse(string.IsNullOrEmpty(body) ? "null" : body))
                {
                    var root = document.RootElement;
                    var first = root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0 ? root[0] : root;
                    return first.ValueKind == JsonValueKind.Object ? SalesforceError.Read(first) : (SalesforceError?)null;
                }
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private readonly struct SalesforceError
        {
            private SalesforceError(string? code, string? message, IReadOnlyList<string> fields)
            {
                Code = code;
                Message = message;
                Fields = fields;
            }

            public string? Code { get; }

            public string? Message { get; }

            public IReadOnlyList<string> Fields { get; }

            public static SalesforceError Read(JsonElement e)
            {
                if (e.ValueKind != JsonValueKind.Object)
                {
                    return new SalesforceError(null, null, Array.Empty<string>());
                }

                var code = Text(e, "statusCode") ?? Text(e, "errorCode");
                var fields = new List<string>();
                if (e.TryGetProperty("fields", out var list) && list.ValueKind == JsonValueKind.Array)
                {
                    foreach (var f in list.EnumerateArray())
                    {
                        if (f.ValueKind == JsonValueKind.String && WriterChannel.PlainCode(f.GetString()) is { } name)
                        {
                            fields.Add(name);
                        }
                    }
                }

                return new SalesforceError(WriterChannel.PlainCode(code), Text(e, "message"), fields);
            }

            private static string? Text(JsonElement e, string name) =>
                e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        }
    }
}
