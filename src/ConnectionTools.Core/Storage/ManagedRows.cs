using System;
using System.Collections.Generic;

namespace ConnectionTools.Storage
{
    /// <summary>SQL for the configuration_managed table (migration V5): which configuration manages which connection.</summary>
    internal static class ManagedRows
    {
        /// <summary>Every row: connection id to configuration name.</summary>
        public static Dictionary<Guid, string> All(StoreSession db)
        {
            var rows = new Dictionary<Guid, string>();
            using (var command = db.Command("SELECT connection_id, configuration FROM configuration_managed;"))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    rows[Guid.Parse(reader.GetString(0))] = reader.GetString(1);
                }
            }

            return rows;
        }

        public static void Record(StoreTransaction tx, string configuration, Guid id, DateTimeOffset at) => tx.Execute(
            "INSERT INTO configuration_managed (connection_id, configuration, recorded_at) VALUES ($id, $configuration, $at) " +
            "ON CONFLICT(connection_id) DO UPDATE SET configuration = excluded.configuration, recorded_at = excluded.recorded_at;",
            ("$id", ConnectionStore.FormatId(id)),
            ("$configuration", configuration),
            ("$at", at.ToUnixTimeMilliseconds()));
    }
}
