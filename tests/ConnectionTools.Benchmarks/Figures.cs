using System.Diagnostics;
using System.Globalization;

/// <summary>Timing and reporting shared by the benchmark suites.</summary>
public static class Figures
{
    /// <summary>Runs <paramref name="action"/> five times to warm up (so tiered JIT has settled), then <paramref name="runs"/> times, and returns each time in milliseconds.</summary>
    public static List<double> Measure(int runs, Action action)
    {
        for (var i = 0; i < 5; i++)
        {
            action();
        }

        var times = new List<double>(runs);
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        return times;
    }

    public static void Report(string what, List<double> times, string target)
    {
        var sorted = times.OrderBy(t => t).ToList();
        string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
        Console.WriteLine($"{what}: median {F(sorted[sorted.Count / 2])} ms, p90 {F(sorted[(int)(sorted.Count * 0.9)])} ms, min {F(sorted[0])} ms" + (target.Length > 0 ? $" ({target})" : ""));
    }
}
