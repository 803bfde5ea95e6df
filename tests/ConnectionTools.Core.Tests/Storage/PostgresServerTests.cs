using System.Net;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;
using ConnectionTools.Testing;

namespace ConnectionTools.Core.Tests;

/// <summary>A PostgreSQL store whose server goes away and comes back: a clear, retryable error, nothing half-written, work resumes.</summary>
[Trait("Store", "PostgreSqlServer")]
public sealed class PostgresServerTests : IDisposable
{
    private readonly PostgresTestServer.OwnServer _server = new();
    private readonly string _folder = Directory.CreateTempSubdirectory("ct-pg-restart-").FullName;

    public void Dispose()
    {
        _server.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private ConnectionNode Open(bool create = false) => ConnectionNode.Open(
        StoreLocation.ForDatabase(_server.ConnectionString, StoreSource.Session, create, new NetworkCredential("connectiontools", _server.Password), Path.Combine(_folder, "store.key")),
        actor: "tester");

    [Fact]
    public void A_server_restarted_mid_run_is_a_retryable_error_that_names_no_password_and_the_next_change_works()
    {
        using var node = Open(create: true);
        Seeding.Add(node.Store, "before", ConnectionType.Private, ConnectionStatus.Active, InactiveReason.Revoked, "tester");
        var auditBefore = node.Store.AuditCount();

        _server.Halt();
        var error = Assert.Throws<ConnectionToolsException>(() =>
            Seeding.Add(node.Store, "while-down", ConnectionType.Private, ConnectionStatus.Active, InactiveReason.Revoked, "tester"));
        Assert.Equal(ErrorIds.StoreServerUnreachable, error.ErrorId);
        Assert.Equal(ErrorKind.ConnectionError, error.Kind);
        Assert.DoesNotContain(_server.Password, error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Try again", error.RecommendedAction, StringComparison.Ordinal);

        _server.Resume();

        // The pool still holds connections from before the restart: the store drops them and the change goes through.
        Seeding.Add(node.Store, "after", ConnectionType.Private, ConnectionStatus.Active, InactiveReason.Revoked, "tester");
        Assert.Equal(new[] { "after", "before" }, node.Store.List(new ConnectionFilter()).Select(c => c.Name).ToArray());
        // The audit of "after" alone: the change refused while the server was down left nothing behind.
        Assert.Equal(auditBefore * 2, node.Store.AuditCount());
    }

    [Fact]
    public void Opening_a_store_while_its_server_is_down_is_ServerUnreachable_and_a_wrong_password_is_AuthenticationFailed()
    {
        using (Open(create: true))
        {
        }

        var wrong = Assert.Throws<ConnectionToolsException>(() => ConnectionNode.Open(
            StoreLocation.ForDatabase(_server.ConnectionString, StoreSource.Session, false, new NetworkCredential("connectiontools", "not-the-password-7f3a"), Path.Combine(_folder, "store.key")),
            actor: "tester"));
        Assert.Equal(ErrorIds.StoreAuthenticationFailed, wrong.ErrorId);
        Assert.DoesNotContain("not-the-password-7f3a", wrong.ToString(), StringComparison.Ordinal);

        _server.Halt();
        var down = Assert.Throws<ConnectionToolsException>(() => Open());
        Assert.Equal(ErrorIds.StoreServerUnreachable, down.ErrorId);
    }
}
