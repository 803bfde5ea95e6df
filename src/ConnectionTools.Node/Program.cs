using ConnectionTools.Errors;
using ConnectionTools.Node;

const string Usage = """
usage: ConnectionTools.Node --store STORE [--key-file PATH] [--create] [--public-url URL] [--urls http://127.0.0.1:PORT] [--job-poll SECONDS] [--no-jobs] [--log FILE]
       ConnectionTools.Node --store STORE [--key-file PATH] [--create] --private [--interval SECONDS] [--urls URL] [--job-poll SECONDS] [--no-jobs] [--log FILE]
       ConnectionTools.Node --help

Runs one ConnectionTools node on a store (the same one the module uses).
  --store STORE        the store this node serves (required); it must exist unless --create is given:
                       a store file's path, or a PostgreSQL database as a postgresql://user@host:port/db URI
                       or Npgsql keywords (Host=...;Database=...;Username=...), without a password: the
                       password comes from PGPASSWORD or PGPASSFILE
  --key-file PATH      a PostgreSQL store's key file, which protects its secrets (default: the
                       CONNECTIONTOOLS_KEY_FILE variable); the same file on every host of the node
  --create             create a new, empty store at --store when no file is there
  --public-url URL     the public side: the https URL private sides reach this node at (saved in the store)
  --urls URL           where Kestrel listens (ASP.NET Core's own option), e.g. http://127.0.0.1:5080
  --private            the private side: exchanges status with its public nodes, listens on nothing
                       (with --urls: only /healthz and /readyz, for an orchestrator or load balancer)
  --interval SECONDS   how often the private side exchanges status (default 1)
  --job-poll SECONDS   how often due retrieval jobs are looked for (default 5)
  --no-jobs            run no retrieval jobs (for a second host on the same store)
  --log FILE           append the log to FILE instead of writing it to standard output
  -h, --help           print this text and exit
""";

if (args.Any(a => a is "--help" or "-h" or "-?" or "/?"))
{
    Console.Out.WriteLine(Usage);
    return 0;
}

// --log first, so that even a refusal of the other options lands in the file (a background host has no terminal to read).
var logIndex = Array.IndexOf(args, "--log");
if (logIndex >= 0 && logIndex + 1 < args.Length)
{
    try
    {
        var log = new StreamWriter(new FileStream(args[logIndex + 1], FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete)) { AutoFlush = true };
        var writer = TextWriter.Synchronized(log);
        Console.SetOut(writer);
        Console.SetError(writer);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
    {
        Console.Error.WriteLine($"--log '{args[logIndex + 1]}' cannot be written: {e.Message}");
        return 2;
    }
}

NodeOptions options;
try
{
    // Every argument is checked here, before the store file is created or opened.
    options = NodeOptions.Parse(args);
    NodeHost.Validate(options, args);
    // A PostgreSQL store's connection string (no password in it) and key file are checked here too, before anything is opened.
    _ = options.Location();
    // A port another program holds is refused here too, before the store is opened: Kestrel would only find out after.
    NodeHealth.EnsureListenable(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(Usage);
    return 2;
}
catch (ConnectionToolsException e)
{
    Console.Error.WriteLine($"{e.ErrorId}: {e.Message}");
    if (e.RecommendedAction != null)
    {
        Console.Error.WriteLine(e.RecommendedAction);
    }

    Console.Error.WriteLine("Run ConnectionTools.Node --help for the options.");
    return 2;
}

try
{
    if (options.Private)
    {
        await NodeHost.BuildPrivate(args, options).RunAsync();
    }
    else
    {
        await NodeHost.BuildPublic(args, options).RunAsync();
    }
}
catch (ConnectionToolsException e)
{
    // An unusable store: say what and how to fix it, without a stack trace.
    Console.Error.WriteLine($"{e.ErrorId}: {e.Message}");
    if (e.RecommendedAction != null)
    {
        Console.Error.WriteLine(e.RecommendedAction);
    }

    return 1;
}

return 0;
