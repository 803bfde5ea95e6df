using System;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Storage
{
    /// <summary>The uniqueness rules a change must keep (one live connection per name and per org), and the errors about connections.</summary>
    public sealed partial class ConnectionStore
    {
        internal static ConnectionToolsException NotFound(string nameOrId) => new ConnectionToolsException(
            ErrorIds.ConnectionNotFound,
            ErrorKind.ObjectNotFound,
            $"No connection '{nameOrId}' exists on this node.",
            nameOrId,
            "Run Get-Connection to see the connections on this node (add -IncludeRemoved for removed ones).");

        internal static ConnectionToolsException Conflict(Connection yours, Connection? current) => new ConnectionToolsException(
            ErrorIds.ConnectionConflict,
            ErrorKind.InvalidOperation,
            current is null
                ? $"Connection '{yours.Name}' was changed by someone else while this change was being made. Nothing was changed."
                : $"Connection '{yours.Name}' was changed by {current.ModifiedBy} at {current.ModifiedAt:u} after you read it (your copy is version {yours.Version}, the store has version {current.Version}). Nothing was changed.",
            yours.Name,
            "Get the connection again (Get-Connection) and repeat the change if it still applies.");

        internal static ConnectionToolsException NameInUse(Connection existing, string requestedName) => new ConnectionToolsException(
            ErrorIds.ConnectionNameInUse,
            ErrorKind.ResourceExists,
            $"A connection named '{existing.Name}' already exists (id {existing.Id}, status {existing.Status}). Names are unique on a node, regardless of case.",
            requestedName,
            "Choose another name, or rename or remove the existing connection first.");

        internal static ConnectionToolsException OrganizationInUse(Connection existing, string organizationId) => new ConnectionToolsException(
            ErrorIds.ConnectionOrganizationInUse,
            ErrorKind.ResourceExists,
            $"Organization {organizationId} is already connected on this node by '{existing.Name}' (id {existing.Id}, status {existing.Status}). An org can be connected only once per node. Nothing was saved.",
            existing.Name,
            $"Use the existing connection (re-authorize it with Update-ConnectionAuthorization -Name '{existing.Name}'), or remove it first with Remove-Connection -Name '{existing.Name}'.");

        private static void EnsureNameFree(StoreTransaction tx, string name, Guid id)
        {
            var existing = ConnectionRows.FindLiveByName(tx, name);
            if (existing != null && existing.Id != id)
            {
                throw NameInUse(existing, name);
            }
        }

        private static void EnsureOrganizationFree(StoreTransaction tx, string? organizationId, Guid id)
        {
            var existing = organizationId is null ? null : ConnectionRows.FindLiveByOrganization(tx, organizationId);
            if (existing != null && existing.Id != id)
            {
                throw OrganizationInUse(existing, organizationId!);
            }
        }
    }
}
