using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Errors;

namespace ConnectionTools.Connections
{
    /// <summary>
    /// The one place that says which status changes are legal. Everything that changes a status asks here first.
    /// </summary>
    public static class Lifecycle
    {
        private sealed class Rule
        {
            public Rule(ConnectionStatus target, params ConnectionStatus[] from)
            {
                Target = target;
                From = from;
            }

            public ConnectionStatus Target { get; }

            public ConnectionStatus[] From { get; }
        }

        private static readonly Dictionary<LifecycleAction, Rule> Rules = new Dictionary<LifecycleAction, Rule>
        {
            [LifecycleAction.Accept] = new Rule(ConnectionStatus.Active, ConnectionStatus.Pending),
            // Not from Inactive: a later Resume would make it Active without the re-authorization it needs.
            [LifecycleAction.Suspend] = new Rule(ConnectionStatus.Paused, ConnectionStatus.Active),
            [LifecycleAction.Resume] = new Rule(ConnectionStatus.Active, ConnectionStatus.Paused),
            [LifecycleAction.Deactivate] = new Rule(ConnectionStatus.Inactive, ConnectionStatus.Active, ConnectionStatus.Paused),
            [LifecycleAction.Reauthorize] = new Rule(ConnectionStatus.Active, ConnectionStatus.Inactive),
            [LifecycleAction.Remove] = new Rule(ConnectionStatus.Removed, ConnectionStatus.Pending, ConnectionStatus.Active, ConnectionStatus.Paused, ConnectionStatus.Inactive),
        };

        /// <summary>The status an action leads to.</summary>
        public static ConnectionStatus TargetOf(LifecycleAction action) => RuleFor(action).Target;

        /// <summary>True when the connection already is where the action leads, so the action changes nothing.</summary>
        public static bool IsNoOp(ConnectionStatus current, LifecycleAction action) => RuleFor(action).Target == current;

        public static bool IsAllowed(ConnectionStatus current, LifecycleAction action) => Array.IndexOf(RuleFor(action).From, current) >= 0;

        /// <summary>The actions that change a connection in <paramref name="current"/> status.</summary>
        public static IReadOnlyList<LifecycleAction> AllowedFrom(ConnectionStatus current) =>
            Rules.Where(r => Array.IndexOf(r.Value.From, current) >= 0).Select(r => r.Key).ToList();

        /// <summary>
        /// Returns the status the action leads to, or null when the connection is already there (a no-op).
        /// Throws the IllegalTransition error, naming the current status and what is allowed, for anything else.
        /// </summary>
        public static ConnectionStatus? Decide(Connection connection, LifecycleAction action)
        {
            var rule = RuleFor(action);
            if (rule.Target == connection.Status)
            {
                return null;
            }

            if (Array.IndexOf(rule.From, connection.Status) >= 0)
            {
                return rule.Target;
            }

            throw IllegalTransition(connection, action, rule);
        }

        private static Rule RuleFor(LifecycleAction action) =>
            Rules.TryGetValue(action, out var rule) ? rule : throw new ArgumentOutOfRangeException(nameof(action), action, "Not a status change.");

        private static ConnectionToolsException IllegalTransition(Connection connection, LifecycleAction action, Rule rule)
        {
            var allowedFromHere = AllowedFrom(connection.Status);
            var message =
                $"Cannot {Verb(action)} connection '{connection.Name}': its status is {connection.Status}. " +
                $"{action} is allowed only when the status is {JoinOr(rule.From.Select(s => s.ToString()))}. " +
                (allowedFromHere.Count == 0
                    ? $"A {connection.Status} connection cannot change any more."
                    : $"From {connection.Status} the allowed actions are: {string.Join(", ", allowedFromHere)}.");
            return new ConnectionToolsException(
                ErrorIds.ConnectionIllegalTransition,
                ErrorKind.InvalidOperation,
                message,
                connection.Name,
                Hint(connection, action));
        }

        private static string? Hint(Connection connection, LifecycleAction action)
        {
            switch (connection.Status)
            {
                case ConnectionStatus.Inactive when action == LifecycleAction.Resume || action == LifecycleAction.Suspend:
                    return $"An inactive connection becomes active again when it is re-authorized: Update-ConnectionAuthorization -Name '{connection.Name}'.";
                case ConnectionStatus.Pending:
                    return "A pending connection becomes active when its invitation is accepted on the other side (Approve-ConnectionInvitation), or it can be removed.";
                case ConnectionStatus.Removed:
                    return "A removed connection is kept only for its history. Create a new connection instead.";
                default:
                    return null;
            }
        }

        private static string Verb(LifecycleAction action) => action.ToString().ToLowerInvariant();

        private static string JoinOr(IEnumerable<string> items)
        {
            var list = items.ToList();
            return list.Count <= 1 ? string.Join("", list) : string.Join(", ", list.Take(list.Count - 1)) + " or " + list[list.Count - 1];
        }
    }
}
