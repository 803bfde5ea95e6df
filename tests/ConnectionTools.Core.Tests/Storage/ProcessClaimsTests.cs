using System.Diagnostics;
using System.Globalization;
using ConnectionTools.Storage;

namespace ConnectionTools.Core.Tests;

/// <summary>
/// Claims name their process (machine, process id, start time), so a claim left by a process that was killed is taken over at
/// once: the grant refresh claim here; the apply claim and a retrieval run left Running are covered end to end by the sync
/// apply fault run (SyncApplyFaultTests), which kills node hosts mid-pass.
/// </summary>
public sealed class ProcessClaimsTests : IDisposable
{
    private readonly TestStore _store = new();

    public void Dispose() => _store.Dispose();

    /// <summary>The owner a claim of a process that has ended carries.</summary>
    private static string EndedProcess()
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var started = process.StartTime.ToUniversalTime().Ticks;
        process.WaitForExit();
        return string.Join("|", Environment.MachineName, process.Id.ToString(CultureInfo.InvariantCulture), started.ToString(CultureInfo.InvariantCulture)) + "|claim";
    }

    [Fact]
    public void A_holder_is_gone_only_when_its_process_on_this_machine_has_ended()
    {
        using var self = Process.GetCurrentProcess();
        Assert.False(ProcessClaims.HolderGone(ProcessClaims.Current));
        Assert.False(ProcessClaims.HolderGone(ProcessClaims.Current + "|" + Guid.NewGuid().ToString("N")));
        Assert.True(ProcessClaims.HolderGone(EndedProcess()));

        // The same process id, started at another time: a reused id, not the holder; a start time read a few milliseconds off
        // (as another process reads it) is the same process.
        var started = self.StartTime.ToUniversalTime().Ticks;
        Assert.True(ProcessClaims.HolderGone($"{Environment.MachineName}|{self.Id}|{started - (5 * TimeSpan.TicksPerSecond)}"));
        Assert.False(ProcessClaims.HolderGone($"{Environment.MachineName}|{self.Id}|{started - (20 * TimeSpan.TicksPerMillisecond)}"));

        // What it cannot judge counts as running: another machine, an owner written by an earlier version, nothing.
        Assert.False(ProcessClaims.HolderGone($"another-machine-{Guid.NewGuid():N}|1|1"));
        Assert.False(ProcessClaims.HolderGone("4242:0123456789abcdef"));
        Assert.False(ProcessClaims.HolderGone(null));
    }

    [Fact]
    public void A_grant_refresh_claim_of_an_ended_process_is_taken_over_before_it_expires_and_keeps_its_sent_mark()
    {
        var connection = _store.Add("sf", type: Connections.ConnectionType.SalesforceProduction);
        var now = DateTimeOffset.UtcNow;
        var ended = EndedProcess();
        Assert.True(_store.Store.Write(tx => GrantRows.TryClaim(tx, connection.Id, ended, now, TimeSpan.FromMinutes(2))).Claimed);

        var live = ProcessClaims.Current + "|" + Guid.NewGuid().ToString("N");
        var taken = _store.Store.Write(tx => GrantRows.TryClaim(tx, connection.Id, live, now.AddSeconds(1), TimeSpan.FromMinutes(2)));
        Assert.True(taken.Claimed);
        Assert.Equal(now.ToUnixTimeMilliseconds(), taken.Unanswered?.ToUnixTimeMilliseconds());

        // A running holder's claim is not.
        var other = ProcessClaims.Current + "|" + Guid.NewGuid().ToString("N");
        Assert.False(_store.Store.Write(tx => GrantRows.TryClaim(tx, connection.Id, other, now.AddSeconds(2), TimeSpan.FromMinutes(2))).Claimed);
    }
}
