using System.Diagnostics;
using System.Text.Json.Nodes;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Jobs.Retrieval;
using ConnectionTools.Nodes;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Core.Tests;

/// <summary>Sync rules run in Jint: the Basic rules as generated, Script rules in a sandbox whose limits stop a rule, never the host.</summary>
public sealed class RuleSandboxTests
{
    private static CompiledRule Outgoing(string script) => CompiledRule.Compile("crm", SyncDirection.Outgoing, script);

    private static CompiledRule Incoming(string script) => CompiledRule.Compile("crm", SyncDirection.Incoming, script);

    private static JsonObject Json(string json) => (JsonObject)JsonNode.Parse(json)!;

    [Fact]
    public void The_Basic_outgoing_rule_turns_a_case_into_a_replica_of_the_shared_fields()
    {
        var replica = Json(RuleSandbox.RunOutgoing(Outgoing(BasicSyncRules.Outgoing), CaseEntities.Sample));

        Assert.Equal(new[] { "key", "summary", "description", "status", "priority", "comments" }, replica.Select(p => p.Key));
        Assert.Equal("00001026", (string?)replica["key"]);
        Assert.Equal("Printer on floor 3 jams", (string?)replica["summary"]);
        Assert.Equal("Ada Admin", (string?)replica["comments"]![0]!["author"]);
    }

    [Theory]
    [InlineData(true, "Partner summary")]
    [InlineData(false, "Local summary")]
    public void The_Basic_incoming_rule_sets_the_summary_on_the_first_sync_only_and_merges_comments(bool firstSync, string summary)
    {
        var entity = """{"summary":"Local summary","description":"old","priority":"Low","comments":[{"author":"a","body":"one"}]}""";
        var replica = """{"summary":"Partner summary","description":"new","priority":"High","comments":[{"author":"a","body":"one"},{"author":"b","body":"two"}]}""";

        var result = Json(RuleSandbox.RunIncoming(Incoming(BasicSyncRules.Incoming), entity, replica, firstSync));

        Assert.Equal(summary, (string?)result["summary"]);
        Assert.Equal(("new", "High"), ((string?)result["description"], (string?)result["priority"]));
        Assert.Equal(new[] { "one", "two" }, result["comments"]!.AsArray().Select(c => (string?)c!["body"]));
    }

    [Fact]
    public void A_script_that_does_not_parse_is_refused_with_its_line_and_column()
    {
        var error = Assert.Throws<ConnectionToolsException>(() => Outgoing("replica.key = entity.key\nreplica.summary = ;\n"));

        Assert.Equal(ErrorIds.SyncRuleInvalidScript, error.ErrorId);
        Assert.Contains("'crm'", error.Message);
        Assert.Contains("line 2, column 19", error.Message);
        Assert.Contains("line 2, column 19", error.RecommendedAction);
    }

    [Fact]
    public void A_rule_that_throws_is_an_error_of_that_case_with_the_rule_line()
    {
        var rule = Outgoing("replica.key = entity.key\nreplica.x = entity.missing.deeper\n");

        var error = Assert.Throws<ConnectionToolsException>(() => RuleSandbox.RunOutgoing(rule, CaseEntities.Sample, "00001026"));

        Assert.Equal(ErrorIds.SyncRuleFailed, error.ErrorId);
        Assert.Contains("Outgoing sync rule of 'crm' failed for case 00001026 at line 2", error.Message);
    }

    [Theory]
    [InlineData("replica.key = entity.key\nwhile (true) { }\n", "statements", 2)]
    [InlineData("function deeper(n) { return deeper(n + 1) }\nreplica.n = deeper(0)\n", "nested calls", 1)]
    public void A_rule_that_never_ends_is_stopped_by_the_sandbox_with_its_line(string script, string limit, int line)
    {
        var error = Assert.Throws<ConnectionToolsException>(() => RuleSandbox.RunOutgoing(Outgoing(script), CaseEntities.Sample, "00001026"));

        Assert.Equal(ErrorIds.SyncRuleLimitExceeded, error.ErrorId);
        Assert.Contains(limit, error.Message);
        Assert.Contains($"at line {line}", error.Message);
    }

    [Fact]
    public void A_rule_that_allocates_without_bound_is_stopped_by_the_memory_limit()
    {
        Assert.True(RuleSandbox.MemoryLimitAvailable);
        var limits = new RuleLimits { MaxStatements = int.MaxValue, Timeout = TimeSpan.FromSeconds(30), MemoryBytes = 16L * 1024 * 1024 };
        var rule = Outgoing("var all = {}\nfor (var i = 0; ; i++) { all['k' + i] = [i, i, i, i] }\n");

        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<ConnectionToolsException>(() => RuleSandbox.RunOutgoing(rule, CaseEntities.Sample, "00001026", limits));

        Assert.Equal(ErrorIds.SyncRuleLimitExceeded, error.ErrorId);
        Assert.Contains("allocated more than 16 MiB", error.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"stopped after {watch.Elapsed}");
    }

    [Theory]
    [InlineData("replica.x = eval('1')")]
    [InlineData("replica.x = Function('return 1')()")]
    [InlineData("replica.x = System.IO.File.ReadAllText('/etc/passwd')")]
    [InlineData("replica.x = importNamespace('System.IO')")]
    [InlineData("replica.x = require('fs')")]
    public void The_sandbox_offers_no_code_from_strings_no_CLR_and_no_IO(string script)
    {
        var error = Assert.Throws<ConnectionToolsException>(() => RuleSandbox.RunOutgoing(Outgoing(script), CaseEntities.Sample));

        Assert.Equal(ErrorIds.SyncRuleFailed, error.ErrorId);
    }

