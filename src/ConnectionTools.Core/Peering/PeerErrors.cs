using System.Collections.Generic;
using ConnectionTools.Errors;

namespace ConnectionTools.Peering
{
    /// <summary>The HTTP status each refusal is sent with. Distinct codes let a proxy's log tell the failures apart.</summary>
    public static class PeerErrors
    {
        private static readonly Dictionary<string, int> StatusCodes = new Dictionary<string, int>
        {
            [ErrorIds.PeerUnknownConnection] = 404,
            [ErrorIds.PeerBadSignature] = 401,
            [ErrorIds.PeerTokenExpired] = 403,
            [ErrorIds.PeerReplay] = 409,
            [ErrorIds.PeerProtocol] = 400,
            [ErrorIds.InvitationWrongSecret] = 401,
            [ErrorIds.InvitationAlreadyUsed] = 409,
            [ErrorIds.InvitationSuperseded] = 410,
            [ErrorIds.InvitationExpired] = 410,
            [ErrorIds.InvitationConnectionRemoved] = 410,
            [ErrorIds.SyncMalformedBatch] = 400,
            [ErrorIds.SyncBatchTooLarge] = 413,
            [ErrorIds.SyncUnexpectedEvent] = 422,
        };

        public static int StatusCodeFor(string errorId) => StatusCodes.TryGetValue(errorId, out var code) ? code : 500;

        /// <summary>
        /// Whether the error is an answer to what the peer sent (its id and message go back to it); otherwise it is a problem
        /// on this node, whose details (a store path, say) are not for an unauthenticated caller.
        /// </summary>
        public static bool IsPeerRefusal(string errorId) => StatusCodes.ContainsKey(errorId);

        public static ConnectionToolsException Protocol(string why) => new ConnectionToolsException(
            ErrorIds.PeerProtocol,
            ErrorKind.InvalidData,
            $"The peer request is not valid: {why}.",
            null,
            "Both nodes must run compatible versions of ConnectionTools.");

        internal static ConnectionToolsException UnknownConnection(System.Guid id) => new ConnectionToolsException(
            ErrorIds.PeerUnknownConnection,
            ErrorKind.ObjectNotFound,
            $"The public node has no accepted private connection {id}.",
            id,
            "Check that the code or the connection belongs to this public node; it may have been created on another node.");
    }
}
