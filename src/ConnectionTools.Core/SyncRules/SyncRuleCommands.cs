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

        /// <summary>
        /// Replaces one direction's script, once it parses. Refused, naming the upgrade, while the connection is in Basic mode.
        /// With <paramref name="test"/>, nothing is saved: the script runs on a sample case and the result is written instead.
        /// </summary>
        public void Set(IEnumerable<ConnectionTarget> targets, SyncDirection direction, string script, bool passThru, bool test = false, string? sample = null) => ConnectionTargets.ForEach(_host, _node.Store, targets, target =>
        {
            var connection = ConnectionTargets.Resolve(_node.Store, target);
            if (string.IsNullOrWhiteSpace(script) || script.Length > MaxScriptLength)
            {
                throw new ConnectionToolsException(ErrorIds.SyncRuleInvalidScript, ErrorKind.InvalidArgument,
                    $"The {direction} script for '{connection.Name}' must be 1 to {MaxScriptLength} characters long.", connection.Name, null);
            }

            if (test)
            {
                EnsurePrivate(connection);
                _host.WriteObject(Test(CompiledRule.Compile(connection.Name, direction, script), sample));
                return;
            }

            EnsureEditable(connection);
            CompiledRule.Compile(connection.Name, direction, script);
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

        /// <summary>Runs <paramref name="rule"/> on a sample case (or <paramref name="sample"/>, a JSON object) in the sandbox rules run in.</summary>
        private SyncRuleTestResult Test(CompiledRule rule, string? sample)
        {
            if (RuleSandbox.MemoryLimitNote is { } note)
            {
                _host.WriteWarning(note);
            }

            var input = SampleObject(rule, sample ?? CaseEntities.Sample);
            string output;
            if (rule.Direction == SyncDirection.Outgoing)
            {
                output = RuleSandbox.RunOutgoing(rule, input, "sample");
            }
            else
            {
                // The partner's replica is the sample; the local case it lands on is the built-in sample, as on a first sync.
                output = RuleSandbox.RunIncoming(rule, CaseEntities.Sample, input, firstSync: true, "sample");
            }

            return new SyncRuleTestResult
            {
                ConnectionName = rule.ConnectionName,
                Direction = rule.Direction,
                Input = Indented(input),
                Output = Indented(output),
            };
        }

        private static string SampleObject(CompiledRule rule, string sample)
        {
            try
            {
                if (System.Text.Json.Nodes.JsonNode.Parse(sample) is System.Text.Json.Nodes.JsonObject parsed)
                {
                    return parsed.ToJsonString();
                }
            }
            catch (System.Text.Json.JsonException)
            {
            }

            throw new ConnectionToolsException(ErrorIds.SyncRuleInvalidSample, ErrorKind.InvalidArgument,
                $"The sample for testing the {rule.Direction} rule of '{rule.ConnectionName}' is not a JSON object.", rule.ConnectionName,
                "Give -Sample a JSON object, for example '{\"summary\":\"Printer jams\",\"priority\":\"High\"}', or leave it out to use the built-in sample case.");
        }

        private static string Indented(string json) =>
            System.Text.Json.Nodes.JsonNode.Parse(json)!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });

        private static void EnsurePrivate(Connection connection)
        {
            if (connection.Type != ConnectionType.Private || connection.Status == ConnectionStatus.Removed)
            {
                throw new ConnectionToolsException(ErrorIds.ConnectionModeNotOffered, ErrorKind.InvalidOperation,
                    $"Connection '{connection.Name}' ({connection.Type}, {connection.Status}) has no sync rules.", connection.Name, null);
            }
        }

        private static void EnsureEditable(Connection connection)
        {
            EnsurePrivate(connection);

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