    [Fact]
    public void Nothing_leaks_from_one_case_to_the_next()
    {
        var rule = Outgoing("replica.before = typeof leaked\nleaked = entity.key\nObject.prototype.polluted = 1\n");

        RuleSandbox.RunOutgoing(rule, CaseEntities.Sample);
        var second = Json(RuleSandbox.RunOutgoing(rule, CaseEntities.Sample));

        Assert.Equal("undefined", (string?)second["before"]);
        Assert.Null(second["polluted"]);
    }

    [Theory]
    [InlineData("replica = 5", "number")]
    [InlineData("replica = [1, 2]", "an array")]
    [InlineData("replica = null", "null")]
    public void A_rule_must_leave_the_replica_an_object(string script, string what)
    {
        var error = Assert.Throws<ConnectionToolsException>(() => RuleSandbox.RunOutgoing(Outgoing(script), CaseEntities.Sample));

        Assert.Equal(ErrorIds.SyncRuleInvalidResult, error.ErrorId);
        Assert.Contains(what, error.Message);
    }

    [Fact]
    public void Cases_from_Salesforce_and_Dynamics_365_look_the_same_to_a_rule()
    {
        var salesforce = new CaseRecord("5003000000D8cuIAAR", DateTimeOffset.UnixEpoch, "00001026", "Printer jams", "New",
            """{"Id":"5003000000D8cuIAAR","Description":"Jams daily","Priority":"High","CaseComments":{"records":[{"CommentBody":"Drum replaced","CreatedDate":"2026-12-01T09:30:00Z","CreatedBy":{"Name":"Ada"}}]}}""");
        var dataverse = new CaseRecord("0f8fad5b-d9cb-469f-a165-70867728950e", DateTimeOffset.UnixEpoch, "CAS-01026", "Printer jams", "Active",
            """{"incidentid":"0f8fad5b-d9cb-469f-a165-70867728950e","description":"Jams daily","prioritycode":1,"prioritycode@OData.Community.Display.V1.FormattedValue":"High"}""");

        var fromSalesforce = Json(CaseEntities.FromRecord(ConnectionType.SalesforceProduction, salesforce));
        var fromDataverse = Json(CaseEntities.FromRecord(ConnectionType.Dynamics365, dataverse));

        foreach (var entity in new[] { fromSalesforce, fromDataverse })
        {
            Assert.Equal(("Printer jams", "Jams daily", "High"), ((string?)entity["summary"], (string?)entity["description"], (string?)entity["priority"]));
        }

        Assert.Equal("Drum replaced", (string?)fromSalesforce["comments"]![0]!["body"]);
        Assert.Empty(fromDataverse["comments"]!.AsArray());
        Assert.Equal("CAS-01026", (string?)fromDataverse["key"]);
        Assert.Equal(1, (int?)fromDataverse["fields"]!["prioritycode"]);
    }
}

/// <summary>Set-ConnectionSyncRule's parse check and -Test, through the command class the cmdlet calls.</summary>
public sealed class SyncRuleScriptTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly RecordingHost _host = new();

    public SyncRuleScriptTests()
    {
        new NodeCommands(_store.Node, _host).SetPublicUrl("https://node.contoso.example/", passThru: false);
        new InvitationCommands(_store.Node, _host).New(new NewPrivateConnectionRequest { Name = "crm", LocalInstanceName = "contoso" });
        _host.Output.Clear();
        _host.ShouldProcessCalls.Clear();
    }

    public void Dispose() => _store.Dispose();

    private static IEnumerable<ConnectionTarget> Crm => new[] { ConnectionTarget.ByName("crm") };

    private SyncRuleCommands Rules => new(_store.Node, _host);

    [Fact]
    public void A_script_that_does_not_parse_is_not_saved()
    {
        new ConnectionCommands(_store.Node, _host).Set(Crm, new ConnectionEdit { Mode = "Script" }, passThru: false);

        Rules.Set(Crm, SyncDirection.Outgoing, "replica.key = (", passThru: false);

        var error = Assert.Single(_host.Errors);
        Assert.Equal(ErrorIds.SyncRuleInvalidScript, error.ErrorId);
        Assert.Contains("line 1, column 16", error.Message);
        Rules.Get(Crm);
        Assert.Equal(BasicSyncRules.Outgoing, _host.OutputOf<SyncRule>().Single(r => r.Direction == SyncDirection.Outgoing).Script);
    }

    [Fact]
    public void Test_runs_the_script_on_a_sample_and_saves_nothing_even_in_Basic_mode()
    {
        Rules.Set(Crm, SyncDirection.Outgoing, "replica.title = entity.summary.toUpperCase()", passThru: false, test: true, sample: """{"summary":"printer jams"}""");

        Assert.Empty(_host.Errors);
        var result = Assert.Single(_host.OutputOf<SyncRuleTestResult>());
        Assert.Equal("PRINTER JAMS", (string?)JsonNode.Parse(result.Output)!["title"]);
        Assert.Contains("\n", result.Output);
        Assert.Empty(_host.ShouldProcessCalls);
        Rules.Get(Crm);
        Assert.Equal(BasicSyncRules.Outgoing, _host.OutputOf<SyncRule>().Single(r => r.Direction == SyncDirection.Outgoing).Script);
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("not json")]
    public void Test_refuses_a_sample_that_is_not_a_JSON_object(string sample)
    {
        Rules.Set(Crm, SyncDirection.Incoming, BasicSyncRules.Incoming, passThru: false, test: true, sample: sample);

        Assert.Equal(ErrorIds.SyncRuleInvalidSample, Assert.Single(_host.Errors).ErrorId);
    }
}
