using System.Text.Json.Nodes;
using ConnectionTools.Connections;
using ConnectionTools.Emulators;
using ConnectionTools.Errors;
using ConnectionTools.Jobs;
using ConnectionTools.Peering;
using ConnectionTools.Storage;
using ConnectionTools.Sync;
using ConnectionTools.Sync.Apply;
using ConnectionTools.SyncRules;
using ConnectionTools.SystemConnections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Testing;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// Comments synced both ways between two nodes, each bound to its own Salesforce org (the emulators): append-only, exactly once,
/// never echoed back; and an apply that stopped after writing comments but before recording them does not write them twice.
/// Events go from one node's outgoing queue to the other's incoming queue as the transport carries them (taken, received, forgotten).
/// </summary>
public sealed class CommentSyncTests : IAsyncLifetime
{
    private BoundSalesforce _a = null!;
    private BoundSalesforce _b = null!;
    private Connection _aToB = null!;
    private Connection _bToA = null!;

    public async Task InitializeAsync()
    {
        _a = await BoundSalesforce.StartAsync();
        _b = await BoundSalesforce.StartAsync();
        _aToB = _a.Bind("partner");
        _bToA = _b.Bind("partner");
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static SalesforceEmulator Org(BoundSalesforce side) => side.Org.Emulator;

    private Connection Link(BoundSalesforce side) => side == _a ? _aToB : _bToA;

    private static async Task RetrieveAsync(BoundSalesforce side)
    {
        var run = await new RetrievalRunner(side.Store.Node).RunAsync(side.Store.Get("sf"), JobTrigger.Manual, _ => { }, CancellationToken.None);
        Assert.Null(run.ErrorId);
    }

    /// <summary>Carries every sendable event of <paramref name="from"/> to the other node; returns them.</summary>
    private List<SyncEventMessage> Deliver(BoundSalesforce from)
    {
        var to = from == _a ? _b : _a;
        var batch = from.Store.Store.Write(tx => SyncTransportRows.TakeSendable(tx, Link(from).Id, 500, DateTimeOffset.UtcNow));
        to.Store.Store.Write(tx =>
        {
            foreach (var message in batch)
            {
                SyncTransportRows.Receive(tx, Link(to).Id, message, DateTimeOffset.UtcNow, "the test");
            }

            return 0;
        });
        from.Store.Store.Write(tx => SyncTransportRows.Forget(tx, Link(from).Id, batch.Select(m => m.EventId)));
        return batch;
    }

    private Task<ApplyResult> ApplyAsync(BoundSalesforce side, Func<ICaseWriter, ICaseWriter>? wrap = null) =>
        IncomingApply.RunAsync(side.Store.Node, Link(side), access => (wrap ?? (w => w))(CaseWriters.For(side.Store.Node, access)), _ => { }, CancellationToken.None);

    private static List<(string? Author, string? Body)> ReplicaComments(SyncEventMessage message) =>
        ((JsonArray)JsonNode.Parse(message.Replica)!["comments"]!).Select(c => ((string?)c!["author"], (string?)c!["body"])).ToList();

    /// <summary>The partner's event for one of its cases, as its outgoing rule would make it, straight into <paramref name="side"/>'s incoming queue.</summary>
    private void Receive(BoundSalesforce side, string caseId, long sequence, params string[] comments) => side.Store.Store.Write(tx =>
    {
        var thread = new JsonArray(comments.Select(c => (JsonNode)new JsonObject { ["author"] = "Partner Agent", ["body"] = c }).ToArray());
        var replica = new JsonObject { ["key"] = "P-" + caseId, ["summary"] = "Printer jams", ["description"] = "on floor 3", ["priority"] = "High", ["comments"] = thread };
        SyncTransportRows.Receive(tx, Link(side).Id, new SyncEventMessage
        {
            EventId = Guid.NewGuid().ToString("D"),
            TraceId = "trace-" + caseId + "-" + sequence,
            CaseId = caseId,
            Sequence = sequence,
            Replica = replica.ToJsonString(),
        }, DateTimeOffset.UtcNow, "the test");
        return 0;
    });

    private static IReadOnlyList<SyncEvent> Incoming(BoundSalesforce side, Connection link) =>
        side.Store.Store.Read(db => SyncEventRows.List(db, link.Id, SyncDirection.Incoming));

    [Fact]
    public async Task A_comment_made_on_A_lands_once_on_B_is_not_sent_back_and_a_later_comment_made_on_B_reaches_A()
    {
        Org(_a).AddCases(1, DateTimeOffset.UtcNow.AddMinutes(-5), TimeSpan.FromSeconds(1));
        var caseA = SalesforceEmulator.CaseId(1);
        Org(_a).AddComment(caseA, "Printer jams on page 2.", "Ada Admin");

        await RetrieveAsync(_a);
        var sent = Assert.Single(Deliver(_a));
        Assert.Equal(new[] { ("Ada Admin", "Printer jams on page 2.") }, ReplicaComments(sent).Select(c => (c.Author!, c.Body!)));
        Assert.Equal(1, (await ApplyAsync(_b)).Applied);
        var caseB = Org(_b).FindCaseByExternalId(caseA)!;
        Assert.Equal(new[] { "Ada Admin: Printer jams on page 2." }, Org(_b).CommentBodies(caseB));

        // B's own write comes back through B's retrieval (the comment moved the case): nothing goes back to A.
        await RetrieveAsync(_b);
        Assert.Empty(Deliver(_b));

        // Someone on B comments later: that comment, and only that one, goes to A, and lands there once.
        Org(_b).AddComment(caseB, "Replaced the drum.", "Bob Agent");
        await RetrieveAsync(_b);
        var reply = Assert.Single(Deliver(_b));
        Assert.Equal(new[] { ("Bob Agent", "Replaced the drum.") }, ReplicaComments(reply).Select(c => (c.Author!, c.Body!)));
        Assert.Equal(1, (await ApplyAsync(_a)).Applied);
        Assert.Equal(new[] { "Printer jams on page 2.", "Bob Agent: Replaced the drum." }, Org(_a).CommentBodies(caseA));

        // A does not send back the comment its apply wrote. (Its twin of its own case has not read that case's comments yet, so
        // it tells B about Ada's comment once more; B has it, and writes nothing.)
        await RetrieveAsync(_a);
        var back = Deliver(_a);
        Assert.All(back, m => Assert.DoesNotContain(ReplicaComments(m), c => c.Body!.Contains("Replaced the drum.", StringComparison.Ordinal)));
        await ApplyAsync(_b);
        Assert.Equal(new[] { "Ada Admin: Printer jams on page 2.", "Replaced the drum." }, Org(_b).CommentBodies(caseB));
        Assert.Equal(new[] { "Printer jams on page 2.", "Bob Agent: Replaced the drum." }, Org(_a).CommentBodies(caseA));

        // Settled: nothing more goes either way.
        await RetrieveAsync(_b);
        Assert.Empty(Deliver(_b));
        await RetrieveAsync(_a);
        Assert.Empty(Deliver(_a));
    }

    [Fact]
    public async Task An_apply_that_stopped_after_writing_comments_and_before_recording_them_writes_none_twice_when_it_runs_again()
    {
        Receive(_b, "P1", 1, "Drum replaced", "Watching it");

        // The comments reach the org, then the process dies before the store records the apply: the event is still queued.
        await Assert.ThrowsAsync<IOException>(() => ApplyAsync(_b, w => new CrashAfterWrite(w)));
        var local = Org(_b).FindCaseByExternalId("P1")!;
        Assert.Equal(2, Org(_b).CommentBodies(local).Count);
        Assert.Equal(SyncEventStatus.Queued, Incoming(_b, _bToA).Single().Status);

        Assert.Equal(1, (await ApplyAsync(_b)).Applied);
        Assert.Equal(new[] { "Partner Agent: Drum replaced", "Partner Agent: Watching it" }, Org(_b).CommentBodies(local));

        // The same again on a case that has its twin: the partner's next event adds one comment.
        Receive(_b, "P1", 2, "Drum replaced", "Watching it", "Jams again");
        await Assert.ThrowsAsync<IOException>(() => ApplyAsync(_b, w => new CrashAfterWrite(w)));
        Assert.Equal(1, (await ApplyAsync(_b)).Applied);
        Assert.Equal(new[] { "Partner Agent: Drum replaced", "Partner Agent: Watching it", "Partner Agent: Jams again" }, Org(_b).CommentBodies(local));

        // The partner sends the same thread again (the same event, once more): nothing is added.
        Receive(_b, "P1", 3, "Drum replaced", "Watching it", "Jams again");
        Assert.Equal(1, (await ApplyAsync(_b)).Applied);
        Assert.Equal(3, Org(_b).CommentBodies(local).Count);

        // Every comment written, the reconciled ones included, is known as this node's own: none goes back to the partner.
        await RetrieveAsync(_b);
        Assert.Empty(Deliver(_b));
        Assert.False(_b.Store.Store.Read(db => SyncTwinRows.CommentWritesUncertain(db, _bToA.Id, "P1")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_comment_without_a_clear_answer_is_written_on_retry_only_if_it_is_not_there(bool arrived)
    {
        Receive(_b, "P1", 1, "Drum replaced");
        Assert.Equal(1, (await ApplyAsync(_b)).Applied);
        var local = Org(_b).FindCaseByExternalId("P1")!;

        // The next comment's request gets no clear answer: it arrived, or it did not.
        Receive(_b, "P1", 2, "Drum replaced", "Watching it");
        Assert.Equal(1, (await ApplyAsync(_b, w => new LoseLastAnswer(w, arrived))).Failed);
        var failed = Assert.Single(Incoming(_b, _bToA));
        Assert.Equal(ErrorIds.SyncApplyCommentFailed, failed.ErrorId);
        Assert.Equal(arrived ? 2 : 1, Org(_b).CommentBodies(local).Count);

        // The retry reads the case's comments: the comment is written if it is missing, and not again if it is there.
        new SyncEventCommands(_b.Store.Node, new RecordingHost()).Retry(new[] { failed.EventId }, passThru: false);
        Assert.Equal(1, (await ApplyAsync(_b)).Applied);
        Assert.Equal(new[] { "Partner Agent: Drum replaced", "Partner Agent: Watching it" }, Org(_b).CommentBodies(local));
    }

    /// <summary>Writes, then "crashes" before the engine can record what was written.</summary>
    private sealed class CrashAfterWrite : ICaseWriter, ICommentReader
    {
        private readonly ICaseWriter _inner;

        public CrashAfterWrite(ICaseWriter inner) => _inner = inner;

        public int MaxBatch => _inner.MaxBatch;

        public async Task<IReadOnlyList<CaseWriteResult>> WriteAsync(IReadOnlyList<CaseWrite> writes, CancellationToken cancellationToken)
        {
            await _inner.WriteAsync(writes, cancellationToken);
            throw new IOException("The process stopped.");
        }

        public Task<IReadOnlyList<string>> CommentBodiesAsync(string localCaseId, CancellationToken cancellationToken) =>
            ((ICommentReader)_inner).CommentBodiesAsync(localCaseId, cancellationToken);
    }

    /// <summary>Reports the last new comment of each case as sent without a clear answer; it is written only when it <c>arrived</c>.</summary>
    private sealed class LoseLastAnswer : ICaseWriter, ICommentReader
    {
        private readonly ICaseWriter _inner;
        private readonly bool _arrived;

        public LoseLastAnswer(ICaseWriter inner, bool arrived)
        {
            _inner = inner;
            _arrived = arrived;
        }

        public int MaxBatch => _inner.MaxBatch;

        public async Task<IReadOnlyList<CaseWriteResult>> WriteAsync(IReadOnlyList<CaseWrite> writes, CancellationToken cancellationToken)
        {
            var shortened = _arrived ? writes : writes.Select(w => new CaseWrite(w.PartnerCaseId, w.Fields, w.NewComments.Take(Math.Max(0, w.NewComments.Count - 1)).ToList(), w.LocalCaseId)).ToList();
            var results = await _inner.WriteAsync(shortened, cancellationToken);
            return results.Select((r, i) => writes[i].NewComments.Count == 0 || r.Error != null ? r : new CaseWriteResult(r.PartnerCaseId, r.LocalCaseId, r.Created,
                CaseWriteChecks.CommentFailed("Salesforce", r.PartnerCaseId, r.LocalCaseId!, writes[i].NewComments.Count - 1, uncertain: true, "the request timed out", null))).ToList();
        }

        public Task<IReadOnlyList<string>> CommentBodiesAsync(string localCaseId, CancellationToken cancellationToken) =>
            ((ICommentReader)_inner).CommentBodiesAsync(localCaseId, cancellationToken);
    }
}
