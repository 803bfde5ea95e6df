using ConnectionTools.Storage;

namespace ConnectionTools.Node;

/// <summary>The node host's command line: --store PATH|POSTGRESQL [--key-file PATH] [--create] [--public-url URL] [--private [--interval SECONDS]] (plus ASP.NET's own --urls).</summary>
public sealed record NodeOptions(string StorePath, string? PublicUrl, bool Private, TimeSpan Interval)
{
    /// <summary>How often the job scheduler looks for due retrieval jobs.</summary>
    public TimeSpan JobPollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether this host runs retrieval jobs (--no-jobs turns it off, e.g. for a second host on the same store).</summary>
    public bool RunJobs { get; init; } = true;

    /// <summary>--create: make a new, empty store when no file exists at --store. Without it a missing file is refused (ConnectionTools.Store.NotFound).</summary>
    public bool Create { get; init; }

    /// <summary>--log PATH: the file the host appends its log to instead of standard output (a background host started by the module).</summary>
    public string? LogPath { get; init; }

    /// <summary>--key-file PATH: a PostgreSQL store's key file (default CONNECTIONTOOLS_KEY_FILE); a SQLite store's key sits beside it.</summary>
    public string? KeyFile { get; init; }

    /// <summary>Whether --store names a PostgreSQL database (a postgresql:// URI or Npgsql keywords) rather than a file.</summary>
    public bool IsDatabase => StoreLocation.IsDatabase(StorePath);

    /// <summary>
    /// Where the store is. A PostgreSQL store's password comes only from PGPASSWORD or PGPASSFILE: on the command line every
    /// user of the machine could read it, so one in --store is refused (ConnectionTools.Store.PasswordInConnectionString).
    /// </summary>
    public StoreLocation Location() => IsDatabase
        ? StoreLocation.ForDatabase(StorePath.Trim(), StoreSource.Session, Create, null, KeyFile ?? Environment.GetEnvironmentVariable(StoreLocation.KeyFileVariable), "--store")
        : new StoreLocation(Path.GetFullPath(StorePath), StoreSource.Session, Create, "--store");

    public static NodeOptions Parse(string[] args)
    {
        string? store = null, publicUrl = null;
        var isPrivate = false;
        var interval = TimeSpan.FromSeconds(1);
        var jobPoll = TimeSpan.FromSeconds(5);
        var runJobs = true;
        var create = false;
        string? logPath = null, keyFile = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--store":
                    store = Value(args, ref i);
                    break;
                case "--public-url":
                    publicUrl = Value(args, ref i);
                    break;
                case "--private":
                    isPrivate = true;
                    break;
                case "--interval":
                    interval = TimeSpan.FromSeconds(double.Parse(Value(args, ref i), System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case "--job-poll":
                    jobPoll = TimeSpan.FromSeconds(double.Parse(Value(args, ref i), System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case "--no-jobs":
                    runJobs = false;
                    break;
                case "--create":
                    create = true;
                    break;
                case "--log":
                    logPath = Value(args, ref i);
                    break;
                case "--key-file":
                    keyFile = Value(args, ref i);
                    break;
                case "--urls":
                    Value(args, ref i); // ASP.NET reads it.
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }

        return new NodeOptions(
            store ?? throw new ArgumentException("--store is required: the store file this node serves (the same one the module uses), or its PostgreSQL database."),
            publicUrl,
            isPrivate,
            interval)
        {
            JobPollInterval = jobPoll,
            RunJobs = runJobs,
            Create = create,
            LogPath = logPath,
            KeyFile = keyFile,
        };
    }

    private static string Value(string[] args, ref int i) =>
        ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value.");
}
