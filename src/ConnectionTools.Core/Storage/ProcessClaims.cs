using System;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace ConnectionTools.Storage
{
    /// <summary>
    /// Which process holds a claim (an apply pass's, a retrieval run's), so that a claim left by a process that was killed
    /// (kill -9, a crash, a power cut) is taken over at once instead of blocking its connection until its lease or staleness
    /// window runs out. A holder is named by machine, process id and the process's start time: a claim of another machine is
    /// never judged, and a process id reused by a later process does not keep a dead holder's claim alive.
    /// </summary>
    internal static class ProcessClaims
    {
        /// <summary>This process, as its claims name it.</summary>
        public static readonly string Current = Describe();

        /// <summary>
        /// Whether the process that <paramref name="owner"/> (a claim's owner, <see cref="Current"/> possibly followed by "|" and
        /// more) names has ended. False when it cannot tell: another machine, an owner written by an earlier version.
        /// </summary>
        public static bool HolderGone(string? owner)
        {
            var parts = owner?.Split('|');
            if (parts is null || parts.Length < 3 || !string.Equals(parts[0], Environment.MachineName, StringComparison.OrdinalIgnoreCase) ||
                !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ||
                !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var started))
            {
                return false;
            }

            try
            {
                using (var process = Process.GetProcessById(pid))
                {
                    // The start time read from another process differs by a few milliseconds (Linux derives it from the boot
                    // time, computed anew each time): a process started more than a second apart is another one with the same id.
                    return process.HasExited || Math.Abs(process.StartTime.ToUniversalTime().Ticks - started) > TimeSpan.TicksPerSecond;
                }
            }
            catch (ArgumentException)
            {
                return true; // no process with that id
            }
            catch (Exception e) when (e is InvalidOperationException || e is Win32Exception || e is NotSupportedException)
            {
                return false; // cannot tell: as if it runs
            }
        }

        /// <summary>The owner of a claim and when it expires, or null when none is held.</summary>
        public static (string Owner, DateTimeOffset ExpiresAt)? Lease(StoreSession db, string key)
        {
            using (var command = db.Command("SELECT owner, expires_at FROM sync_apply_claims WHERE connection_id = $id;", ("$id", key)))
            using (var reader = command.ExecuteReader())
            {
                return reader.Read() ? (reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))) : ((string, DateTimeOffset)?)null;
            }
        }

        /// <summary>Extends <paramref name="owner"/>'s claim to <paramref name="expires"/>; false when it no longer holds it.</summary>
        public static bool Renew(StoreTransaction tx, string key, string owner, DateTimeOffset expires) => tx.Execute(
            "UPDATE sync_apply_claims SET expires_at = $expires WHERE connection_id = $id AND owner = $owner;",
            ("$id", key), ("$owner", owner), ("$expires", expires.ToUnixTimeMilliseconds())) == 1;

        /// <summary>Takes over the claim <paramref name="held"/> holds (and only if it still does).</summary>
        public static bool TakeOver(StoreTransaction tx, string key, string held, string owner, DateTimeOffset expires) => tx.Execute(
            "UPDATE sync_apply_claims SET owner = $owner, expires_at = $expires WHERE connection_id = $id AND owner = $held;",
            ("$id", key), ("$held", held), ("$owner", owner), ("$expires", expires.ToUnixTimeMilliseconds())) == 1;

        /// <summary>Holds a claim, replacing whatever was held under <paramref name="key"/>.</summary>
        public static void Hold(StoreTransaction tx, string key, string owner, DateTimeOffset expires) => tx.Execute(
            "INSERT INTO sync_apply_claims (connection_id, owner, expires_at) VALUES ($id, $owner, $expires) " +
            "ON CONFLICT(connection_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at;",
            ("$id", key), ("$owner", owner), ("$expires", expires.ToUnixTimeMilliseconds()));

        public static void Release(StoreTransaction tx, string key, string owner) => tx.Execute(
            "DELETE FROM sync_apply_claims WHERE connection_id = $id AND owner = $owner;", ("$id", key), ("$owner", owner));

        private static string Describe()
        {
            using (var process = Process.GetCurrentProcess())
            {
                return string.Join("|", Environment.MachineName, process.Id.ToString(CultureInfo.InvariantCulture),
                    process.StartTime.ToUniversalTime().Ticks.ToString(CultureInfo.InvariantCulture));
            }
        }
    }
}
