using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.SystemConnections
{
    /// <summary>
    /// Which system connections have a grant to test or renew, how they are selected, and how a refused grant makes one
    /// Inactive. Shared by the commands and the retrieval job.
    /// </summary>
    internal static class SystemConnectionLifecycle
    {
        /// <summary>The statuses in which a system connection holds a grant: what "every system connection" means to Test-ConnectionAuthorization.</summary>
        internal static readonly IReadOnlyList<ConnectionStatus> WithGrant = new[] { ConnectionStatus.Active, ConnectionStatus.Paused, ConnectionStatus.Inactive };

        /// <summary>The system connections in any of <paramref name="statuses"/>, as targets.</summary>
        internal static IReadOnlyList<ConnectionTarget> SelectByStatus(ConnectionNode node, IEnumerable<ConnectionStatus> statuses) =>
            node.Store.List(new ConnectionFilter { Statuses = statuses.ToList(), Types = SystemConnectionTypes.All })
                .Select(ConnectionTarget.ByObject)
                .ToList();

        /// <summary>
        /// The system connections <paramref name="targets"/> name, each once. A private connection named outright, or one
        /// without a grant, is that target's error; a pattern passes over private connections.
        /// </summary>
        internal static List<Connection> Resolve(ConnectionNode node, IHostContext host, IEnumerable<ConnectionTarget> targets)
        {
            var connections = new List<Connection>();
            var seen = new HashSet<Guid>();
            ConnectionTargets.ForEach(host, node.Store, targets, target =>
            {
                var connection = ConnectionTargets.Resolve(node.Store, target);
                if (connection.Type == ConnectionType.Private && target.Pattern != null)
                {
                    // A pattern selects among the connections that have a grant, as no -Name at all does.
                    host.WriteVerbose($"'{connection.Name}' matches '{target.Pattern}' but is a private connection, which has no grant; skipped.");
                    return;
                }

                if (connection.Type == ConnectionType.Private)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.AuthorizationNotSystemConnection,
                        ErrorKind.InvalidArgument,
                        $"'{connection.Name}' is a private connection to a peer node; it has no OAuth grant to test or renew.",
                        connection.Name,
                        "Private connections are authorized by their invitation. Use Sync-Connection to check the peer.");
                }

                if (connection.Status == ConnectionStatus.Removed || connection.Status == ConnectionStatus.Pending)
                {
                    throw NotAuthorizable(connection);
                }

                if (seen.Add(connection.Id))
                {
                    connections.Add(connection);
                }
            });
            return connections;
        }

        internal static ConnectionToolsException NotAuthorizable(Connection connection) => new ConnectionToolsException(
            ErrorIds.ConnectionIllegalTransition,
            ErrorKind.InvalidOperation,
            $"Connection '{connection.Name}' is {connection.Status}; only Active, Paused and Inactive connections have a grant.",
            connection.Name,
            connection.Status == ConnectionStatus.Removed ? "Create a new connection to the org with New-Connection; it reuses the removed one's settings." : "Wait for the connection to be accepted.");

        /// <summary>Where a stored connection signs in: its kind, cloud and instance URL.</summary>
        internal static SystemTarget TargetOf(Connection connection) => new SystemTarget(
            connection.Type,
            connection.EnvironmentType ?? EnvironmentType.Public,
            connection.InstanceUri ?? throw new ConnectionToolsException(ErrorIds.AuthorizationNoGrant, ErrorKind.InvalidData, $"Connection '{connection.Name}' has no instance URL.", connection.Name, "Remove it and create it again with New-Connection."));

        /// <summary>Inactive with the reason, from Active or Paused; an Inactive connection takes the newer reason. Its job goes to Holding.</summary>
        internal static Connection Deactivate(ConnectionNode node, Connection connection, InactiveReason reason, string providerSaid)
        {
            var outcome = node.Store.Change(
                connection.Id,
                LifecycleAction.Deactivate,
                latest =>
                {
                    if (latest.Status == ConnectionStatus.Removed || latest.Status == ConnectionStatus.Pending)
                    {
                        return null;
                    }

                    return latest.Status == ConnectionStatus.Inactive && latest.InactiveReason == reason
                        ? null
                        : latest.With(c => { c.Status = ConnectionStatus.Inactive; c.InactiveReason = reason; });
                },
                node.ActorName,
                (tx, after) => SyncEventRows.HoldIncomingOf(tx, after.Id, hold: true, node.Clock()),
                note: $"Status: {connection.Status} -> Inactive ({reason}): {providerSaid}");
            return outcome.After;
        }
    }
}
