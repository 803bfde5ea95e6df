using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Invitations;
using System.Data.Common;

namespace ConnectionTools.Storage
{
    /// <summary>SQL for the connections table, and the mapping between its rows and <see cref="Connection"/>.</summary>
    internal static class ConnectionRows
    {
        private const string Columns = "id, name, description, type, status, inactive_reason, created_at, created_by, modified_at, modified_by, removed_at, version, " +
            "mode, side, local_instance, remote_instance, peer_node_id, peer_node_version, peer_url, peer_status, last_exchange_at, invitation_expires_at, " +
            "instance_url, environment_type, organization_id, authorized_as, authorized_at, authorization_flow, retrieval_interval_seconds, " +
            // Which optional columns hold a value, as one bit each (bit n is column 12 + n; then inactive_reason, removed_at):
            // one native call per row instead of one per column, on the hot path of every listing.
            "((mode IS NOT NULL) << 0) | ((side IS NOT NULL) << 1) | ((local_instance IS NOT NULL) << 2) | ((remote_instance IS NOT NULL) << 3) | ((peer_node_id IS NOT NULL) << 4) | ((peer_node_version IS NOT NULL) << 5) | ((peer_url IS NOT NULL) << 6) | ((peer_status IS NOT NULL) << 7) | ((last_exchange_at IS NOT NULL) << 8) | ((invitation_expires_at IS NOT NULL) << 9) | ((instance_url IS NOT NULL) << 10) | ((environment_type IS NOT NULL) << 11) | ((organization_id IS NOT NULL) << 12) | ((authorized_as IS NOT NULL) << 13) | ((authorized_at IS NOT NULL) << 14) | ((authorization_flow IS NOT NULL) << 15) | ((retrieval_interval_seconds IS NOT NULL) << 16) | ((inactive_reason IS NOT NULL) << 17) | ((removed_at IS NOT NULL) << 18), " +
            // The bound system connection (case sync) and its name, looked up only for rows that have one.
            "system_id, CASE WHEN system_id IS NULL THEN NULL ELSE (SELECT s.name FROM connections s WHERE s.id = connections.system_id) END, default_customer";

        /// <summary>The query for the connections that match <paramref name="filter"/>, in name order; its rows go to <see cref="Map"/>.</summary>
        public static DbCommand Select(StoreSession db, ConnectionFilter filter)
        {
            var where = new List<string>();
            var parameters = new List<(string, object?)>();
            if (!filter.IncludeRemoved)
            {
                where.Add("status <> 'Removed'");
            }

            AddIn(where, parameters, "name_key", "n", filter.ExactNames?.Select(ConnectionNames.Key));
            AddIn(where, parameters, "id", "i", filter.Ids?.Select(ConnectionStore.FormatId));
            AddIn(where, parameters, "status", "s", filter.Statuses?.Select(s => s.ToString()));
            AddIn(where, parameters, "type", "t", filter.Types?.Select(t => t.ToString()));

            var sql = $"SELECT {Columns} FROM connections" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + " ORDER BY name_key";
            return db.Command(sql, parameters.ToArray());
        }

        public static Connection? FindById(StoreSession db, Guid id) =>
            Single(db, $"SELECT {Columns} FROM connections WHERE id = $id;", ("$id", ConnectionStore.FormatId(id)));

        public static Connection? FindLiveByName(StoreSession db, string name) =>
            Single(db, $"SELECT {Columns} FROM connections WHERE name_key = $key AND status <> 'Removed';", ("$key", ConnectionNames.Key(name)));

        /// <summary>The live private connections bound to the system connection <paramref name="systemId"/>, in name order.</summary>
        public static IReadOnlyList<Connection> ListLiveBoundTo(StoreSession db, Guid systemId)
        {
            var result = new List<Connection>();
            using (var command = db.Command($"SELECT {Columns} FROM connections WHERE system_id = $system AND status <> 'Removed' ORDER BY name_key;", ("$system", ConnectionStore.FormatId(systemId))))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    result.Add(Map(reader));
                }
            }

