using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Connections;
using ConnectionTools.Jobs;
using System.Data.Common;

namespace ConnectionTools.Storage
{
    /// <summary>SQL for retrieval jobs, their runs and the outbound queue.</summary>
    internal static class JobRows
    {
        public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(5);

        public static void Create(StoreTransaction tx, Connection connection, DateTimeOffset now) => tx.Execute(
            "INSERT INTO jobs (connection_id, state, next_run_at, watermark) VALUES ($id, $state, $next, NULL) " +
            "ON CONFLICT(connection_id) DO UPDATE SET state = excluded.state, next_run_at = excluded.next_run_at;",
            ("$id", ConnectionStore.FormatId(connection.Id)),
            ("$state", StateFor(connection.Status).ToString()),
            ("$next", now.ToUnixTimeMilliseconds()));

        /// <summary>
        /// Keeps the job's state in step with the connection, in the same transaction as the status change. A job that comes
        /// back to Scheduled (resume, re-authorization) is due at once, so it catches up from its watermark.
        /// </summary>
        public static void Follow(StoreTransaction tx, Connection after, DateTimeOffset now) => tx.Execute(
            "UPDATE jobs SET next_run_at = CASE WHEN state <> 'Scheduled' AND $state = 'Scheduled' THEN $now ELSE next_run_at END, state = $state " +
            "WHERE connection_id = $id;",
            ("$id", ConnectionStore.FormatId(after.Id)),
            ("$state", StateFor(after.Status).ToString()),
            ("$now", now.ToUnixTimeMilliseconds()));

        /// <summary>A shorter interval takes effect now: the next run moves up to one interval from now if that is sooner.</summary>
        public static void IntervalChanged(StoreTransaction tx, Connection after, DateTimeOffset now) => tx.Execute(
            "UPDATE jobs SET next_run_at = CASE WHEN $next < next_run_at THEN $next ELSE next_run_at END WHERE connection_id = $id;",
            ("$id", ConnectionStore.FormatId(after.Id)),
            ("$next", (now + (after.RetrievalInterval ?? DefaultInterval)).ToUnixTimeMilliseconds()));

        public static JobState StateFor(ConnectionStatus status)
        {
            switch (status)
            {
                case ConnectionStatus.Active:
                    return JobState.Scheduled;
                case ConnectionStatus.Paused:
                    return JobState.Paused;
                case ConnectionStatus.Removed:
                    return JobState.Cancelled;
                default:
                    return JobState.Holding;
            }
        }

