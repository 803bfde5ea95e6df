using ConnectionTools.Storage;
using ConnectionTools.Sync;

namespace ConnectionTools.Core.Tests;

/// <summary>
/// A twinned case the retrieval job read while this node's apply wrote it: in the state it had before that write, it is not a
/// change to send back (it would take the partner's change back); any other state is.
/// </summary>
public sealed class ReadBeforeApplyTests
{
    private const string Before = """{"summary":"Printer jams","description":"old","status":"New","priority":"High","comments":[]}""";
    private const string Written = """{"summary":"Printer jams","description":"from the partner","status":"New","priority":"High","comments":[]}""";
    private const string PersonChanged = """{"summary":"Printer jams","description":"old","status":"New","priority":"Low","comments":[]}""";

    private static SyncTwinRows.Twin Twin(long? appliedAt, string? prior) =>
        new("P1", "L1", "{}", Written, "{}", ours: false) { AppliedAt = appliedAt, PriorExpected = prior };

    [Fact]
    public void A_read_made_before_the_apply_committed_in_the_state_before_it_is_not_sent()
    {
        Assert.True(OutgoingEvents.IsReadBeforeApply(Twin(1_000, Before), Before, readFrom: 900));
        Assert.True(OutgoingEvents.IsReadBeforeApply(Twin(1_000, Before), Before, readFrom: 999));
    }

    [Fact]
    public void A_read_made_after_the_apply_a_person_s_change_or_a_twin_without_an_apply_time_is_judged_as_usual()
    {
        Assert.False(OutgoingEvents.IsReadBeforeApply(Twin(1_000, Before), Before, readFrom: 1_000)); // begun after, or in the same millisecond as, the commit
        Assert.False(OutgoingEvents.IsReadBeforeApply(Twin(1_000, Before), PersonChanged, readFrom: 900));
        Assert.False(OutgoingEvents.IsReadBeforeApply(Twin(null, Before), Before, readFrom: 900));
    }

    [Fact]
    public void Any_read_of_a_twin_made_before_the_apply_that_made_it_committed_is_an_old_one()
    {
        // The twin of one of this node's cases, made by the partner's first event about it: that apply wrote every field.
        Assert.True(OutgoingEvents.IsReadBeforeApply(Twin(1_000, null), PersonChanged, readFrom: 900));
        Assert.False(OutgoingEvents.IsReadBeforeApply(Twin(1_000, null), PersonChanged, readFrom: 1_001));
    }
}
