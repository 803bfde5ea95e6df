using System;
using System.Collections.Generic;
using System.Text.Json;

namespace ConnectionTools.Connections
{
    /// <summary>One change to a connection: who, when, what, and the state before and after. The audit is append-only.</summary>
    public sealed class AuditEntry
    {
        internal AuditEntry(long sequence, Guid connectionId, string connectionName, DateTimeOffset at, string actor, LifecycleAction action, string summary, string beforeJson, string afterJson)
        {
            Sequence = sequence;
            ConnectionId = connectionId;
            ConnectionName = connectionName;
            At = at;
            Actor = actor;
            Action = action;
            Summary = summary;
            BeforeJson = beforeJson;
            AfterJson = afterJson;
            Before = ParseState(beforeJson);
            After = ParseState(afterJson);
        }

        public long Sequence { get; }

        public Guid ConnectionId { get; }

        /// <summary>The connection's name after the change (before it, for a removal).</summary>
        public string ConnectionName { get; }

        public DateTimeOffset At { get; }

        public string Actor { get; }

        public LifecycleAction Action { get; }

        /// <summary>What changed, in words, for example <c>Status: Active -&gt; Paused</c>.</summary>
        public string Summary { get; }

        /// <summary>
        /// The connection before the change, property by property (<c>$entry.Before.Status</c>); null for a creation. Keys are
        /// the connection's property names, compared without regard to case.
        /// </summary>
        public IReadOnlyDictionary<string, object?>? Before { get; }

        /// <summary>The connection after the change, property by property (<c>$entry.After.Status</c>).</summary>
        public IReadOnlyDictionary<string, object?>? After { get; }

        /// <summary>The state before the change as stored, in JSON; empty for a creation.</summary>
        public string BeforeJson { get; }

        /// <summary>The state after the change as stored, in JSON.</summary>
        public string AfterJson { get; }

        public override string ToString() => $"{At:u} {ConnectionName} {Action}: {Summary}";

        /// <summary>A JSON object as a dictionary of strings, numbers, booleans and nulls, keyed by PascalCase names; null when empty or not an object.</summary>
        internal static IReadOnlyDictionary<string, object?>? ParseState(string json)
        {
            if (string.IsNullOrWhiteSpace(json))
            {
                return null;
            }

            try
            {
                using var document = JsonDocument.Parse(json);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return null;
                }

                var state = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    var name = property.Name.Length == 0 ? property.Name : char.ToUpperInvariant(property.Name[0]) + property.Name.Substring(1);
                    state[name] = ValueOf(property.Value);
                }

                return state;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private static object? ValueOf(JsonElement value)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.String:
                    return value.GetString();
                case JsonValueKind.Number:
                    return value.TryGetInt64(out var whole) ? whole : (object)value.GetDouble();
                case JsonValueKind.True:
                    return true;
                case JsonValueKind.False:
                    return false;
                case JsonValueKind.Null:
                case JsonValueKind.Undefined:
                    return null;
                default:
                    return value.GetRawText();
            }
        }
    }
}