        public static (JobState State, DateTimeOffset NextRunAt, DateTimeOffset? Watermark)? Find(StoreSession db, Guid connectionId)
        {
            using (var command = db.Command("SELECT state, next_run_at, watermark FROM jobs WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId))))
            using (var reader = command.ExecuteReader())
            {
                if (!reader.Read())
                {
                    return null;
                }

                return (EnumText<JobState>.Parse(reader.GetString(0)), FromMs(reader.GetInt64(1)), reader.IsDBNull(2) ? (DateTimeOffset?)null : FromMs(reader.GetInt64(2)));
            }
        }

        /// <summary>The connections whose scheduled job is due at <paramref name="now"/>, soonest first.</summary>
        public static List<Guid> Due(StoreSession db, DateTimeOffset now, int limit)
        {
            var due = new List<Guid>();
            using (var command = db.Command("SELECT connection_id FROM jobs WHERE state = 'Scheduled' AND next_run_at <= $now ORDER BY next_run_at LIMIT $limit;",
                ("$now", now.ToUnixTimeMilliseconds()), ("$limit", limit)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    due.Add(Guid.Parse(reader.GetString(0)));
                }
            }

            return due;
        }

        public static long StartRun(StoreTransaction tx, Connection connection, JobTrigger trigger, DateTimeOffset now, DateTimeOffset? watermark)
        {
            tx.Execute("UPDATE job_runs SET status = 'Failed', error_id = $interrupted, error = 'The host running it ended, or let its lease on the job run out, before the run finished; the next run resumed from its last committed page.', ended_at = $now " +
                "WHERE connection_id = $id AND status = 'Running';", ("$id", ConnectionStore.FormatId(connection.Id)), ("$now", now.ToUnixTimeMilliseconds()), ("$interrupted", Errors.ErrorIds.JobInterrupted));
            var runId = (long)tx.Scalar(
                "INSERT INTO job_runs (connection_id, connection_name, trigger, status, started_at, records, pages, watermark) VALUES ($id, $name, $trigger, 'Running', $now, 0, 0, $watermark) RETURNING id;",
                ("$id", ConnectionStore.FormatId(connection.Id)),
                ("$name", connection.Name),
                ("$trigger", trigger.ToString()),
                ("$now", now.ToUnixTimeMilliseconds()),
                ("$watermark", watermark?.ToUnixTimeMilliseconds()))!;
            var interval = connection.RetrievalInterval ?? DefaultInterval;
            tx.Execute("UPDATE jobs SET next_run_at = $next WHERE connection_id = $id;",
                ("$id", ConnectionStore.FormatId(connection.Id)), ("$next", (now + interval).ToUnixTimeMilliseconds()));
            return runId;
        }

        /// <summary>
        /// One page, committed with the watermark it reaches: a record already queued is replaced only by a newer version, and the
        /// watermark never moves back. Returns how many records were new or newer.
        /// </summary>
        public static void CommitPage(StoreTransaction tx, Guid connectionId, long runId, string entity, IReadOnlyList<(string Id, DateTimeOffset ModifiedAt, string Payload)> records, DateTimeOffset now) =>
            CommitPage(tx, connectionId, runId, entity, records, now, records.Count == 0 ? (DateTimeOffset?)null : records.Max(r => r.ModifiedAt));

        /// <summary>
        /// Queues a page's records and moves the watermark to <paramref name="watermark"/> (null: where it is), which the source
        /// says: a record it found out of the watermark's order (CaseRecord.WatermarkAt null) must not move it.
        /// <paramref name="now"/> is kept as the row's queued_at: a time before the page was read (the runner gives the time its
        /// request could start), which the sync's check for reads made before an apply compares with.
        /// </summary>
        public static void CommitPage(StoreTransaction tx, Guid connectionId, long runId, string entity, IReadOnlyList<(string Id, DateTimeOffset ModifiedAt, string Payload)> records, DateTimeOffset now, DateTimeOffset? watermark)
        {
            var id = ConnectionStore.FormatId(connectionId);
            using (var upsert = tx.Command(
                "INSERT INTO outbound_queue (connection_id, entity, record_id, modified_at, payload, queued_at) VALUES ($id, $entity, $record, $modified, $payload, $now) " +
                "ON CONFLICT(connection_id, entity, record_id) DO UPDATE SET modified_at = excluded.modified_at, payload = excluded.payload, queued_at = excluded.queued_at " +
                "WHERE excluded.modified_at > outbound_queue.modified_at;",
                ("$id", id), ("$entity", entity), ("$record", ""), ("$modified", 0L), ("$payload", ""), ("$now", now.ToUnixTimeMilliseconds())))
            {
                upsert.Prepare();
                foreach (var record in records)
                {
                    var modified = record.ModifiedAt.ToUnixTimeMilliseconds();
                    tx.Rebind(upsert, "$record", record.Id);
                    tx.Rebind(upsert, "$modified", modified);
                    tx.Rebind(upsert, "$payload", record.Payload);
                    upsert.ExecuteNonQuery();
                }
            }

            if (watermark is DateTimeOffset reached)
            {
                tx.Execute("UPDATE jobs SET watermark = CASE WHEN watermark > $newest THEN watermark ELSE $newest END WHERE connection_id = $id;", ("$id", id), ("$newest", reached.ToUnixTimeMilliseconds()));
            }

            tx.Execute("UPDATE job_runs SET records = records + $count, pages = pages + 1, watermark = (SELECT watermark FROM jobs WHERE connection_id = $id) WHERE id = $run;",
                ("$id", id), ("$run", runId), ("$count", (long)records.Count));
        }

        public static void FinishRun(StoreTransaction tx, long runId, JobRunStatus status, DateTimeOffset now, string? errorId, string? error) => tx.Execute(
            "UPDATE job_runs SET status = $status, ended_at = $now, error_id = $error_id, error = $error WHERE id = $run;",
            ("$run", runId),
            ("$status", status.ToString()),
            ("$now", now.ToUnixTimeMilliseconds()),
            ("$error_id", errorId),
            ("$error", error));

        public static long QueueCount(StoreSession db, Guid connectionId) =>
            (long)db.Scalar("SELECT COUNT(*) FROM outbound_queue WHERE connection_id = $id;", ("$id", ConnectionStore.FormatId(connectionId)))!;

        /// <summary>The connection's most recent run, if it ever ran.</summary>
        public static JobRun? LastRun(StoreSession db, Guid connectionId)
        {
            using (var command = db.Command($"SELECT {RunColumns} FROM job_runs WHERE connection_id = $id ORDER BY id DESC LIMIT 1;", ("$id", ConnectionStore.FormatId(connectionId))))
            using (var reader = command.ExecuteReader())
            {
                return reader.Read() ? MapRun(reader) : null;
            }
        }

        /// <summary>The connection's runs, newest first: only those with one of <paramref name="statuses"/> when given, and at most <paramref name="last"/>.</summary>
        public static List<JobRun> Runs(StoreSession db, Guid connectionId, IReadOnlyList<JobRunStatus>? statuses, int? last)
        {
            var sql = $"SELECT {RunColumns} FROM job_runs WHERE connection_id = $id" +
                (statuses is { Count: > 0 } ? " AND status IN (" + string.Join(", ", statuses.Select(s => "'" + s + "'")) + ")" : "") +
                " ORDER BY id DESC" + (last is int limit ? " LIMIT " + Math.Max(0, limit) : "") + ";";
            var runs = new List<JobRun>();
            using (var command = db.Command(sql, ("$id", ConnectionStore.FormatId(connectionId))))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    runs.Add(MapRun(reader));
                }
            }

            return runs;
        }

        public static JobRun FindRun(StoreSession db, long runId)
        {
            using (var command = db.Command($"SELECT {RunColumns} FROM job_runs WHERE id = $id;", ("$id", runId)))
            using (var reader = command.ExecuteReader())
            {
                reader.Read();
                return MapRun(reader);
            }
        }

        private static JobRun MapRun(DbDataReader r) => new JobRun
        {
            Id = r.GetInt64(0),
            ConnectionId = Guid.Parse(r.GetString(1)),
            ConnectionName = r.GetString(2),
            Trigger = EnumText<JobTrigger>.Parse(r.GetString(3)),
            Status = EnumText<JobRunStatus>.Parse(r.GetString(4)),
            StartedAt = FromMs(r.GetInt64(5)),
            EndedAt = r.IsDBNull(6) ? (DateTimeOffset?)null : FromMs(r.GetInt64(6)),
            Records = r.GetInt64(7),
            Pages = (int)r.GetInt64(8),
            Watermark = r.IsDBNull(9) ? (DateTimeOffset?)null : FromMs(r.GetInt64(9)),
            ErrorId = r.IsDBNull(10) ? null : r.GetString(10),
            Error = r.IsDBNull(11) ? null : r.GetString(11),
        };

        private const string RunColumns = "id, connection_id, connection_name, trigger, status, started_at, ended_at, records, pages, watermark, error_id, error";

        private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }
}
