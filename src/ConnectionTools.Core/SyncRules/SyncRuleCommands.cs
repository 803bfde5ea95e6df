using System;
using System.Collections.Generic;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.SyncRules
{
    /// <summary>Reading and editing a private connection's sync rules. Basic mode's generated rules are read-only.</summary>
    public sealed class SyncRuleCommands
    {
        public const int MaxScriptLength = 64 * 1024;

        private readonly ConnectionNode _node;
        private readonly IHostContext _host;

        public SyncRuleCommands(ConnectionNode node, IHostContext host)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
        }

        public void Get(IEnumerable<ConnectionTarget> targets) => ConnectionTargets.ForEach(_host, _node.Store, targets, target => Write(ConnectionTargets.Resolve(_node.Store, target), null));

        /// <summary>Writes the connection's rules: every direction, or only <paramref name="only"/>.</summary>
        private void Write(Connection connection, SyncDirection? only)
        {
            foreach (var (direction, entity, script) in _node.Store.Read(db => SyncRuleRows.List(db, connection.Id)))
            {
                if (only != null && direction != only)
                {
                    continue;
                }

                _host.WriteObject(new SyncRule
                {
                    ConnectionId = connection.Id,
                    ConnectionName = connection.Name,
                    Direction = direction,
                    Entity = entity,
                    Script = script,
                    Editable = connection.Mode == PrivateConnectionMode.Script,
                });
            }
        }

        /// <summary>Replaces one direction's script. Refused, naming the upgrade, while the connection is in Basic mode.</summary>
        public void Set(IEnumerable<ConnectionTarget> targets, SyncDirection direction, string script, bool passThru) => ConnectionTargets.ForEach(_host, _node.Store, targets, target =>
        {
            var connection = ConnectionTargets.Resolve(_node.Store, target);
            EnsureEditable(connection);
            if (string.IsNullOrWhiteSpace(script) || script.Length > MaxScriptLength)
            {
                throw new ConnectionToolsException(ErrorIds.SyncRuleInvalidScript, ErrorKind.InvalidArgument,
                    $"The {direction} script for '{connection.Name}' must be 1 to {MaxScriptLength} characters long.", connection.Name, null);
            }

            if (!_host.ShouldProcess($"Connection '{connection.Name}'", $"Replace its {direction} sync rule for cases"))
            {
                return;
            }

            var outcome = _node.Store.Change(
                connection.Id,
                LifecycleAction.EditSyncRule,
                latest =>
                {
                    EnsureEditable(latest);
                    return latest;
                },
                _node.ActorName,
                (tx, _) => SyncRuleRows.Save(tx, connection.Id, direction, script),
                always: true,
                note: $"{direction} sync rule for cases replaced");
            _host.WriteVerbose($"Replaced the {direction} sync rule of '{outcome.After.Name}'.");
            if (passThru)
            {
                // The rule that was changed, as it is now; Get-ConnectionSyncRule shows both.
                Write(outcome.After, direction);
            }
        });

        private static void EnsureEditable(Connection connection)
        {
            if (connection.Type != ConnectionType.Private || connection.Status == ConnectionStatus.Removed)
            {
                throw new ConnectionToolsException(ErrorIds.ConnectionModeNotOffered, ErrorKind.InvalidOperation,
                    $"Connection '{connection.Name}' ({connection.Type}, {connection.Status}) has no editable sync rules.", connection.Name, null);
            }

            if (connection.Mode != PrivateConnectionMode.Script)
            {
                throw new ConnectionToolsException(ErrorIds.SyncRuleReadOnlyInBasicMode, ErrorKind.InvalidOperation,
                    $"The sync rules of '{connection.Name}' are generated in Basic mode and cannot be edited.",
                    connection.Name,
                    $"Upgrade the connection to Script mode first (one way): Set-Connection -Name '{connection.Name}' -Mode Script");
            }
        }
    }
}
