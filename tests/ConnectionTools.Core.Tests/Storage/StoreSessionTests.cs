using ConnectionTools.Connections;
using ConnectionTools.Storage;

namespace ConnectionTools.Core.Tests;

/// <summary>
/// The unit of work the store hands out: commands join its transaction, savepoints undo one item of a batch, and the
/// statements it keeps prepared are its own, for as long as its scope is open.
/// </summary>
public sealed class StoreSessionTests : IDisposable
{
    private readonly TestStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void Statements_kept_prepared_are_compiled_once_and_bound_to_each_call_s_values()
    {
        var (first, again, other) = _store.Store.Write(tx =>
        {
            using (tx.KeepStatementsPrepared())
            {
                var a = tx.Reusable("SELECT $value;", new (string, object?)[] { ("$value", 1L) })!;
                var one = a.ExecuteScalar();
                var b = tx.Reusable("SELECT $value;", new (string, object?)[] { ("$value", 2L) })!;
                var two = b.ExecuteScalar();
                Assert.Same(a, b);
                Assert.Equal(3L, tx.Scalar("SELECT $value;", ("$value", 3L)));
                return (one, two, tx.Scalar("SELECT $renamed;", ("$renamed", "x")));
            }
        });

        Assert.Equal((1L, 2L, "x"), (first, again, other));
    }

    [Fact]
    public void Without_a_scope_nothing_is_kept_and_a_scope_does_not_nest()
    {
        _store.Store.Write(tx =>
        {
            Assert.Null(tx.Reusable("SELECT 1;", Array.Empty<(string, object?)>()));
            using (tx.KeepStatementsPrepared())
            {
                Assert.NotNull(tx.Reusable("SELECT 1;", Array.Empty<(string, object?)>()));
                Assert.Throws<InvalidOperationException>(() => tx.KeepStatementsPrepared());
            }

            Assert.Null(tx.Reusable("SELECT 1;", Array.Empty<(string, object?)>()));
            using (tx.KeepStatementsPrepared())
            {
                // A new scope starts empty: the commands of the last one were disposed with it.
                Assert.Equal(1L, tx.Scalar("SELECT 1;"));
            }

            return 0;
        });
    }

    [Fact]
    public void Another_session_does_not_see_the_statements_this_one_keeps()
    {
        _store.Store.Write(tx =>
        {
            using (tx.KeepStatementsPrepared())
            {
                Assert.NotNull(tx.Reusable("SELECT 1;", Array.Empty<(string, object?)>()));
                Assert.Null(_store.Store.Read(db => db.Reusable("SELECT 1;", Array.Empty<(string, object?)>())));
            }

            return 0;
        });
    }

    [Fact]
    public void A_savepoint_rolled_back_undoes_only_what_was_written_since_it()
    {
        _store.Store.Write(tx =>
        {
            NodeRows.Set(tx, "kept", "1");
            tx.Save("item");
            NodeRows.Set(tx, "undone", "1");
            tx.Rollback("item");
            tx.Release("item");
            return 0;
        });

        Assert.Equal("1", _store.Store.GetNodeSetting("kept"));
        Assert.Null(_store.Store.GetNodeSetting("undone"));
    }

    [Fact]
    public void A_write_that_throws_commits_nothing()
    {
        var connection = _store.Add("crm");

        Assert.Throws<InvalidOperationException>(() => _store.Store.Write<int>(tx =>
        {
            NodeRows.Set(tx, "half", "1");
            GrantRows.Save(tx, connection.Id, new byte[] { 1, 2, 3 }, DateTimeOffset.UnixEpoch);
            throw new InvalidOperationException("the work failed");
        }));

        Assert.Null(_store.Store.GetNodeSetting("half"));
        Assert.Null(_store.Store.Read(db => GrantRows.Find(db, connection.Id)));
        Assert.Equal(ConnectionStatus.Active, _store.Get("crm").Status);
    }
}
