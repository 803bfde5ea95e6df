using System.Collections.Generic;
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

        public static string Sync(System.Guid connectionId) => $"{Prefix}/connections/{connectionId:D}/sync";
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

    /// <summary>One sync event on the wire: what the sender's outgoing rule made of one change of one case.</summary>
    public sealed class SyncEventMessage
    {
        /// <summary>A GUID made by the sender; the receiver stores each id once.</summary>
        public string EventId { get; set; } = "";

        public string TraceId { get; set; } = "";

        /// <summary>The case's id on the sender's side.</summary>
        public string CaseId { get; set; } = "";

        /// <summary>Per case, from 1: the receiver applies a case's events in this order.</summary>
        public long Sequence { get; set; }

        /// <summary>The replica: a JSON object, as text.</summary>
        public string Replica { get; set; } = "";

        /// <summary>
        /// When the sender's case is its twin of one of the receiver's own cases: that case's id on the receiver's side. The
        /// receiver then updates its own case instead of creating a new one. Absent for a case the sender made itself.
        /// </summary>
        public string? TwinCaseId { get; set; }

        /// <summary>
        /// When the sender's system last changed the case (Unix milliseconds): a field changed on both sides since their last
        /// agreement follows the later change (ties: the higher node id), the same on both sides.
        /// </summary>
        public long? ChangedAt { get; set; }

        /// <summary>
        /// The versions of the case's neutral fields as the sender counts them (a JSON object as text: per field, the changes each
        /// side made to it and when and where its value was made), or null. The receiver's merge takes a value that has seen all
        /// of its own changes, and settles two that have not seen each other by the rules, the same on both sides.
        /// </summary>
        public string? Versions { get; set; }
    }

    /// <summary>One sync round, sent by the private side: its status, the public side's events it stored, and its own events.</summary>
    public sealed class SyncRequest
    {
        public string Status { get; set; } = "";

        public List<string> Acknowledged { get; set; } = new List<string>();

        public List<SyncEventMessage> Events { get; set; } = new List<SyncEventMessage>();
    }

    /// <summary>The public side's answer: its status, the ids of the private side's events it now holds, and its own events.</summary>
    public sealed class SyncResponse
    {
        public string Status { get; set; } = "";

        public List<string> Stored { get; set; } = new List<string>();

        public List<SyncEventMessage> Events { get; set; } = new List<SyncEventMessage>();
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
