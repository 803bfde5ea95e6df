using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

/// <summary>
/// soak-verify &lt;public&gt; &lt;private&gt; &lt;logs&gt; &lt;started unix ms&gt; &lt;killed unix ms, or 0&gt; &lt;elapsed ms&gt;: run in a fresh process after
/// every writer of the soak has exited. Reads both stores with plain SQLite (no pooling, nothing written), runs PRAGMA
/// integrity_check, and checks every acknowledged change in the writers' logs against the audit. Prints the figures as JSON.
/// </summary>
internal static class SoakVerify
{
    private sealed record AuditRow(long Seq, string ConnectionId, string Actor, string Action, long? Version, string? PeerStatus, long At);

    private sealed record Row(string Id, string Name, long Version, string? PeerStatus);

    private sealed record Ack(string Kind, long At, string Actor, string Name, string Value, string File);

    private static readonly (string Kind, string Label)[] Kinds =
    {
        ("X", "exchanges committed by the node host"),
        ("P", "private-side changes (private store)"),
        ("S", "short-lived TestProcess, 5 changes each"),
        ("Q", "short-lived pwsh, 3 cmdlet changes each"),
        ("W", "long pwsh, ForEach-Object -Parallel"),
    };

    public static int Run(string publicPath, string privatePath, string logs, long started, long killedAt, long elapsedMs)
    {
        var failures = new List<string>();
        var result = new Dictionary<string, object?>();

        var publicDb = Load(publicPath, out var publicIntegrity);
        var privateDb = Load(privatePath, out var privateIntegrity);
        result["publicIntegrity"] = publicIntegrity;
        result["privateIntegrity"] = privateIntegrity;
        if (publicIntegrity != "ok" || privateIntegrity != "ok")
        {
            failures.Add($"integrity_check: public {publicIntegrity}, private {privateIntegrity}");
        }

        // Versions: one audit entry per version of each connection, 1..version, none twice.
        var duplicates = 0;
        var mismatches = 0;
        foreach (var (label, db) in new[] { ("public", publicDb), ("private", privateDb) })
        {
            foreach (var connection in db.Rows.Values)
            {
                var versions = db.Audit.Where(a => a.ConnectionId == connection.Id && a.Version != null).Select(a => a.Version!.Value).ToList();
                duplicates += versions.GroupBy(v => v).Count(g => g.Count() > 1);
                if (versions.Count != connection.Version || versions.Distinct().Count() != connection.Version || versions.Max() != connection.Version)
                {
                    mismatches++;
                    failures.Add($"{label} '{connection.Name}': version {connection.Version}, {versions.Count} audit entries, {versions.Distinct().Count()} distinct versions");
                }
            }
        }

        result["duplicateVersions"] = duplicates;
        result["versionMismatches"] = mismatches;
        if (duplicates > 0)
        {
            failures.Add($"{duplicates} duplicate version(s) in the audit");
        }

        var acks = new List<Ack>();
        var errors = new List<Ack>();
        foreach (var file in Directory.GetFiles(logs, "*.log").Where(f => !Path.GetFileName(f).StartsWith("node-host-", StringComparison.Ordinal)))
        {
            foreach (var line in File.ReadLines(file))
            {
                var f = line.Split('\t');
                if (f.Length < 5)
                {
                    failures.Add($"a malformed log line in {Path.GetFileName(file)}: {line}");
                    continue;
                }

                var ack = new Ack(f[0], long.Parse(f[1], CultureInfo.InvariantCulture), f[2], f[3], f[4], Path.GetFileName(file));
                (ack.Kind == "E" ? errors : acks).Add(ack);
            }
        }

        // Rates over the run: from the start to the last acknowledged change (writers stop at the deadline, and finish what they started).
        var seconds = Math.Max(acks.Count == 0 ? elapsedMs : acks.Max(a => a.At) - started, 1) / 1000.0;
        result["runSeconds"] = Math.Round(seconds, 1);

        // S, Q, W on the public store and P on the private store: the audit entry of that connection, version and actor.
        var lost = new List<Ack>();
        foreach (var ack in acks.Where(a => a.Kind != "X"))
        {
            var db = ack.Kind == "P" ? privateDb : publicDb;
            var id = db.Rows.Values.FirstOrDefault(r => r.Name == ack.Name)?.Id;
            var version = long.Parse(ack.Value, CultureInfo.InvariantCulture);
            if (id is null || !db.Audit.Any(a => a.ConnectionId == id && a.Version == version && a.Actor == ack.Actor))
            {
                lost.Add(ack);
            }
        }

        // X: each private side owns its connections, so its acknowledged exchanges are in order. Every change of status it
        // had acknowledged is one node-host Edit of the public peer status, and the last one acknowledged is the one there now.
        var extraCommits = 0;
        foreach (var group in acks.Where(a => a.Kind == "X").GroupBy(a => a.Name))
        {
            var row = publicDb.Rows.Values.First(r => r.Name == group.Key);
            var previous = "Active";
            var expected = 0;
            var transitions = new List<Ack>();
            foreach (var ack in group)
            {
                if (ack.Value != previous)
                {
                    expected++;
                    transitions.Add(ack);
                    previous = ack.Value;
                }
            }

            var actual = publicDb.Audit.Count(a => a.ConnectionId == row.Id && a.Actor == "node-host" && a.Action == "Edit");
            if (actual < expected)
            {
                // Which ones cannot be told apart; count the latest as lost.
                lost.AddRange(transitions.Skip(actual));
            }
            else if (actual > expected)
            {
                extraCommits += actual - expected;
            }

            if (row.PeerStatus != previous)
            {
                lost.Add(group.Last());
                failures.Add($"public '{row.Name}': peer status {row.PeerStatus}, but the last exchange acknowledged {previous}");
            }
        }

        // An exchange committed but never answered can only come from the host killed mid-request; its retry then changes nothing.
        result["unacknowledgedExchangeCommits"] = extraCommits;
        if (extraCommits > 0 && killedAt == 0)
        {
            failures.Add($"{extraCommits} exchange commit(s) that no private side was told about, with no kill");
        }

        var kinds = new Dictionary<string, object>();
        foreach (var (kind, label) in Kinds)
        {
            var count = acks.Count(a => a.Kind == kind);
            kinds[$"{label} ({kind})"] = new { acknowledged = count, perSecond = Math.Round(count / seconds, 1), lost = lost.Count(l => l.Kind == kind) };
        }

        result["kinds"] = kinds;
        result["acknowledged"] = acks.Count;
        result["lost"] = lost.Count;
        result["lostExamples"] = lost.Take(5).Select(l => $"{l.Kind} {l.Actor} {l.Name} {l.Value} ({l.File})").ToList();
        if (lost.Count > 0)
        {
            failures.Add($"{lost.Count} acknowledged change(s) missing from the audit, the first: {string.Join("; ", lost.Take(3).Select(l => $"{l.Kind} {l.Actor} {l.Name} {l.Value}"))}");
        }

        if (acks.Count(a => a.Kind == "X") == 0 || acks.Count(a => a.Kind == "W") == 0 || acks.Count(a => a.Kind == "S") == 0)
        {
            failures.Add("a kind of writer acknowledged nothing: " + string.Join(", ", Kinds.Select(k => $"{k.Kind} {acks.Count(a => a.Kind == k.Kind)}")));
        }

        var storeErrors = errors.Where(e => e.Name.StartsWith("ConnectionTools.Store.", StringComparison.Ordinal)).ToList();
        var unreachable = errors.Where(e => e.Name.StartsWith("ConnectionTools.Peer.Unreachable", StringComparison.Ordinal)).ToList();
        var others = errors.Except(storeErrors).Where(e => killedAt == 0 || !unreachable.Contains(e)).ToList();
        result["storeErrors"] = storeErrors.Count;
        result["unreachableErrors"] = unreachable.Count;
        result["otherErrors"] = others.Count;
        result["errorExamples"] = errors.Take(5).Select(e => $"{e.Kind} {e.Actor} {e.Name} {e.Value}").ToList();
        if (storeErrors.Count > 0)
        {
            failures.Add($"{storeErrors.Count} store error(s) seen by writers, the first: {storeErrors[0].Name} {storeErrors[0].Value}");
        }

        if (others.Count > 0)
        {
            failures.Add($"{others.Count} other error(s) seen by writers, the first: {others[0].Name} {others[0].Value}");
        }

        var during = publicDb.Audit.Count(a => a.At >= started);
        result["publicAuditEntries"] = during;
        result["publicChangesPerSecond"] = Math.Round(during / seconds, 1);
        if (killedAt > 0)
        {
            result["killedAfterMs"] = killedAt - started;
            result["acknowledgedBeforeKill"] = acks.Count(a => a.At < killedAt);
            result["lostBeforeKill"] = lost.Count(a => a.At < killedAt);
            result["exchangesAcknowledgedBeforeKill"] = acks.Count(a => a.At < killedAt && a.Kind == "X");
            result["exchangesAcknowledgedAfterRestart"] = acks.Count(a => a.At > killedAt && a.Kind == "X");
            if (acks.Count(a => a.At < killedAt && a.Kind == "X") == 0 || acks.Count(a => a.At > killedAt && a.Kind == "X") == 0)
            {
                failures.Add("the kill did not fall between exchanges: none acknowledged before it, or none after the restart");
            }
        }

        result["failures"] = failures;
        Console.WriteLine(JsonSerializer.Serialize(result));
        return failures.Count == 0 ? 0 : 1;
    }

    private sealed record Database(Dictionary<string, Row> Rows, List<AuditRow> Audit);

    private static Database Load(string path, out string integrity)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        db.Open();
        using (var check = db.CreateCommand())
        {
            check.CommandText = "PRAGMA integrity_check;";
            using var reader = check.ExecuteReader();
            var lines = new List<string>();
            while (reader.Read())
            {
                lines.Add(reader.GetString(0));
            }

            integrity = string.Join("; ", lines);
        }

        var rows = new Dictionary<string, Row>();
        using (var command = db.CreateCommand())
        {
            command.CommandText = "SELECT id, name, version, peer_status FROM connections;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows[reader.GetString(0)] = new Row(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3));
            }
        }

        var audit = new List<AuditRow>();
        using (var command = db.CreateCommand())
        {
            command.CommandText = "SELECT seq, connection_id, actor, action, json_extract(after_json, '$.version'), json_extract(after_json, '$.peerStatus'), at FROM audit ORDER BY seq;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                audit.Add(new AuditRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt64(6)));
            }
        }

        return new Database(rows, audit);
    }
}