            return result;
        }

        public static Connection? FindLiveByOrganization(StoreSession db, string organizationId) =>
            Single(db, $"SELECT {Columns} FROM connections WHERE organization_id = $org AND status <> 'Removed';", ("$org", organizationId));

        public static Connection? FindRemovedByOrganization(StoreSession db, string organizationId) => Single(
            db,
            $"SELECT {Columns} FROM connections WHERE organization_id = $org AND status = 'Removed' ORDER BY removed_at DESC LIMIT 1;",
            ("$org", organizationId));

        public static void Insert(StoreTransaction tx, Connection created) => tx.Execute(
            "INSERT INTO connections (id, name, name_key, description, type, status, inactive_reason, created_at, created_by, modified_at, modified_by, removed_at, version, " +
            "mode, side, local_instance, remote_instance, peer_node_id, peer_node_version, peer_url, peer_status, last_exchange_at, invitation_expires_at, " +
            "instance_url, environment_type, organization_id, authorized_as, authorized_at, authorization_flow, retrieval_interval_seconds, system_id, default_customer) " +
            "VALUES ($id, $name, $name_key, $description, $type, $status, $reason, $created_at, $created_by, $modified_at, $modified_by, $removed_at, $version, " +
            "$mode, $side, $local_instance, $remote_instance, $peer_node_id, $peer_node_version, $peer_url, $peer_status, $last_exchange_at, $invitation_expires_at, " +
            "$instance_url, $environment_type, $organization_id, $authorized_as, $authorized_at, $authorization_flow, $retrieval_interval, $system_id, $default_customer);",
            RowParameters(created));

        /// <summary>Writes <paramref name="after"/> over the row if it is still at <paramref name="expectedVersion"/>; returns the rows written (0 or 1).</summary>
        public static int Update(StoreTransaction tx, Connection after, long expectedVersion) => tx.Execute(
            "UPDATE connections SET name = $name, name_key = $name_key, description = $description, type = $type, status = $status, " +
            "inactive_reason = $reason, modified_at = $modified_at, modified_by = $modified_by, removed_at = $removed_at, version = $version, " +
            "mode = $mode, side = $side, local_instance = $local_instance, remote_instance = $remote_instance, peer_node_id = $peer_node_id, " +
            "peer_node_version = $peer_node_version, peer_url = $peer_url, peer_status = $peer_status, last_exchange_at = $last_exchange_at, invitation_expires_at = $invitation_expires_at, " +
            "instance_url = $instance_url, environment_type = $environment_type, organization_id = $organization_id, authorized_as = $authorized_as, " +
            "authorized_at = $authorized_at, authorization_flow = $authorization_flow, retrieval_interval_seconds = $retrieval_interval, system_id = $system_id, default_customer = $default_customer " +
            "WHERE id = $id AND version = $expected;",
            RowParameters(after).Concat(new (string, object?)[] { ("$expected", expectedVersion) }).ToArray());

        /// <summary>Counts of connections by status, from one query.</summary>
        public static IReadOnlyDictionary<ConnectionStatus, int> CountByStatus(StoreSession db)
        {
            var counts = new Dictionary<ConnectionStatus, int>();
            using (var command = db.Command("SELECT status, COUNT(*) FROM connections GROUP BY status;"))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    counts[ParseStatus(reader.GetString(0))] = reader.GetInt32(1);
                }
            }

            return counts;
        }

        public static Connection Map(DbDataReader r)
        {
            // Each call into SQLite costs more than the work it does here: a row reads the columns that hold a value, found
            // from one bit mask, and becomes one object.
            var present = r.GetInt64(29);
            bool Has(int ordinal) => (present & (1L << (ordinal - 12))) != 0;
            string? Text(int ordinal) => Has(ordinal) ? r.GetString(ordinal) : null;
            DateTimeOffset? Time(int ordinal) => Has(ordinal) ? DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(ordinal)) : (DateTimeOffset?)null;
            return new Connection
            {
                Id = Guid.Parse(r.GetString(0)),
                Name = r.GetString(1),
                Description = r.GetString(2),
                Type = ParseType(r.GetString(3)),
                Status = ParseStatus(r.GetString(4)),
                InactiveReason = (present & (1L << 17)) == 0 ? (InactiveReason?)null : EnumText<InactiveReason>.Parse(r.GetString(5)),
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)),
                CreatedBy = r.GetString(7),
                ModifiedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8)),
                ModifiedBy = r.GetString(9),
                RemovedAt = (present & (1L << 18)) == 0 ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(10)),
                Version = r.GetInt64(11),
                Mode = Has(12) ? EnumText<PrivateConnectionMode>.Parse(r.GetString(12)) : (PrivateConnectionMode?)null,
                Side = Has(13) ? EnumText<PrivateConnectionSide>.Parse(r.GetString(13)) : (PrivateConnectionSide?)null,
                LocalInstanceName = Text(14),
                RemoteInstanceName = Text(15),
                PeerNodeId = Has(16) ? Guid.Parse(r.GetString(16)) : (Guid?)null,
                PeerNodeVersion = Text(17),
                PeerUri = Has(18) ? new Uri(r.GetString(18)) : null,
                PeerStatus = Has(19) ? ParseStatus(r.GetString(19)) : (ConnectionStatus?)null,
                LastExchangeAt = Time(20),
                InvitationExpiresAt = Time(21),
                InstanceUri = Has(22) ? new Uri(r.GetString(22)) : null,
                EnvironmentType = Has(23) ? EnumText<EnvironmentType>.Parse(r.GetString(23)) : (EnvironmentType?)null,
                OrganizationId = Text(24),
                AuthorizedAs = Text(25),
                AuthorizedAt = Time(26),
                AuthorizationFlow = Has(27) ? EnumText<AuthorizationFlow>.Parse(r.GetString(27)) : (AuthorizationFlow?)null,
                RetrievalInterval = Has(28) ? TimeSpan.FromSeconds(r.GetInt64(28)) : (TimeSpan?)null,
                SystemConnectionId = r.IsDBNull(30) ? (Guid?)null : Guid.Parse(r.GetString(30)),
                System = r.IsDBNull(31) ? null : r.GetString(31),
                DefaultCustomer = r.IsDBNull(32) ? null : r.GetString(32),
            };
        }

        private static Connection? Single(StoreSession db, string sql, params (string, object?)[] parameters)
        {
            var cached = db.Reusable(sql, parameters);
            if (cached != null)
            {
                using (var reader = cached.ExecuteReader())
                {
                    return reader.Read() ? Map(reader) : null;
                }
            }

            using (var command = db.Command(sql, parameters))
            using (var reader = command.ExecuteReader())
            {
                return reader.Read() ? Map(reader) : null;
            }
        }

        private static (string, object?)[] RowParameters(Connection c) => new (string, object?)[]
        {
            ("$id", ConnectionStore.FormatId(c.Id)),
            ("$name", c.Name),
            ("$name_key", ConnectionNames.Key(c.Name)),
            ("$description", c.Description),
            ("$type", c.Type.ToString()),
            ("$status", c.Status.ToString()),
            ("$reason", c.InactiveReason?.ToString()),
            ("$created_at", c.CreatedAt.ToUnixTimeMilliseconds()),
            ("$created_by", c.CreatedBy),
            ("$modified_at", c.ModifiedAt.ToUnixTimeMilliseconds()),
            ("$modified_by", c.ModifiedBy),
            ("$removed_at", c.RemovedAt?.ToUnixTimeMilliseconds()),
            ("$version", c.Version),
            ("$mode", c.Mode?.ToString()),
            ("$side", c.Side?.ToString()),
            ("$local_instance", c.LocalInstanceName),
            ("$remote_instance", c.RemoteInstanceName),
            ("$peer_node_id", c.PeerNodeId is null ? null : ConnectionStore.FormatId(c.PeerNodeId.Value)),
            ("$peer_node_version", c.PeerNodeVersion),
            ("$peer_url", c.PeerUri?.AbsoluteUri),
            ("$peer_status", c.PeerStatus?.ToString()),
            ("$last_exchange_at", c.LastExchangeAt?.ToUnixTimeMilliseconds()),
            ("$invitation_expires_at", c.InvitationExpiresAt?.ToUnixTimeMilliseconds()),
            ("$instance_url", c.InstanceUri?.AbsoluteUri),
            ("$environment_type", c.EnvironmentType?.ToString()),
            ("$organization_id", c.OrganizationId),
            ("$authorized_as", c.AuthorizedAs),
            ("$authorized_at", c.AuthorizedAt?.ToUnixTimeMilliseconds()),
            ("$authorization_flow", c.AuthorizationFlow?.ToString()),
            ("$retrieval_interval", c.RetrievalInterval is null ? null : (object)(long)c.RetrievalInterval.Value.TotalSeconds),
            ("$system_id", c.SystemConnectionId is null ? null : ConnectionStore.FormatId(c.SystemConnectionId.Value)),
            ("$default_customer", c.DefaultCustomer),
        };

        private static ConnectionStatus ParseStatus(string value) => EnumText<ConnectionStatus>.Parse(value);

        private static ConnectionType ParseType(string value) => EnumText<ConnectionType>.Parse(value);

        private static void AddIn(List<string> where, List<(string, object?)> parameters, string column, string prefix, IEnumerable<string>? values)
        {
            if (values is null)
            {
                return;
            }

            var names = new List<string>();
            foreach (var value in values.Distinct())
            {
                var name = "$" + prefix + parameters.Count.ToString(CultureInfo.InvariantCulture);
                names.Add(name);
                parameters.Add((name, value));
            }

            where.Add(names.Count == 0 ? "0" : $"{column} IN ({string.Join(", ", names)})");
        }
    }
}
