using System;
using System.Collections.Generic;
using ConnectionTools.Storage;
using Microsoft.Data.Sqlite;

namespace ConnectionTools.Configuration
{
    /// <summary>The configuration_managed table (migration V5): which configuration manages which connection.</summary>
    internal static class ManagedConnections
    {
        /// <summary>Every row: connection id to configuration name.</summary>
        public static Dictionary<Guid, string> ReadAll(ConnectionStore store) => store.Read(db =>
        {
            var rows = new Dictionary<Guid, string>();
            using (var command = Sql.Command(db, null, "SELECT connection_id, configuration FROM configuration_managed;"))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    rows[Guid.Parse(reader.GetString(0))] = reader.GetString(1);
                }
            }

            return rows;
        });

        /// <summary>Records connections as managed by <paramref name="configuration"/>, in one transaction. Not audited: the connection does not change.</summary>
        public static void Record(ConnectionStore store, string configuration, IReadOnlyCollection<Guid> ids, DateTimeOffset at)
        {
            if (ids.Count == 0)
            {
                return;
            }

            store.Write((db, tx) =>
            {
                foreach (var id in ids)
                {
                    RecordIn(db, tx, configuration, id, at);
                }

                return 0;
            });
        }

        /// <summary>Records one connection as managed, inside a write transaction the caller holds (the one that creates it).</summary>
        public static void RecordIn(SqliteConnection db, SqliteTransaction tx, string configuration, Guid id, DateTimeOffset at) => Sql.Execute(
            db,
            tx,
            "INSERT INTO configuration_managed (connection_id, configuration, recorded_at) VALUES ($id, $configuration, $at) " +
            "ON CONFLICT(connection_id) DO UPDATE SET configuration = excluded.configuration, recorded_at = excluded.recorded_at;",
            ("$id", ConnectionStore.FormatId(id)),
            ("$configuration", configuration),
            ("$at", at.ToUnixTimeMilliseconds()));
    }
}
