using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Jobs;
using ConnectionTools.Storage;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Authorization.Tests;

/// <summary>A retrieval job's state follows its connection in the same transaction, and its history outlives the connection.</summary>
public sealed class JobStateTests : IDisposable
{
    private readonly TestStore _store;
    private readonly FakeAuthorizer _provider = new();
    private readonly RecordingHost _host = new();

    public JobStateTests()
    {
        _store = new TestStore(clients: new Nodes.NodeClients { Authorizers = _ => _provider });
        new SystemConnectionCommands(_store.Node, _host).New(new NewConnectionRequest
        {
            Name = "crm",
            Type = "Dynamics365",
            InstanceUrl = "https://contoso.crm.dynamics.com",
            AcceptDataProcessingAgreement = true,
            ClientId = "app",
            TenantId = "contoso.onmicrosoft.com",
            ClientSecret = "s",
        });
    }

    public void Dispose() => _store.Dispose();

    private ConnectionJob Schedule()
    {
        _host.Output.Clear();
        new JobCommands(_store.Node, _host).Get(new JobQuery { Schedule = true });
        return Assert.Single(_host.OutputOf<ConnectionJob>());
    }

    private static IEnumerable<ConnectionTarget> Crm => new[] { ConnectionTarget.ByName("crm") };

    [Fact]
    public void The_job_is_scheduled_paused_holding_scheduled_again_and_cancelled_as_the_connection_moves()
    {
        Assert.Equal((JobState.Scheduled, TimeSpan.FromMinutes(5)), (Schedule().State, Schedule().Interval));

        _store.Commands(_host).Suspend(Crm, passThru: false);
        Assert.Equal(JobState.Paused, Schedule().State);
        Assert.Null(Schedule().NextRunAt);

        _store.Commands(_host).Resume(Crm, passThru: false);
        Assert.Equal(JobState.Scheduled, Schedule().State);

        _provider.RefuseRefresh = new ProviderRefusedException(InactiveReason.Revoked, "AADSTS50173");
        new SystemConnectionCommands(_store.Node, _host).Test(Crm, new TestAuthorizationRequest());
        Assert.Equal(JobState.Holding, Schedule().State);

        var reauthorizedAt = _store.Node.Clock();
        new SystemConnectionCommands(_store.Node, _host).Update(Crm, new UpdateAuthorizationRequest());
        var back = Schedule();
        Assert.Equal(JobState.Scheduled, back.State);
        Assert.True(back.NextRunAt <= reauthorizedAt.AddSeconds(1), "a job back from Holding is due at once, to catch up");

        _store.Commands(_host).Remove(Crm, passThru: false);
        Assert.Equal(JobState.Cancelled, Schedule().State);
    }

    [Fact]
    public void The_retrieval_interval_is_set_on_system_connections_only_and_within_range()
    {
        _store.Commands(_host).Set(Crm, new ConnectionEdit { RetrievalInterval = TimeSpan.FromMinutes(15) }, passThru: false);
        Assert.Equal(TimeSpan.FromMinutes(15), Schedule().Interval);

        _store.Commands(_host).Set(Crm, new ConnectionEdit { RetrievalInterval = TimeSpan.FromSeconds(5) }, passThru: false);
        Assert.Equal(Errors.ErrorIds.ConnectionInvalidInterval, Assert.Single(_host.Errors).ErrorId);

        _store.Add("peer");
        _store.Commands(_host).Set(new[] { ConnectionTarget.ByName("peer") }, new ConnectionEdit { RetrievalInterval = TimeSpan.FromMinutes(15) }, passThru: false);
        Assert.Equal(Errors.ErrorIds.ConnectionIntervalNotOffered, _host.Errors.Last().ErrorId);
    }

    [Fact]
    public void Run_history_is_listed_by_name_after_the_connection_is_removed()
    {
        var connection = _store.Get("crm");
        _store.Store.Write(tx =>
        {
            var run = JobRows.StartRun(tx, connection, JobTrigger.Manual, _store.Node.Clock(), null);
            JobRows.FinishRun(tx, run, JobRunStatus.Succeeded, _store.Node.Clock(), null, null);
            return 0;
        });
        _store.Commands(_host).Remove(Crm, passThru: false);
        _host.Output.Clear();

        new JobCommands(_store.Node, _host).Get(new JobQuery { Connections = new[] { "crm" } });

        var run = Assert.Single(_host.OutputOf<JobRun>());
        Assert.Equal(("crm", JobRunStatus.Succeeded, connection.Id), (run.ConnectionName, run.Status, run.ConnectionId));
        Assert.Empty(_host.Errors);
    }
}
