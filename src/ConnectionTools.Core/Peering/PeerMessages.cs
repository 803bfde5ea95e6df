using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConnectionTools.Peering
{
    /// <summary>The versioned path prefix of every peer endpoint.</summary>
    public static class PeerPaths
    {
        public const string Prefix = "/connectiontools/v1";
        public const string Accept = Prefix + "/invitations/accept";

        public static string Exchange(System.Guid connectionId) => $"{Prefix}/connections/{connectionId:D}/exchange";
    }

    internal static class PeerJson
    {
        public static readonly JsonSerializerOptions Options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
    }

    public sealed class TokenClaims
    {
        [JsonPropertyName("iss")]
        public string Issuer { get; set; } = "";

        [JsonPropertyName("aud")]
        public string Audience { get; set; } = "";

        [JsonPropertyName("cid")]
        public string ConnectionId { get; set; } = "";

        [JsonPropertyName("iat")]
        public long IssuedAt { get; set; }

        [JsonPropertyName("exp")]
        public long ExpiresAt { get; set; }

        [JsonPropertyName("jti")]
        public string TokenId { get; set; } = "";
    }

    /// <summary>Who a node is, as it tells its peer.</summary>
    public sealed class PeerNodeDescription
    {
        public string NodeId { get; set; } = "";

        public string Version { get; set; } = "";

        public string InstanceName { get; set; } = "";
    }

    public sealed class AcceptRequest
    {
        public string ConnectionId { get; set; } = "";

        /// <summary>The invitation's one-time secret, base64url. Sent once, over HTTPS (or loopback), and checked against the stored verifier.</summary>
        public string Secret { get; set; } = "";

        public PeerNodeDescription Node { get; set; } = new PeerNodeDescription();
    }

    public sealed class AcceptResponse
    {
        public string ConnectionId { get; set; } = "";

        public string Name { get; set; } = "";

        public string Mode { get; set; } = "";

        public PeerNodeDescription Node { get; set; } = new PeerNodeDescription();
    }

    public sealed class ExchangeMessage
    {
        /// <summary>The sender's own status of the connection: Active, Paused or Removed.</summary>
        public string Status { get; set; } = "";
    }

    public sealed class PeerError
    {
        public string ErrorId { get; set; } = "";

        public string Message { get; set; } = "";

        public string? RecommendedAction { get; set; }

        /// <summary>The error's category on the public side, so the private side reports the same one.</summary>
        public string? Kind { get; set; }

        /// <summary>Set when the refusal itself tells the peer something, such as that the connection was removed.</summary>
        public string? Status { get; set; }
    }
}
