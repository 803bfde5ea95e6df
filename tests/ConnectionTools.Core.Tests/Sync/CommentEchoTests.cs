using System.Text.Json.Nodes;
using ConnectionTools.Sync;

namespace ConnectionTools.Core.Tests;

/// <summary>
/// The echo check of a twinned case's comments: the comments this node's applies wrote are the partner's coming back and are
/// taken out before the outgoing rule runs; any other comment the twin did not know yet is a person's, and makes the case a change.
/// </summary>
public sealed class CommentEchoTests
{
    private static string Entity(params (string Author, string Body)[] comments) => new JsonObject
    {
        ["id"] = "5001",
        ["summary"] = "Printer jams",
        ["comments"] = new JsonArray(comments.Select(c => (JsonNode)new JsonObject { ["author"] = c.Author, ["body"] = c.Body }).ToArray()),
    }.ToJsonString();

    private static string[] Bodies(string entity) => ((JsonArray)JsonNode.Parse(entity)!["comments"]!).Select(c => (string)c!["body"]!).ToArray();

    [Fact]
    public void The_comments_an_apply_wrote_are_taken_out_once_each_and_a_person_s_comment_with_the_same_text_stays()
    {
        var entity = Entity(("Integration User", "Ada: Drum replaced"), ("Bob", "ok"), ("Integration User", "Ada: ok"), ("Bob", "Ada: ok"));

        var left = OutgoingEvents.WithoutWrittenComments(entity, """["Ada: Drum replaced","Ada: ok"]""");

        Assert.Equal(new[] { "ok", "Ada: ok" }, Bodies(left));
        Assert.Same(entity, OutgoingEvents.WithoutWrittenComments(entity, "[]"));
    }

    [Fact]
    public void A_case_is_an_echo_only_while_it_has_no_comment_the_twin_did_not_know()
    {
        var known = OutgoingEvents.NeutralState(Entity(("Bob", "ok")));

        Assert.True(OutgoingEvents.IsEcho(known, OutgoingEvents.NeutralState(Entity(("Bob", "ok")))));
        Assert.False(OutgoingEvents.IsEcho(known, OutgoingEvents.NeutralState(Entity(("Bob", "ok"), ("Carol", "Customer called")))));

        // A twin whose case was never read back (its expected state has no comments) knows none: a comment on it is sent.
        Assert.True(OutgoingEvents.IsEcho("""{"summary":"Printer jams"}""", OutgoingEvents.NeutralState(Entity())));
        Assert.False(OutgoingEvents.IsEcho("""{"summary":"Printer jams"}""", OutgoingEvents.NeutralState(Entity(("Bob", "ok")))));
    }
}
