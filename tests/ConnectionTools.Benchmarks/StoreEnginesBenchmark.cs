using System.Diagnostics;
using System.Globalization;
using ConnectionTools.Connections;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Testing;

/// <summary>
/// Get-Connection over 10,000 connections on each engine, side by side in one run: SQLite (a file) and PostgreSQL (on
/// loopback; the tests' server, or one started for the run). Warm calls in this process, and the first call of a fresh
/// process (opening the store included), as an admin's first command in a new session meets it.
/// dotnet run -c Release --project tests/ConnectionTools.Benchmarks -- engines
/// </summary>
public static class StoreEnginesBenchmark
{
    private const int Connections = 10_000;

    public static void Run()
    {
        var folder = Directory.CreateTempSubdirectory("ct-bench-engines-").FullName;
        var database = PostgresTestServer.CreateDatabase();
        try
        {
            var sqlite = new StoreLocation(Path.Combine(folder, "store.db"), StoreSource.Session, create: true);
            Measure("SQLite", () => sqlite, sqlite.Path);
            var key = Path.Combine(folder, "pg.key");
            Measure("PostgreSQL", () => StoreLocation.ForDatabase(database, StoreSource.Session, create: true, credential: null, keyFile: key), database + "|" + key);
        }
        finally
        {
            PostgresTestServer.DropDatabase(database);
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The child process's part: open the store, list every connection once, print the time.</summary>
    public static void FirstCall(string engine, string location)
    {
        var clock = Stopwatch.StartNew();
        var parts = location.Split('|');
        using var node = ConnectionNode.Open(engine == "PostgreSQL"
            ? StoreLocation.ForDatabase(parts[0], StoreSource.Session, create: false, credential: null, keyFile: parts[1])
            : new StoreLocation(location, StoreSource.Session), actor: "bench");
        var host = new CountingHost();
        new ConnectionCommands(node, host).Get(new ConnectionQuery());
        Console.WriteLine($"{clock.Elapsed.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture)} {host.Objects}");
    }

    private static void Measure(string engine, Func<StoreLocation> location, string childLocation)
    {
        using (var node = ConnectionNode.Open(location(), actor: "bench"))
        {
            var seeding = Stopwatch.StartNew();
            for (var batch = 0; batch < Connections / 1_000; batch++)
            {
                // A thousand per transaction: the figure is the listing, not the seeding.
                node.Store.Write(tx =>
                {
                    for (var i = batch * 1_000; i < (batch + 1) * 1_000; i++)
                    {
                        node.Store.CreateIn(tx, new Connection { Id = Guid.NewGuid(), Name = $"conn-{i:00000}", Type = (ConnectionType)(i % 4), Status = ConnectionStatus.Active, Description = "benchmark" }, "bench", null);
                    }

                    return 0;
                });
            }

            Console.WriteLine($"{engine}: seeded {Connections:N0} connections in {seeding.Elapsed.TotalSeconds:0.0} s");
            var host = new CountingHost();
            var commands = new ConnectionCommands(node, host);
            Figures.Report($"{engine}: Get-Connection, {Connections:N0} connections, warm", Figures.Measure(runs: 30, () => commands.Get(new ConnectionQuery())), "target: median under 50 ms");
            Figures.Report($"{engine}: Get-Connection -Name conn-01*, warm", Figures.Measure(runs: 30, () => commands.Get(new ConnectionQuery { Names = new[] { "conn-01*" } })), "");
            var targets = new[] { ConnectionTarget.ByName("conn-00042") };
            var changes = Stopwatch.StartNew();
            for (var i = 0; i < 250; i++)
            {
                commands.Suspend(targets, passThru: false);
                commands.Resume(targets, passThru: false);
            }

            Console.WriteLine($"{engine}: 500 sequential state changes (each a transaction with its audit entry): {changes.Elapsed.TotalMilliseconds / 500:0.00} ms each");
        }

        var firsts = new List<double>();
        for (var run = 0; run < 5; run++)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add(typeof(StoreEnginesBenchmark).Assembly.Location);
            start.ArgumentList.Add("engines-first");
            start.ArgumentList.Add(engine);
            start.ArgumentList.Add(childLocation);
            var total = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            var line = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            firsts.Add(double.Parse(line.Split(' ')[0], CultureInfo.InvariantCulture));
            Console.WriteLine($"  {engine}: fresh process {run + 1}: open and first Get-Connection {line.Split(' ')[0]} ms ({line.Split(' ')[1]} rows), whole process {total.Elapsed.TotalMilliseconds:0} ms");
        }

        Figures.Report($"{engine}: open + first Get-Connection in a fresh process", firsts, "");
    }
}
