using ConnectionTools.Connections;
using ConnectionTools.Storage;
using ConnectionTools.Testing;

// Usage:
//   seed  <store> <name> <type> <status>   create a connection and move it to a status (Pester and benchmarks use it)
//   churn <store> <name> <count>           suspend/resume <count> times; prints the number of changes that took effect
//   spin  <store> <name>                   suspend/resume until killed; prints "ready" once started
//   status <store> <name>                  prints the connection's status and version, as a fresh process sees them
//   fill  <store> <count>                  creates <count> Active private connections, c0001..., in one process
//   seed-sync <store> <private> <system> <id:subject,...>  binds the private connection to the system connection, queues the
//                                          cases as its retrieval job would, and turns them into outgoing sync events; prints their count
//   sql   <database> <statements>          runs SQL on any SQLite file, outside the store's rules (to make foreign, newer or
//                                          damaged files); prints the first column of the first row, if any
//   apply <store> <configuration.yaml> [ms]  Invoke-ConnectionConfiguration through Core; prints "ready" once started, then the failures;
//                                            ms: a pause per connection, so a test can kill it before batched creation ends
//   soak --seconds N --work DIR --node DLL --module PSD1 --pwsh PATH [--kill] [--summary FILE]
//                                          the store soak with real processes (Soak.cs); the commands below are its parts:
//   soak-setup <public> <private> <count>  soak-private <private> <deadline> <log> <names>  soak-burst <public> <count> <log> <names>
//   soak-verify <public> <private> <logs> <started> <killed> <elapsed ms>
//   grant-refresh <store> <lease s> <log> <name:item,...>  refreshes Salesforce grants through Test (GrantRefreshSoak.cs)
static long Long(string value) => long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
return args.Length == 0 ? Usage() : args[0] switch
{
    "soak" => await Soak.RunAsync(args),
    "soak-setup" => SoakWriters.Setup(args[1], args[2], (int)Long(args[3])),
    "soak-private" => SoakWriters.PrivateLoop(args[1], Long(args[2]), args[3], args[4].Split(',')),
    "soak-burst" => SoakWriters.Burst(args[1], (int)Long(args[2]), args[3], args[4].Split(',')),
    "grant-refresh" => GrantRefreshSoak.Run(args[1], args[2], args[3], args[4]),
    "soak-verify" => SoakVerify.Run(args[1], args[2], args[3], Long(args[4]), Long(args[5]), Long(args[6])),
    _ => Run(args),
};

static int Run(string[] args)
{
    if (args[0] == "apply")
    {
        using var node = ConnectionTools.Nodes.ConnectionNode.Open(new StoreLocation(args[1], StoreSource.Session, create: true), actor: "apply");
        var host = new QuietHost(args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 0);
        Console.WriteLine("ready");
        new ConnectionTools.Configuration.ConfigurationCommands(node, host).Invoke(args[2], prune: false);
        Console.WriteLine(host.Failures);
        return host.Failures == 0 ? 0 : 1;
    }

    if (args[0] == "seed-sync")
    {
        using var node = ConnectionTools.Nodes.ConnectionNode.Open(new StoreLocation(args[1], StoreSource.Session, create: false), actor: "seed");
        Console.WriteLine(SyncSeeding.Queue(node, args[2], args[3], args[4]));
        return 0;
    }

    if (args[0] == "sql")
    {
        using var raw = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={args[1]};Pooling=False");
        raw.Open();
        using var command = raw.CreateCommand();
        command.CommandText = args[2];
        Console.WriteLine(command.ExecuteScalar());
        return 0;
    }

    using var store = ConnectionStore.Open(args[1]);
    switch (args[0])
    {
        case "seed":
            Seeding.Add(store, args[2], Enum.Parse<ConnectionType>(args[3], ignoreCase: true), Enum.Parse<ConnectionStatus>(args[4], ignoreCase: true), InactiveReason.Expired, "seed");
            return 0;
        case "churn":
            Console.WriteLine(Churn(store, args[2], int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture)));
            return 0;
        case "spin":
            Console.WriteLine("ready");
            Churn(store, args[2], int.MaxValue);
            return 0;
        case "fill":
            for (var i = 1; i <= int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture); i++)
            {
                Seeding.Add(store, $"c{i:0000}", ConnectionType.Private, ConnectionStatus.Active, InactiveReason.Expired, "fill");
            }

            return 0;
        case "status":
            var connection = store.FindByName(args[2]);
            Console.WriteLine(connection is null ? "none" : $"{connection.Status} {connection.Version}");
            return 0;
        default:
            return Usage();
    }
}

