using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>Salesforce case writer: the check before sync starts (external id field, permissions) and its errors.</summary>
    public sealed partial class SalesforceCaseWriter
    {
        /// <summary>
        /// Reads Case's describe and checks that <see cref="ExternalIdField"/> exists and is an External ID field, and that the
        /// connected user may create and edit cases and write that field (object permissions and field-level security, as the
        /// describe says them for that user). Null when all hold; otherwise, returned (not thrown), the
        /// <see cref="ErrorIds.SyncApplyMissingExternalId"/> error or, when only permissions are missing, the
        /// <see cref="ErrorIds.SyncApplyNoWriteAccess"/> error naming each one. Throws when the org cannot be asked.
        /// </summary>
        public async Task<ConnectionToolsException?> CheckAsync(CancellationToken cancellationToken)
        {
            const string What = "the Case describe";
            var answer = await _channel.SendAsync(
                _ => new HttpRequestMessage(HttpMethod.Get, new Uri(Root, $"/services/data/{ApiVersion}/sobjects/Case/describe")),
                What,
                idempotent: true,
                cancellationToken).ConfigureAwait(false);
            if (!answer.IsSuccess)
            {
                throw _channel.Failed(What, answer.Status, FirstError(answer.Body)?.Code, null);
            }

            try
            {
                using (var document = JsonDocument.Parse(answer.Body))
                {
                    if (!document.RootElement.TryGetProperty("fields", out var fields) || fields.ValueKind != JsonValueKind.Array)
                    {
                        throw _channel.Malformed(What, "it has no 'fields' array");
                    }

                    foreach (var field in fields.EnumerateArray())
                    {
                        if (field.ValueKind == JsonValueKind.Object && field.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String &&
                            string.Equals(name.GetString(), ExternalIdField, StringComparison.OrdinalIgnoreCase))
                        {
                            var external = field.TryGetProperty("externalId", out var flag) && flag.ValueKind == JsonValueKind.True;
                            if (!external)
                            {
                                return MissingExternalId("it exists on Case but is not marked External ID");
                            }

                            // Only a flag that says false refuses: the describe of a user always carries them.
                            var missing = new List<string>();
                            if (Denied(document.RootElement, "createable"))
                            {
                                missing.Add("create Case records");
                            }

                            if (Denied(document.RootElement, "updateable"))
                            {
                                missing.Add("edit Case records");
                            }

                            if (Denied(field, "createable") || Denied(field, "updateable"))
                            {
                                missing.Add($"edit the field {ExternalIdField} (field-level security makes it read-only)");
                            }

                            return missing.Count == 0 ? null : NoWriteAccess(missing);
                        }
                    }

                    // A field the user may not read is left out of the describe as if it did not exist.
                    return MissingExternalId("Case has no such field, or the connected user may not see it");
                }
            }
            catch (JsonException)
            {
                throw _channel.Malformed(What, "it is not valid JSON");
            }
        }

        private static bool Denied(JsonElement element, string flag) =>
            element.TryGetProperty(flag, out var value) && value.ValueKind == JsonValueKind.False;

        private ConnectionToolsException NoWriteAccess(List<string> missing) => new ConnectionToolsException(
            ErrorIds.SyncApplyNoWriteAccess,
            ErrorKind.PermissionDenied,
            $"The connected user of Salesforce may not {string.Join(", nor ", missing)}. Partner cases are written as that user, so none can be written.",
            Root.Host,
            "In Salesforce Setup, give the connected user's profile or a permission set Read, Create and Edit on Cases, and Edit access to the field " +
            $"{ExternalIdField} (Object Manager > Case > Fields & Relationships > {ExternalIdField} > Set Field-Level Security); then run Test-ConnectionSync again.");

        private ConnectionToolsException MissingExternalId(string why) => new ConnectionToolsException(
            ErrorIds.SyncApplyMissingExternalId,
            ErrorKind.InvalidOperation,
            $"Salesforce has no usable external id field '{ExternalIdField}' on Case ({why}). Partner cases are matched by it, so none can be written.",
            Root.Host,
            $"In Salesforce Setup > Object Manager > Case > Fields & Relationships, create a Text(255) field with the API name {ExternalIdField}, " +
            "marked External ID and Unique (case-insensitive), and give the connected user edit access to it; then run the sync again.");
    }
}
