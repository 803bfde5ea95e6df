using System;
using System.Collections.Generic;
using ConnectionTools.Connections;
using ConnectionTools.Text;

namespace ConnectionTools.Storage
{
    /// <summary>SQL for the audit table: one entry per change, with a summary and JSON snapshots of before and after.</summary>
    internal static class AuditRows
    {
        private const string InsertSql =
            "INSERT INTO audit (connection_id, connection_name, at, actor, action, summary, before_json, after_json) VALUES ($id, $name, $at, $actor, $action, $summary, $before, $after);";

        public static void Append(StoreTransaction tx, Connection? before, Connection after, LifecycleAction action, string actor, DateTimeOffset at, string? note = null) => tx.Execute(
            InsertSql,
            ("$id", ConnectionStore.FormatId(after.Id)),
            ("$name", after.Name),
            ("$at", at.ToUnixTimeMilliseconds()),
            ("$actor", actor),
            ("$action", action.ToString()),
            ("$summary", note is null ? Summarize(before, after) : note),
            ("$before", before is null ? "" : Snapshot(before)),
            ("$after", Snapshot(after)));

        /// <summary>A node setting's change, audited under the node's id.</summary>
        public static void AppendNodeSetting(StoreTransaction tx, Guid nodeId, string key, string? before, string value, string actor, DateTimeOffset at) => tx.Execute(
            InsertSql,
            ("$id", ConnectionStore.FormatId(nodeId)),
            ("$name", "(node)"),
            ("$at", at.ToUnixTimeMilliseconds()),
            ("$actor", actor),
            ("$action", LifecycleAction.ConfigureNode.ToString()),
            ("$summary", $"Node setting {key}: {before ?? "(not set)"} -> {value}"),
            ("$before", new JsonObjectWriter().Add(key, before).ToString()),
            ("$after", new JsonObjectWriter().Add(key, value).ToString()));

        /// <summary>
        /// Audit entries, oldest first: of one connection, or of the whole node (node settings included) when
        /// <paramref name="connectionId"/> is null; from <paramref name="since"/> on; then only the first or the last so many.
        /// </summary>
        public static IReadOnlyList<AuditEntry> History(StoreSession db, Guid? connectionId, DateTimeOffset? since, int? first, int? last)
        {
            var where = new List<string>();
            var parameters = new List<(string, object?)>();
            if (connectionId != null)
            {
                where.Add("connection_id = $id");
                parameters.Add(("$id", ConnectionStore.FormatId(connectionId.Value)));
            }

            if (since != null)
            {
                where.Add("at >= $since");
                parameters.Add(("$since", since.Value.ToUnixTimeMilliseconds()));
            }

            var filter = where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where);
            var newestFirst = first == null && last != null;
            var limit = first ?? last;
            if (limit != null)
            {
                parameters.Add(("$limit", (long)limit.Value));
            }

            var sql = "SELECT seq, connection_id, connection_name, at, actor, action, summary, before_json, after_json FROM audit" + filter
                + (newestFirst ? " ORDER BY seq DESC" : " ORDER BY seq") + (limit == null ? "" : " LIMIT $limit") + ";";
            using (var command = db.Command(sql, parameters.ToArray()))
            using (var reader = command.ExecuteReader())
            {
                var entries = new List<AuditEntry>();
                while (reader.Read())
                {
                    entries.Add(new AuditEntry(
                        reader.GetInt64(0),
                        Guid.Parse(reader.GetString(1)),
                        reader.GetString(2),
                        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                        reader.GetString(4),
                        EnumText<LifecycleAction>.Parse(reader.GetString(5)),
                        reader.GetString(6),
                        reader.GetString(7),
                        reader.GetString(8)));
                }

                if (newestFirst)
                {
                    entries.Reverse();
                }

                if (first != null && last != null && last.Value < entries.Count)
                {
                    entries.RemoveRange(0, entries.Count - last.Value);
                }

                return entries;
            }
        }