static int Usage()
{
    Console.Error.WriteLine("usage: seed <store> <name> <type> <status> | seed-sync <store> <private> <system> <id:subject,...> | churn <store> <name> <count> | spin <store> <name> | status <store> <name> | fill <store> <count> | sql <database> <statements> | apply <store> <configuration.yaml> [ms]");
    return 2;
}

static int Churn(ConnectionStore store, string name, int count)
{
    var id = (store.FindByName(name) ?? throw new InvalidOperationException($"no connection '{name}'")).Id;
    var changes = 0;
    for (var i = 0; i < count; i++)
    {
        // Decide from a read outside the transaction, as the cmdlets do; another process may get there first,
        // and then the change is a no-op inside the transaction rather than a lost update.
        var action = store.Find(id)!.Status == ConnectionStatus.Active ? LifecycleAction.Suspend : LifecycleAction.Resume;
        var outcome = store.Change(id, action, c => Lifecycle.Decide(c, action) is { } to ? c.With(c => { c.Status = to; }) : null, $"churn-{Environment.ProcessId}");
        if (outcome.Changed)
        {
            changes++;
        }
    }

    return changes;
}

/// <summary>A host for the apply mode: says yes to every change and counts the failures.</summary>
internal sealed class QuietHost(int pause) : ConnectionTools.Hosting.IHostContext
{
    public int Failures { get; private set; }

    public CancellationToken CancellationToken => CancellationToken.None;

    public void WriteObject(object value)
    {
    }

    public void WriteError(ConnectionTools.Errors.ConnectionToolsException error) => Failures++;

    public void WriteWarning(string message)
    {
    }

    public void WriteVerbose(string message)
    {
    }

    public void WriteProgress(ConnectionTools.Hosting.ProgressInfo progress)
    {
    }

    /// <summary>The applier asks once per connection before it writes, so a pause here paces the whole apply.</summary>
    public bool ShouldProcess(string target, string action)
    {
        if (pause > 0)
        {
            Thread.Sleep(pause);
        }

        return true;
    }
}

/// <summary>Outgoing sync events for Pester, made the way the product makes them: a bound private connection, queued cases, the outgoing rule.</summary>
internal static class SyncSeeding
{
    public static int Queue(ConnectionTools.Nodes.ConnectionNode node, string privateName, string systemName, string cases)
    {
        var store = node.Store;
        var system = store.FindByName(systemName) ?? throw new InvalidOperationException($"no connection '{systemName}'");
        var connection = store.FindByName(privateName) ?? throw new InvalidOperationException($"no connection '{privateName}'");
        store.Change(connection.Id, LifecycleAction.Edit, c => c.SystemConnectionId == system.Id ? null : c.With(x => x.SystemConnectionId = system.Id), "seed");
        var now = DateTimeOffset.UtcNow;
        var records = cases.Split(',').Select((c, i) =>
        {
            var parts = c.Split(':', 2);
            var json = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["Id"] = parts[0], ["CaseNumber"] = parts[0], ["Subject"] = parts[1], ["Status"] = "New", ["Priority"] = "High", ["Description"] = "seeded" });
            return (parts[0], now.AddMilliseconds(i), json);
        }).ToList();
        store.Write(tx =>
        {
            JobRows.CommitPage(tx, system.Id, 0, "Case", records, now);
            return 0;
        });
        return ConnectionTools.Sync.OutgoingEvents.Produce(node, system);
    }
}
