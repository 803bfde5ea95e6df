using ConnectionTools.Connections;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.Core.Tests;

/// <summary>A real store in a fresh temporary folder, deleted afterwards.</summary>
internal sealed class TestStore : IDisposable
{
    public TestStore(Func<DateTimeOffset>? clock = null)
    {
        Folder = Path.Combine(Path.GetTempPath(), "ct-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        Path_ = System.IO.Path.Combine(Folder, "store.db");
        var options = new StoreOptions();
        if (clock != null)
        {
            options.Clock = clock;
        }

        Node = ConnectionNode.Open(new StoreLocation(Path_, StoreSource.Session), options, actor: "tester");
    }

    public string Folder { get; }

    public string Path_ { get; }

    public ConnectionNode Node { get; }

    public ConnectionStore Store => Node.Store;

    public ConnectionCommands Commands(RecordingHost host) => new(Node, host);

    /// <summary>Creates a connection and walks it through the real lifecycle to <paramref name="status"/>.</summary>
    public Connection Add(string name, ConnectionStatus status = ConnectionStatus.Active, ConnectionType type = ConnectionType.Private)
    {
        var created = Store.Create(new Connection { Id = Guid.NewGuid(), Name = name, Type = type, Status = ConnectionStatus.Pending }, "tester");
        var path = status switch
        {
            ConnectionStatus.Active => new[] { LifecycleAction.Accept },
            ConnectionStatus.Paused => new[] { LifecycleAction.Accept, LifecycleAction.Suspend },
            ConnectionStatus.Inactive => new[] { LifecycleAction.Accept, LifecycleAction.Deactivate },
            ConnectionStatus.Removed => new[] { LifecycleAction.Remove },
            _ => Array.Empty<LifecycleAction>(),
        };
        foreach (var action in path)
        {
            created = Store.Change(created.Id, action, c => c with
            {
                Status = Lifecycle.Decide(c, action)!.Value,
                InactiveReason = action == LifecycleAction.Deactivate ? InactiveReason.Revoked : null,
            }, "tester").After;
        }

        return created;
    }

    public Connection Get(string name) => Store.FindByName(name) ?? throw new InvalidOperationException("no " + name);

    public void Dispose()
    {
        Node.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A killed child process may still hold a handle for a moment; the temp folder is not worth failing a test over.
        }
    }
}