        public static long Count(StoreSession db) => (long)db.Scalar("SELECT COUNT(*) FROM audit;")!;

        public static string Summarize(Connection? before, Connection after)
        {
            if (before is null)
            {
                return $"Created {after.Type} connection '{after.Name}' ({after.Status})" + (after.System is null ? "" : $", bound to system '{after.System}'");
            }

            var parts = new List<string>();
            if (before.Name != after.Name)
            {
                parts.Add($"Name: '{before.Name}' -> '{after.Name}'");
            }

            if (before.Description != after.Description)
            {
                parts.Add("Description changed");
            }

            if (before.Status != after.Status || before.InactiveReason != after.InactiveReason)
            {
                parts.Add($"Status: {Describe(before)} -> {Describe(after)}");
            }

            if (before.Mode != after.Mode)
            {
                parts.Add($"Mode: {before.Mode} -> {after.Mode}");
            }

            if (before.PeerStatus != after.PeerStatus)
            {
                parts.Add($"Peer status: {before.PeerStatus?.ToString() ?? "unknown"} -> {after.PeerStatus?.ToString() ?? "unknown"}");
            }

            if (before.RemoteInstanceName != after.RemoteInstanceName)
            {
                parts.Add($"Remote instance: {before.RemoteInstanceName ?? "unknown"} -> {after.RemoteInstanceName ?? "unknown"}");
            }

            if (before.OrganizationId != after.OrganizationId)
            {
                parts.Add($"Organization: {before.OrganizationId ?? "none"} -> {after.OrganizationId ?? "none"}");
            }

            if (before.AuthorizedAt != after.AuthorizedAt && after.AuthorizedAt != null)
            {
                parts.Add($"Authorized as {after.AuthorizedAs} ({after.AuthorizationFlow})");
            }

            if (before.RetrievalInterval != after.RetrievalInterval)
            {
                parts.Add($"Retrieval interval: {before.RetrievalInterval?.ToString() ?? "none"} -> {after.RetrievalInterval?.ToString() ?? "none"}");
            }

            if (before.DefaultCustomer != after.DefaultCustomer)
            {
                parts.Add($"Default customer: {before.DefaultCustomer ?? "none"} -> {after.DefaultCustomer ?? "none"}");
            }

            if (before.SystemConnectionId != after.SystemConnectionId)
            {
                parts.Add($"System: {(before.System is null ? "none" : $"'{before.System}'")} -> {(after.System is null ? "none" : $"'{after.System}'")}");
            }

            if (before.InvitationExpiresAt != after.InvitationExpiresAt && after.InvitationExpiresAt != null)
            {
                parts.Add($"Invitation renewed, expires {after.InvitationExpiresAt:u}");
            }

            return parts.Count == 0 ? "No visible change" : string.Join("; ", parts);
        }

        private static string Describe(Connection c) => c.InactiveReason is null ? c.Status.ToString() : $"{c.Status} ({c.InactiveReason})";

        private static string Snapshot(Connection c) => new JsonObjectWriter()
            .Add("id", ConnectionStore.FormatId(c.Id))
            .Add("name", c.Name)
            .Add("description", c.Description)
            .Add("type", c.Type.ToString())
            .Add("status", c.Status.ToString())
            .Add("inactiveReason", c.InactiveReason?.ToString())
            .Add("mode", c.Mode?.ToString())
            .Add("side", c.Side?.ToString())
            .Add("remoteInstanceName", c.RemoteInstanceName)
            .Add("peerStatus", c.PeerStatus?.ToString())
            .Add("instanceUrl", c.InstanceUri?.AbsoluteUri)
            .Add("environmentType", c.EnvironmentType?.ToString())
            .Add("organizationId", c.OrganizationId)
            .Add("authorizedAs", c.AuthorizedAs)
            .Add("retrievalInterval", c.RetrievalInterval?.ToString())
            .Add("defaultCustomer", c.DefaultCustomer)
            .Add("system", c.System)
            .Add("version", c.Version)
            .ToString();
    }
}
