using System.Diagnostics;
using System.Globalization;
using ConnectionTools.SyncRules;

/// <summary>
/// Sync rules in Jint: the first run in a fresh process (what a node host pays once), parsing a rule (once per rule version),
/// and one case through the Basic outgoing and incoming rules, each in a fresh sandboxed engine (the target is about 60 µs).
/// </summary>
public static class RulesBenchmark
{
    public static void Run()
    {
        var first = Stopwatch.StartNew();
        var outgoing = CompiledRule.Compile("bench", SyncDirection.Outgoing, BasicSyncRules.Outgoing);
        var replica = RuleSandbox.RunOutgoing(outgoing, CaseEntities.Sample);
        Console.WriteLine($"Sync rules, first compile and run in this process: {first.Elapsed.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture)} ms");

        Figures.Report("Compile the Basic outgoing rule", Figures.Measure(runs: 200, () => CompiledRule.Compile("bench", SyncDirection.Outgoing, BasicSyncRules.Outgoing)), "once per rule version");
        var incoming = CompiledRule.Compile("bench", SyncDirection.Incoming, BasicSyncRules.Incoming);

        // 1,000 cases per measured call, so the figure per case is the median / 1,000.
        const int Cases = 1000;
        var outgoingTimes = Figures.Measure(runs: 20, () =>
        {
            for (var i = 0; i < Cases; i++)
            {
                RuleSandbox.RunOutgoing(outgoing, CaseEntities.Sample);
            }
        });
        Report("One case through the Basic outgoing rule (fresh engine)", outgoingTimes, Cases);

        var incomingTimes = Figures.Measure(runs: 20, () =>
        {
            for (var i = 0; i < Cases; i++)
            {
                RuleSandbox.RunIncoming(incoming, CaseEntities.Sample, replica, firstSync: false);
            }
        });
        Report("One case through the Basic incoming rule (fresh engine)", incomingTimes, Cases);

        const string Payload = "{\"Id\":\"5003000000D8cuIAAR\",\"CaseNumber\":\"00001026\",\"Subject\":\"Printer jams\",\"Status\":\"New\",\"Priority\":\"High\",\"Description\":\"A case.\"}";
        var entityTimes = Figures.Measure(runs: 20, () =>
        {
            for (var i = 0; i < Cases; i++)
            {
                CaseEntities.FromQueued(ConnectionTools.Connections.ConnectionType.SalesforceProduction, "5003000000D8cuIAAR", DateTimeOffset.UnixEpoch, Payload);
            }
        });
        Report("One queued Salesforce case into the entity a rule sees", entityTimes, Cases);
    }

    private static void Report(string what, List<double> times, int cases)
    {
        var sorted = times.OrderBy(t => t).ToList();
        string Us(double ms) => (ms * 1000 / cases).ToString("0.0", CultureInfo.InvariantCulture);
        Console.WriteLine($"{what}: median {Us(sorted[sorted.Count / 2])} µs per case, min {Us(sorted[0])} µs (target: about 60 µs)");
    }
}
