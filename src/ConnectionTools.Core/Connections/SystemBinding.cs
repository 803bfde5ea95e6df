using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Errors;
using ConnectionTools.Storage;

namespace ConnectionTools.Connections
{
    /// <summary>
    /// The rules of binding a private connection to the system connection whose cases it syncs (-System, system: in a configuration).
    /// An empty name unbinds: the connection then exchanges status only. Each check runs once before ShouldProcess (so -WhatIf never
    /// promises what would be refused) and again inside the transaction that writes the binding, so a system removed meanwhile is never bound.
    /// </summary>
    internal static class SystemBinding
    {
        /// <summary>What -System '' (or system: "") means: no bound system.</summary>
        public static bool IsUnbind(string systemName) => systemName.Trim().Length == 0;

        /// <summary>
        /// The live Salesforce or Dynamics 365 connection named <paramref name="systemName"/>, read in <paramref name="db"/>; null for an
        /// empty name (unbind). Anything else is refused with an error that names <paramref name="boundName"/>, the system and the fix.
        /// </summary>
        public static Connection? Resolve(StoreSession db, string systemName, string boundName)
        {
            if (IsUnbind(systemName))
            {
                return null;
            }

            var system = ConnectionRows.FindLiveByName(db, systemName.Trim());
            if (system is null)
            {
                throw new ConnectionToolsException(
                    ErrorIds.BindingSystemNotFound,
                    ErrorKind.ObjectNotFound,
                    $"Connection '{boundName}' cannot be bound to system '{systemName}': this node has no live connection of that name.",
                    boundName,
                    "Name a Salesforce or Dynamics 365 connection on this node (Get-Connection -Type SalesforceProduction, SalesforceSandbox, Dynamics365), or create it first with New-Connection.");
            }

            if (!SystemConnectionTypes.All.Contains(system.Type))
            {
                throw new ConnectionToolsException(
                    ErrorIds.BindingNotASystem,
                    ErrorKind.InvalidArgument,
                    $"Connection '{boundName}' cannot be bound to '{system.Name}': it is a {system.Type} connection, and only Salesforce and Dynamics 365 connections have cases to sync.",
                    boundName,
                    "Name a Salesforce or Dynamics 365 connection: Get-Connection -Type SalesforceProduction, SalesforceSandbox, Dynamics365");
            }

            return system;
        }

        /// <summary>Only private connections sync cases, so only they are bound.</summary>
        public static void EnsurePrivate(Connection connection)
        {
            if (connection.Type != ConnectionType.Private)
            {
                throw new ConnectionToolsException(
                    ErrorIds.BindingNotPrivate,
                    ErrorKind.InvalidArgument,
                    $"Connection '{connection.Name}' is a {connection.Type} connection; only private connections are bound to a system (-System).",
                    connection.Name,
                    "Give -System to a private connection: New-PrivateConnection, Approve-ConnectionInvitation or Set-Connection -Name <private connection> -System <system connection>.");
            }
        }

        /// <summary>
        /// Moving a bound connection to another system is allowed only while it is Paused (or still Pending): nothing is sent or applied
        /// meanwhile, and the cases already twinned stay with the old system. Binding a connection that had none, and unbinding, are allowed in any live status.
        /// </summary>
        public static void EnsureRebindAllowed(Connection current, Connection? system)
        {
            // Pending: not accepted yet, so nothing was synced and no twin exists.
            if (system is null || current.SystemConnectionId is null || current.SystemConnectionId == system.Id || current.Status == ConnectionStatus.Paused || current.Status == ConnectionStatus.Pending)
            {
                return;
            }

            throw new ConnectionToolsException(
                ErrorIds.BindingRebindNotPaused,
                ErrorKind.InvalidOperation,
                $"Connection '{current.Name}' is {current.Status} and syncs the cases of '{current.System}'; it can move to '{system.Name}' only while Paused. Cases already twinned stay with '{current.System}'.",
                current.Name,
                $"Pause it first: Suspend-Connection -Name '{current.Name}'; Set-Connection -Name '{current.Name}' -System '{system.Name}'; Resume-Connection -Name '{current.Name}'");
        }

        /// <summary><paramref name="connection"/> bound to <paramref name="system"/> (null: unbound), with the system's id and name.</summary>
        public static Connection Bind(Connection connection, Connection? system) => connection.With(c =>
        {
            c.SystemConnectionId = system?.Id;
            c.System = system?.Name;
        });

        /// <summary>True when <paramref name="connection"/> would move from one system to another (not a first binding, not an unbind).</summary>
        public static bool IsRebind(Connection connection, Connection? system) =>
            system != null && connection.SystemConnectionId != null && connection.SystemConnectionId != system.Id;

