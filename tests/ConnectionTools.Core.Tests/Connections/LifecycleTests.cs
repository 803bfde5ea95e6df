using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Core.Tests;

public class LifecycleTests
{
    private static Connection In(ConnectionStatus status) => new() { Name = "crm", Status = status };

    [Theory]
    [InlineData(ConnectionStatus.Pending, LifecycleAction.Accept, ConnectionStatus.Active)]
    [InlineData(ConnectionStatus.Active, LifecycleAction.Suspend, ConnectionStatus.Paused)]
    [InlineData(ConnectionStatus.Paused, LifecycleAction.Resume, ConnectionStatus.Active)]
    [InlineData(ConnectionStatus.Active, LifecycleAction.Deactivate, ConnectionStatus.Inactive)]
    [InlineData(ConnectionStatus.Paused, LifecycleAction.Deactivate, ConnectionStatus.Inactive)]
    [InlineData(ConnectionStatus.Inactive, LifecycleAction.Reauthorize, ConnectionStatus.Active)]
    [InlineData(ConnectionStatus.Pending, LifecycleAction.Remove, ConnectionStatus.Removed)]
    [InlineData(ConnectionStatus.Inactive, LifecycleAction.Remove, ConnectionStatus.Removed)]
    public void Legal_transitions_lead_to_their_status(ConnectionStatus from, LifecycleAction action, ConnectionStatus to)
    {
        Assert.Equal(to, Lifecycle.Decide(In(from), action));
    }

    [Theory]
    [InlineData(ConnectionStatus.Paused, LifecycleAction.Suspend)]
    [InlineData(ConnectionStatus.Active, LifecycleAction.Resume)]
    [InlineData(ConnectionStatus.Removed, LifecycleAction.Remove)]
    [InlineData(ConnectionStatus.Active, LifecycleAction.Reauthorize)]
    public void Repeating_a_transition_is_a_no_op(ConnectionStatus status, LifecycleAction action)
    {
        Assert.True(Lifecycle.IsNoOp(status, action));
        Assert.Null(Lifecycle.Decide(In(status), action));
    }

    [Fact]
    public void An_illegal_transition_names_the_current_status_and_what_is_allowed()
    {
        var error = Assert.Throws<ConnectionToolsException>(() => Lifecycle.Decide(In(ConnectionStatus.Pending), LifecycleAction.Suspend));

        Assert.Equal(ErrorIds.ConnectionIllegalTransition, error.ErrorId);
        Assert.Equal(ErrorKind.InvalidOperation, error.Kind);
        Assert.Equal("crm", error.Target);
        Assert.Contains("its status is Pending", error.Message);
        Assert.Contains("Suspend is allowed only when the status is Active.", error.Message);
        Assert.Contains("From Pending the allowed actions are: Accept, Remove", error.Message);
    }

    [Fact]
    public void Resuming_an_inactive_connection_points_to_reauthorization()
    {
        var error = Assert.Throws<ConnectionToolsException>(() => Lifecycle.Decide(In(ConnectionStatus.Inactive), LifecycleAction.Resume));

        Assert.Contains("Update-ConnectionAuthorization", error.RecommendedAction);
    }

    [Fact]
    public void An_inactive_connection_cannot_be_paused_around_its_reauthorization()
    {
        var error = Assert.Throws<ConnectionToolsException>(() => Lifecycle.Decide(In(ConnectionStatus.Inactive), LifecycleAction.Suspend));

        Assert.Contains("Update-ConnectionAuthorization", error.RecommendedAction);
    }

    [Fact]
    public void A_removed_connection_allows_nothing()
    {
        Assert.Empty(Lifecycle.AllowedFrom(ConnectionStatus.Removed));
        var error = Assert.Throws<ConnectionToolsException>(() => Lifecycle.Decide(In(ConnectionStatus.Removed), LifecycleAction.Resume));
        Assert.Contains("cannot change any more", error.Message);
    }

    [Fact]
    public void Every_status_but_removed_can_be_removed()
    {
        foreach (var status in Enum.GetValues<ConnectionStatus>().Where(s => s != ConnectionStatus.Removed))
        {
            Assert.Contains(LifecycleAction.Remove, Lifecycle.AllowedFrom(status));
        }
    }
}
