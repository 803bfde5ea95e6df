using System;
using System.Collections.Generic;
using System.Text.Json;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.SystemConnections
{
    /// <summary>
    /// The grants of system connections: serialized and encrypted here, and every store write that keeps one, together with
    /// the connection row it belongs to. Every store callback of the split SystemConnectionCommands is here; GrantRefresh's
    /// claim rows are the only others in SystemConnections/.
    /// </summary>
    internal static class GrantVault
    {
        private static readonly JsonSerializerOptions GrantJson = new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

        internal static byte[] Protect(ConnectionNode node, GrantMaterial grant) => node.Secrets.Protect(JsonSerializer.SerializeToUtf8Bytes(grant, GrantJson));

        internal static GrantMaterial Unprotect(ConnectionNode node, byte[] protectedGrant) =>
            JsonSerializer.Deserialize<GrantMaterial>(node.Secrets.Unprotect(protectedGrant), GrantJson) ?? new GrantMaterial();

        /// <summary>The store keeps milliseconds; a snapshot with finer times would not equal what is read back.</summary>
        internal static DateTimeOffset StoreTime(DateTimeOffset at) => DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds());

        internal static GrantMaterial? ReadOrNull(ConnectionNode node, Connection connection)
        {
            var protectedGrant = node.Store.Read(db => GrantRows.Find(db, connection.Id));
            return protectedGrant is null ? null : Unprotect(node, protectedGrant);
        }

        /// <summary>Every stored grant, still encrypted, by connection id: one scan for connections as code.</summary>
        internal static Dictionary<Guid, byte[]> ReadAllProtected(ConnectionNode node) => node.Store.Read(GrantRows.All);

        /// <summary>A new system connection with its grant and its retrieval job, in one transaction.</summary>
        internal static Connection Create(ConnectionNode node, Connection connection, byte[] grant, DateTimeOffset now) =>
            node.Store.Create(connection, node.ActorName, tx =>
            {
                GrantRows.Save(tx, connection.Id, grant, now);
                JobRows.Create(tx, connection, now);
            });

        /// <summary>Stores a new grant from a sign-in; an Inactive connection becomes Active and the node's hooks run in the same transaction.</summary>
        internal static Connection SaveReauthorization(ConnectionNode node, Connection connection, AuthorizationOutcome outcome, AuthorizationFlow flow)
        {
            var now = StoreTime(node.Clock());
            var grant = Protect(node, outcome.Grant);
            var change = node.Store.Change(
                connection.Id,
                LifecycleAction.Reauthorize,
                latest =>
                {
                    if (latest.Status == ConnectionStatus.Removed || latest.Status == ConnectionStatus.Pending)
                    {
                        throw SystemConnectionLifecycle.NotAuthorizable(latest);
                    }

                    return latest.With(c =>
                    {
                        c.Status = latest.Status == ConnectionStatus.Inactive ? ConnectionStatus.Active : latest.Status;
                        c.InactiveReason = null;
                        c.OrganizationId = outcome.OrganizationId;
                        c.AuthorizedAs = outcome.AuthorizedAs;
                        c.AuthorizedAt = now;
                        c.AuthorizationFlow = flow;

                        // Salesforce: the org's URL is the one its token answer names (instance_url); an org's My Domain can
                        // change, and only its id is pinned.
                        if (latest.Type != ConnectionType.Dynamics365 && outcome.Grant.ApiUrl is Uri api &&
                            !string.Equals(api.GetLeftPart(UriPartial.Authority), latest.InstanceUri?.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
                        {
                            c.InstanceUri = new Uri(api.GetLeftPart(UriPartial.Authority) + "/");
                        }
                    });
                },
                node.ActorName,
                (tx, after) =>
                {
                    GrantRows.Save(tx, after.Id, grant, now);
                    GrantRows.ResetRefresh(tx, after.Id);
                    if (connection.Status == ConnectionStatus.Inactive && after.Status == ConnectionStatus.Active)
                    {
                        // Incoming sync events held while the system could not be written to are released, in their order.
                        SyncEventRows.HoldIncomingOf(tx, after.Id, hold: false, node.Clock());
                        foreach (var hook in node.OnReauthorized)
                        {
                            hook(tx, after);
                        }
                    }
                },
                always: true);
            return change.After;
        }

        /// <summary>A refresh may rotate the refresh token or renew MSAL's cache; keep what the provider returned.</summary>
        internal static void SaveRefreshed(ConnectionNode node, Connection connection, GrantMaterial before, GrantMaterial after)
        {
            if (before.RefreshToken == after.RefreshToken && before.TokenCache == after.TokenCache)
            {
                return;
            }

            var grant = Protect(node, after);
            node.Store.Write(tx =>
            {
                // A connection removed meanwhile has no grant any more, and must not get one back. This runs after the refresh
                // claim is let go: when another process has since stored a newer refresh token (rotation), this older one
                // must not replace it, or the next refresh presents a used-up token and the provider revokes the grant.
                if (GrantRows.Find(tx, connection.Id) is { } stored
                    && Unprotect(node, stored).RefreshToken is var current
                    && (current == before.RefreshToken || current == after.RefreshToken))
                {
                    GrantRows.Save(tx, connection.Id, grant, node.Clock());
                }

                return 0;
            });
        }
    }
}
