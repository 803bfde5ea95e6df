using System;
using System.Collections.Generic;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Storage
{
    /// <summary>SQL for sync rules, run inside the store's transactions.</summary>
    internal static class SyncRuleRows
    {
        /// <summary>The generated Basic-mode rules, written with the connection they belong to.</summary>
        public static void InsertBasic(StoreTransaction tx, Guid connectionId)
        {
            foreach (SyncDirection direction in Enum.GetValues(typeof(SyncDirection)))
            {
                Save(tx, connectionId, direction, BasicSyncRules.For(direction));
            }
        }

        public static void Save(StoreTransaction tx, Guid connectionId, SyncDirection direction, string script) => tx.Execute(
            "INSERT INTO sync_rules (connection_id, direction, entity, script) VALUES ($id, $direction, 'Case', $script) " +
            "ON CONFLICT(connection_id, direction, entity) DO UPDATE SET script = excluded.script;",
            ("$id", ConnectionStore.FormatId(connectionId)),
            ("$direction", direction.ToString()),
            ("$script", script));

        public static IReadOnlyList<(SyncDirection Direction, string Entity, string Script)> List(StoreSession db, Guid connectionId)
        {
            using (var command = db.Command("SELECT direction, entity, script FROM sync_rules WHERE connection_id = $id ORDER BY direction;", ("$id", ConnectionStore.FormatId(connectionId))))
            using (var reader = command.ExecuteReader())
            {
                var rules = new List<(SyncDirection, string, string)>();
                while (reader.Read())
                {
                    rules.Add((EnumText<SyncDirection>.Parse(reader.GetString(0)), reader.GetString(1), reader.GetString(2)));
                }

                return rules;
            }
        }
    }
}
