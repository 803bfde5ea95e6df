using System;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;

namespace ConnectionTools.Sync.Apply
{
    /// <summary>The incident alternate key that matches partner cases: checked before sync starts, and named when it is missing.</summary>
    public sealed partial class DataverseCaseWriter
    {
        /// <summary>
        /// Reads incident's alternate keys and checks that one is on <see cref="AlternateKey"/> alone and active. Null when so;
        /// otherwise the <see cref="ErrorIds.SyncApplyMissingExternalId"/> error (returned, not thrown). Throws when Dataverse cannot be asked.
        /// </summary>
        public async Task<ConnectionToolsException?> CheckAsync(CancellationToken cancellationToken)
        {
            const string What = "the incident alternate keys";
            var answer = await _channel.SendAsync(
                _ => WithOData(new HttpRequestMessage(HttpMethod.Get, new Uri(Root, ApiPath + "EntityDefinitions(LogicalName='incident')/Keys"))),
                What,
                idempotent: true,
                cancellationToken).ConfigureAwait(false);
            if (!answer.IsSuccess)
            {
                var (code, message) = ReadError(answer.Body);
                throw _channel.Failed(What, answer.Status, code, message is null ? null : WriterChannel.Clip(message));
            }

            try
            {
                using (var document = JsonDocument.Parse(answer.Body))
                {
                    if (!document.RootElement.TryGetProperty("value", out var keys) || keys.ValueKind != JsonValueKind.Array)
                    {
                        throw _channel.Malformed(What, "it has no 'value' array");
                    }

                    foreach (var key in keys.EnumerateArray())
                    {
                        if (key.ValueKind != JsonValueKind.Object || !key.TryGetProperty("KeyAttributes", out var attributes) ||
                            attributes.ValueKind != JsonValueKind.Array || attributes.GetArrayLength() != 1 ||
                            !string.Equals(attributes[0].ValueKind == JsonValueKind.String ? attributes[0].GetString() : null, AlternateKey, StringComparison.OrdinalIgnoreCase))
                        {
                            continue;
                        }

                        var status = key.TryGetProperty("EntityKeyIndexStatus", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
                        return status is null || status == "Active" ? null : MissingExternalId($"its index is {WriterChannel.PlainCode(status) ?? "not active"}");
                    }

                    return MissingExternalId("incident has no alternate key on that column alone");
                }
            }
            catch (JsonException)
            {
                throw _channel.Malformed(What, "it is not valid JSON");
            }
            catch (InvalidOperationException)
            {
                throw _channel.Malformed(What, "a key has an unexpected type");
            }
        }

        private ConnectionToolsException MissingExternalId(string why) => new ConnectionToolsException(
            ErrorIds.SyncApplyMissingExternalId,
            ErrorKind.InvalidOperation,
            $"Dataverse has no usable alternate key '{AlternateKey}' on incident ({why}). Partner cases are matched by it, so none can be written.",
            Root.Host,
            $"In Power Apps (make.powerapps.com) > Tables > Case (incident): add a Text column {AlternateKey} (max length 100), then under Keys add a key " +
            $"on that column alone; wait until the key's index is Active, then run the sync again.");
    }
}
