using ConnectionTools.Connections;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Testing;

namespace ConnectionTools.Core.Tests;

/// <summary>A real store in a fresh temporary folder, deleted afterwards.</summary>
internal sealed class TestStore : IDisposable
{
    public TestStore(Func<DateTimeOffset>? clock = null, StoreOptions? options = null, NodeClients? clients = null)
    {
        Folder = Path.Combine(Path.GetTempPath(), "ct-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        Path_ = System.IO.Path.Combine(Folder, "store.db");
        options ??= new StoreOptions();
        if (clock != null)
        {
            options.Clock = clock;
        }

        Node = ConnectionNode.Open(new StoreLocation(Path_, StoreSource.Session, create: true), options, actor: "tester", clients);
    }

    public string Folder { get; }

    public string Path_ { get; }

    public ConnectionNode Node { get; }

    public ConnectionStore Store => Node.Store;

    public ConnectionCommands Commands(RecordingHost host) => new(Node, host);

    /// <summary>Creates a connection and walks it through the real lifecycle to <paramref name="status"/>.</summary>
    public Connection Add(string name, ConnectionStatus status = ConnectionStatus.Active, ConnectionType type = ConnectionType.Private) =>
        Seeding.Add(Store, name, type, status, InactiveReason.Revoked, "tester");

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
