using System.Globalization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;

/// <summary>
/// The processes of the store soak (see <see cref="Soak"/>): setting up private connections, the private side's loop and
/// the short-lived bursts of changes on the public store. Each writes one line per acknowledged change to its own log:
/// kind, unix ms, actor, connection name, version (or, for an exchange, the status the public side acknowledged);
/// and one "E" line per error, with its error id.
/// </summary>
internal static class SoakWriters
{
    /// <summary>soak-setup &lt;public&gt; &lt;private&gt; &lt;count&gt;: creates count private connections on the public store and accepts each from the private store.</summary>
    public static int Setup(string publicPath, string privatePath, int count)
    {
        using var publicNode = ConnectionNode.Open(new StoreLocation(publicPath, StoreSource.Session, create: true), actor: "soak-setup");
        using var privateNode = ConnectionNode.Open(new StoreLocation(privatePath, StoreSource.Session, create: true), actor: "soak-setup");
        var publicHost = new SoakHost();
        var privateHost = new SoakHost();
        var peers = new PeerCommands(privateNode, privateHost, privateNode.Peers);
        for (var i = 0; i < count; i++)
        {
            var name = $"peer-{i:00}";
            new InvitationCommands(publicNode, publicHost).New(new NewPrivateConnectionRequest { Name = name, LocalInstanceName = "soak-public" });
            var invitation = publicHost.Objects.OfType<PrivateConnectionInvitation>().Last();
            peers.Accept(invitation.InvitationCode, name, "soak-private");
            publicHost.ThrowIfFailed();
            privateHost.ThrowIfFailed();
            Console.WriteLine(name);
        }

        return 0;
    }

    /// <summary>
    /// soak-private &lt;private&gt; &lt;deadline unix ms&gt; &lt;log&gt; &lt;names,...&gt;: until the deadline, for each of its connections in turn,
    /// suspends or resumes the private side (logged "P") and runs Sync-Connection's exchange until the public node acknowledges
    /// it (logged "X" with the status sent). An unreachable node (killed) is retried; the next change waits for the acknowledgement.
    /// </summary>
    public static int PrivateLoop(string privatePath, long deadline, string logPath, string[] names)
    {
        var actor = $"private-{Environment.ProcessId}";
        using var log = OpenLog(logPath);
        using var node = ConnectionNode.Open(new StoreLocation(privatePath, StoreSource.Session), actor: actor);
        var host = new SoakHost();
        var peers = new PeerCommands(node, host, new PeerClient(ConnectionTools.Http.SharedHttp.Client, TimeSpan.FromSeconds(30)));
        var i = 0;
        while (Now() < deadline)
        {
            var name = names[i++ % names.Length];
            if (!Flip(node.Store, name, actor, log, "P"))
            {
                continue;
            }

            // Until acknowledged: a killed node host is being restarted. Bounded, so a dead host cannot hang the soak.
            var giveUp = deadline + 60_000;
            while (true)
            {
                host.Errors.Clear();
                var sent = node.Store.FindByName(name)!.Status;
                peers.Sync(new[] { ConnectionTarget.ByName(name) }, passThru: false);
                if (host.Errors.Count == 0)
                {
                    Write(log, "X", actor, name, sent.ToString());
                    break;
                }

                foreach (var error in host.Errors)
                {
                    Write(log, "E", actor, error.ErrorId, OneLine(error.Message));
                }

                if (Now() > giveUp)
                {
                    return 1;
                }

                Thread.Sleep(100);
            }
        }

        return 0;
    }

    /// <summary>soak-burst &lt;public&gt; &lt;count&gt; &lt;log&gt; &lt;names,...&gt;: a short-lived process that makes count suspend/resume changes on the public store.</summary>
    public static int Burst(string publicPath, int count, string logPath, string[] names)
    {
        var actor = $"burst-{Environment.ProcessId}";
        using var log = OpenLog(logPath);
        using var store = ConnectionStore.Open(publicPath);
        var random = new Random();
        var made = 0;
        for (var attempt = 0; made < count && attempt < count * 4; attempt++)
        {
            if (Flip(store, names[random.Next(names.Length)], actor, log, "S"))
            {
                made++;
            }
        }

        return 0;
    }

    /// <summary>Suspends an Active connection or resumes a Paused one, as the cmdlets do; logs the change once it is committed.</summary>
    private static bool Flip(ConnectionStore store, string name, string actor, StreamWriter log, string kind)
    {
        try
        {
            var current = store.FindByName(name) ?? throw new InvalidOperationException($"no connection '{name}'");
            var action = current.Status == ConnectionStatus.Active ? LifecycleAction.Suspend : LifecycleAction.Resume;
            var outcome = store.Change(current.Id, action, c => Lifecycle.Decide(c, action) is { } to ? c.With(c => { c.Status = to; }) : null, actor);
            if (outcome.Changed)
            {
                Write(log, kind, actor, name, outcome.After.Version.ToString(CultureInfo.InvariantCulture));
            }

            return outcome.Changed;
        }
        catch (ConnectionToolsException e)
        {
            Write(log, "E", actor, e.ErrorId, OneLine(e.Message));
            return false;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Write(log, "E", actor, e.GetType().FullName!, OneLine(e.Message));
            return false;
        }
    }

    private static StreamWriter OpenLog(string path) => new(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };

    private static void Write(StreamWriter log, string kind, string actor, string what, string value) =>
        log.WriteLine(string.Join('\t', kind, Now().ToString(CultureInfo.InvariantCulture), actor, what, value));

    private static string OneLine(string text) => string.Join(' ', text.Split(new[] { '\r', '\n', '\t' }, StringSplitOptions.RemoveEmptyEntries));

    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}

/// <summary>A host that says yes to everything and keeps what it is given.</summary>
internal sealed class SoakHost : IHostContext
{
    public List<object> Objects { get; } = new();

    public List<ConnectionToolsException> Errors { get; } = new();

    public CancellationToken CancellationToken => CancellationToken.None;

    public void WriteObject(object value) => Objects.Add(value);

    public void WriteError(ConnectionToolsException error) => Errors.Add(error);

    public void WriteWarning(string message)
    {
    }

    public void WriteVerbose(string message)
    {
    }

    public void WriteProgress(ProgressInfo progress)
    {
    }

    public bool ShouldProcess(string target, string action) => true;

    public void ThrowIfFailed()
    {
        if (Errors.Count > 0)
        {
            throw Errors[0];
        }
    }
}
