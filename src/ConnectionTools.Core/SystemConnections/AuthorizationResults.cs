using System;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.SystemConnections
{
    /// <summary>What Test-ConnectionAuthorization and Update-ConnectionAuthorization report for each connection.</summary>
    internal static class AuthorizationResults
    {
        /// <summary>Each Inactive reason has the verdict of the same name.</summary>
        internal static AuthorizationState StateOf(InactiveReason reason) => (AuthorizationState)Enum.Parse(typeof(AuthorizationState), reason.ToString());

        /// <summary>A result for <paramref name="connection"/> as it was before the command touched it.</summary>
        internal static AuthorizationResult Start(Connection connection) => new AuthorizationResult
        {
            Name = connection.Name,
            Id = connection.Id,
            Type = connection.Type,
            StatusBefore = connection.Status,
            Status = connection.Status,
            InactiveReason = connection.InactiveReason,
            OrganizationId = connection.OrganizationId,
            AuthorizedAs = connection.AuthorizedAs,
            Flow = connection.AuthorizationFlow,
        };

        /// <summary>The verdict, the connection as it is now, and the error that explains a failure.</summary>
        internal static void Fill(AuthorizationResult result, Connection after, AuthorizationState state, ConnectionToolsException? error)
        {
            result.Result = state;
            result.Status = after.Status;
            result.InactiveReason = after.InactiveReason;
            result.OrganizationId = after.OrganizationId;
            if (error != null)
            {
                result.ErrorId = error.ErrorId;
                result.Message = error.RecommendedAction is null ? error.Message : $"{error.Message} {error.RecommendedAction}";
            }
        }
    }
}
