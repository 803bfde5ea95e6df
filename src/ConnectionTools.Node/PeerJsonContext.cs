using System.Text.Json.Serialization;
using ConnectionTools.Peering;

namespace ConnectionTools.Node;

/// <summary>The wire format, camelCase, matching the private side's client.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AcceptRequest))]
[JsonSerializable(typeof(AcceptResponse))]
[JsonSerializable(typeof(ExchangeMessage))]
[JsonSerializable(typeof(SyncRequest))]
[JsonSerializable(typeof(SyncResponse))]
[JsonSerializable(typeof(PeerError))]
[JsonSerializable(typeof(HealthAnswer))]
internal sealed partial class PeerJsonContext : JsonSerializerContext
{
}
