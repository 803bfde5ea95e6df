using ConnectionTools.Connections;
using ConnectionTools.Storage;

namespace ConnectionTools.Testing;

/// <summary>Puts a connection into a store at a given status by walking the real lifecycle, so every step is legal and audited.</summary>
internal static class Seeding
{
    public static Connection Add(ConnectionStore store, string name, ConnectionType type, ConnectionStatus status, InactiveReason reason, string actor)
    {
        var connection = store.Create(new Connection { Id = Guid.NewGuid(), Name = name, Type = type, Status = ConnectionStatus.Pending }, actor);
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
            connection = store.Change(connection.Id, action, c => c.With(c =>
            {
                c.Status = Lifecycle.Decide(c, action)!.Value;
                c.InactiveReason = action == LifecycleAction.Deactivate ? reason : null;
            }), actor).After;
        }

        return connection;
    }

    /// <summary>Binds a private connection to a system connection straight in the store (the binding's own checks are tested elsewhere).</summary>
    public static Connection Bind(ConnectionStore store, Guid connectionId, Guid systemId, string actor = "tester") =>
        store.Change(connectionId, LifecycleAction.Edit, c => c.With(x => x.SystemConnectionId = systemId), actor).After;
}