        /// <summary>What a change of binding means, for ShouldProcess and verbose messages.</summary>
        public static string Describe(Connection current, Connection? system)
        {
            if (system is null)
            {
                return $"unbind from '{current.System}': it exchanges status only, and its queued outgoing sync events are dropped";
            }

            return IsRebind(current, system)
                ? $"rebind from '{current.System}' to '{system.Name}': new case changes come from '{system.Name}'; cases already twinned stay with '{current.System}'"
                : $"bind to system '{system.Name}': it syncs the cases of '{system.Name}'";
        }

        /// <summary>
        /// Applies <paramref name="change"/> to connection <paramref name="id"/> inside <paramref name="tx"/>, with what a change of binding
        /// needs in the same transaction: a newly bound system is read again (a system removed or renamed meanwhile is never bound), and an
        /// unbind drops the connection's queued outgoing sync events and says so, with <paramref name="why"/>, in its audit entry.
        /// </summary>
        public static (ChangeOutcome Outcome, int Dropped) ChangeIn(ConnectionStore store, StoreTransaction tx, Guid id, LifecycleAction action, Func<Connection, Connection?> change, string actor, string? why)
        {
            var latest = store.FindInTransaction(tx, id) ?? throw ConnectionStore.NotFound(ConnectionStore.FormatId(id));
            var next = change(latest);
            if (next is null || next == latest)
            {
                return (store.ChangeIn(tx, id, action, _ => null, actor, null), 0);
            }

            if (next.SystemConnectionId is Guid systemId && systemId != latest.SystemConnectionId)
            {
                var system = ConnectionRows.FindById(tx, systemId);
                if (system is null || system.Status == ConnectionStatus.Removed)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.BindingSystemNotFound,
                        ErrorKind.ObjectNotFound,
                        $"Connection '{latest.Name}' cannot be bound to system '{next.System}': it was removed meanwhile. Nothing was changed.",
                        latest.Name,
                        "Name a Salesforce or Dynamics 365 connection on this node (Get-Connection -Type SalesforceProduction, SalesforceSandbox, Dynamics365).");
                }

                next = next.With(c => { c.System = system.Name; });

                // Incoming events wait while the system they would be applied to is Inactive; another system decides anew.
                SyncEventRows.HoldIncoming(tx, id, hold: system.Status == ConnectionStatus.Inactive, store.Now());
            }

            var dropped = 0;
            string? note = null;
            if (latest.SystemConnectionId != null && next.SystemConnectionId is null)
            {
                dropped = SyncEventRows.DropOutgoing(tx, id);
                note = $"{ConnectionStore.Summarize(latest, next)} ({why ?? "unbound"}); it exchanges status only; dropped {dropped} queued outgoing sync event(s)";
            }

            return (store.ChangeIn(tx, id, action, _ => next, actor, null, note: note), dropped);
        }

        /// <summary>
        /// For a connection about to be created bound to a system: that system is still live, read in the creating transaction
        /// (it may have been removed since it was resolved). Nothing to check for an unbound one.
        /// </summary>
        public static void EnsureStillLive(StoreTransaction tx, Connection connection)
        {
            if (connection.SystemConnectionId is Guid systemId && (ConnectionRows.FindById(tx, systemId) is not { } system || system.Status == ConnectionStatus.Removed))
            {
                throw new ConnectionToolsException(
                    ErrorIds.BindingSystemNotFound,
                    ErrorKind.ObjectNotFound,
                    $"Connection '{connection.Name}' cannot be bound to system '{connection.System}': it was removed meanwhile. Nothing was created.",
                    connection.Name,
                    "Name a Salesforce or Dynamics 365 connection on this node (Get-Connection -Type SalesforceProduction, SalesforceSandbox, Dynamics365).");
            }
        }

        /// <summary>Removal of a system connection that private connections are bound to, refused without -Force.</summary>
        public static ConnectionToolsException InUse(Connection system, IReadOnlyList<Connection> bound) => new ConnectionToolsException(
            ErrorIds.BindingSystemInUse,
            ErrorKind.InvalidOperation,
            $"Connection '{system.Name}' cannot be removed: {Names(bound)} sync{(bound.Count == 1 ? "s" : "")} its cases.",
            system.Name,
            $"Bind {(bound.Count == 1 ? "it" : "them")} to another system first (Set-Connection -Name '{bound[0].Name}' -System <name>, while Paused) or unbind (-System ''), " +
            $"or remove with -Force, which unbinds {(bound.Count == 1 ? "it" : "them")}: {(bound.Count == 1 ? "it keeps" : "they keep")} exchanging status, and queued outgoing sync events are dropped.");

        /// <summary>For example "private connection 'a'" or "private connections 'a', 'b' and 3 more".</summary>
        public static string Names(IReadOnlyList<Connection> bound)
        {
            const int Shown = 5;
            var names = string.Join(", ", bound.Take(Shown).Select(c => $"'{c.Name}'"));
            return (bound.Count == 1 ? "private connection " : "private connections ") + names + (bound.Count > Shown ? $" and {bound.Count - Shown} more" : "");
        }
    }
}
