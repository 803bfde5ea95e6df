using System.Diagnostics;
using System.Globalization;
using System.Net;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Emulators;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;
using ConnectionTools.Sync;
using ConnectionTools.SyncRules;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.Testing;

// Case sync part 2's reliability run, shared by the CI-scale test (ConnectionTools.Node.Tests, SyncApplyFaultTests) and the
// full-scale run in the benchmark project (SyncApplyFaultBenchmark, "syncapplyfaults"). Two emulated Salesforce orgs in this
// process, each bound to a node host process on its own store: node A (public, behind the FaultProxy of SyncFaultRig.cs, which
// loses one answer in ten after A processed the request and sends one request in seven twice) and node B (private). The hosts
// run their jobs: retrieval every second, apply on every job poll (A) or after every sync round (B). They reach the orgs under
// the orgs' own host names through a loopback CONNECT proxy (ProviderProxy: HTTPS_PROXY, SSL_CERT_FILE with its test CA), as a
// customer's node host reaches Salesforce behind a proxy. People create and edit cases in both orgs meanwhile; one write in ten
// into either org fails (429 with Retry-After or 500, at random, seeded); each node host is killed with kill -9 at random moments
// and started again. An admin loop retries the Failed events those provoked faults left (as an admin would: Retry-SyncEvent);
// any other Failed event is a problem. At the end both orgs must hold every case exactly once, with the same values, the ones
// the rules say, and no event left in either store.
//
// Salesforce on both sides: the Dataverse writer is being reworked ($batch) as this is written; the Dataverse direction has its
// own figures (SyncApplyBenchmark, syncapply-dv).
//
// What it found and what was fixed: a node host killed mid-pass left its claims behind (the apply claim for 5 min, a retrieval
// run Running for 30 min, a grant refresh claim for 2 min), so after a restart nothing was retrieved or applied (ProcessClaims);
// and the private node host ran a retrieval beside its round's apply, so a case the apply had just created was sent back to
// the partner as a new case and created there a second time (NodeWorkGate).
//
// What "the rules say": Script mode rules that sync summary, description, status and priority both ways (Basic mode's incoming
// rule sets the summary only on a first sync and never the status). By default each case is edited by one side: the one that
// made it (even cases) or its partner once the case arrived there (odd cases: made on one side, changed on the other); its
// expected values are its last edits. With ConcurrentEdits a case is also edited on both sides at the same moment, each side its
// own fields (the side that made it the summary and one of status/priority, its partner the description and the other), so the
// merge keeps both edits. That mode found two lost updates of the merge against an agreed base, fixed by per-field versions
// (FieldVersions): the first event the partner sent about a case made here (no twin yet) was written field by field over a
// local edit made since; and an event the partner made before it applied this side's latest change carried this side's older
// value, which the merge took for a change of the partner's.

/// <summary>The knobs of one run.</summary>
public sealed class SyncApplyFaultOptions
{
    /// <summary>Case changes made by people, on both sides: creates and edits.</summary>
    public int Changes { get; init; } = 100;

    public int KillsPerHost { get; init; } = 2;

    public int Seed { get; init; } = 2026;

    /// <summary>Share of the writes into either org that fail (429 or 500).</summary>
    public double WriteFaultRatio { get; init; } = 0.1;

    /// <summary>How long the changes (and the kills) are spread over.</summary>
    public TimeSpan ChangePeriod { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long, after the last change, the run waits for both orgs to agree.</summary>
    public TimeSpan SettleLimit { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Progress lines (and, when <see cref="HostOutput"/>, every node host's log line).</summary>
    public Action<string> Log { get; init; } = _ => { };

    public bool HostOutput { get; init; }

    /// <summary>
    /// Cases edited on both sides at the same moment (each side its own fields), so the merge decides. Off: each case is
    /// edited by one side, the one that made it or (every other case) its partner, so a case made on one side is changed on the
    /// other.
    /// </summary>
    public bool ConcurrentEdits { get; init; }

    /// <summary>
    /// Node A's store in this PostgreSQL database (a connection string without password) instead of a SQLite file, served by
    /// <see cref="PublicHosts"/> node host processes behind the one URL the partner knows; kills then hit one host at a time.
    /// </summary>
    public string? PublicDatabase { get; init; }

    /// <summary>How many node hosts serve node A (one store, one node id, one URL); more than one needs <see cref="PublicDatabase"/>.</summary>
    public int PublicHosts { get; init; } = 1;

    /// <summary>Delay of every write request into either org (an API's latency; the throughput benchmark's I/O-bound setting).</summary>
    public TimeSpan WriteLatency { get; init; }
}

/// <summary>What one run did and saw.</summary>
public sealed class SyncApplyFaultResult
{
    public int Creates { get; set; }

    public int Edits { get; set; }

    /// <summary>Cases changed on both sides: made on one side and edited on the other, or (<see cref="SyncApplyFaultOptions.ConcurrentEdits"/>) edited on both at once.</summary>
    public int EditedOnBothSides { get; set; }

    public int KillsA { get; set; }

    public int KillsB { get; set; }

    public int PeerRequests { get; set; }

    public int DroppedAnswers { get; set; }

    public int ReplayedRequests { get; set; }

    public int ThrottledWrites { get; set; }

    public int FailedWrites { get; set; }

    /// <summary>Writes into either org (each request: a collection of cases, one case, one comment).</summary>
    public int Writes { get; set; }

    /// <summary>Failed events from provoked faults that the admin loop retried.</summary>
    public int RetriedEvents { get; set; }

    /// <summary>From the last change until both orgs agreed and both stores were empty; null when they did not within the limit.</summary>
    public TimeSpan? Converged { get; set; }

    public TimeSpan Changing { get; set; }

    public int Cases { get; set; }

    /// <summary>Runs of node A's retrieval job, over every host.</summary>
    public int JobRuns { get; set; }

    /// <summary>Requests the two orgs answered (token, query and write calls), and the records their writes created or updated.</summary>
    public (int Requests, int RecordsWritten) OrgTraffic { get; set; }

    public int CasesInA { get; set; }

    public int CasesInB { get; set; }

    public List<string> Problems { get; } = new();

    public override string ToString() => string.Format(
        CultureInfo.InvariantCulture,
        "{0:N0} case changes by people in {1:0.0} s ({2:N0} creates, {3:N0} edits, {4:N0} cases changed on both sides); node host A killed {5}x, B {6}x; " +
        "{7:N0} peer requests, {8:N0} answers dropped, {9:N0} requests replayed; of {18:N0} writes into the orgs {10:N0} answered 429 and {11:N0} answered 500; {12:N0} Failed event(s) from those retried by the admin; " +
        "{13}; final: {14:N0} cases, org A holds {15:N0}, org B {16:N0}; A's retrieval ran {19:N0}x; {17}",
        Creates + Edits, Changing.TotalSeconds, Creates, Edits, EditedOnBothSides, KillsA, KillsB,
        PeerRequests, DroppedAnswers, ReplayedRequests, ThrottledWrites, FailedWrites, RetriedEvents,
        Converged is null ? "did not converge" : $"converged {Converged.Value.TotalSeconds:0.0} s after the last change",
        Cases, CasesInA, CasesInB,
        Problems.Count == 0 ? "checks passed" : $"{Problems.Count} problem(s): {string.Join("; ", Problems.Take(8))}", Writes, JobRuns);
}

/// <summary>The run itself.</summary>
public static class SyncApplyFaultRun
{
    private const string ConnectionName = "partner";

    /// <summary>Script mode's incoming rule: every neutral field as the partner has it (the three-way merge decides what is written).</summary>
    public const string IncomingRule =
        "entity.summary     = replica.summary\n" +
        "entity.description = replica.description\n" +
        "entity.status      = replica.status\n" +
        "entity.priority    = replica.priority\n" +
        "entity.comments    = commentHelper.mergeComments(entity, replica)\n";

    public static async Task<SyncApplyFaultResult> RunAsync(SyncApplyFaultOptions options, string folder)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new SyncApplyFaultResult();
        var random = new Random(options.Seed);
        var log = options.Log;
        await using var orgA = await FaultOrg.StartAsync("contoso.my.salesforce.com", "00D5g000001AbCdEAK");
        await using var orgB = await FaultOrg.StartAsync("fabrikam.my.salesforce.com", "00D5g000002XyZwEAK");
        var providers = ProviderProxy.Start(new Dictionary<string, EmulatorHost> { [orgA.Host] = orgA.Emulator, [orgB.Host] = orgB.Emulator }, Path.Combine(folder, "ca.pem"));
        await using var _ = providers;
        var aPorts = Enumerable.Range(0, options.PublicHosts).Select(_ => NodeHostProcess.FreePort()).ToArray();
        var aPort = aPorts[0];
        await using var proxy = await FaultProxy.StartAsync(aPorts);
        var aPath = Path.Combine(folder, "a.db");
        var aKey = Path.Combine(folder, "a.key");
        StoreLocation ALocation(bool create) => options.PublicDatabase is { } database
            ? StoreLocation.ForDatabase(database, StoreSource.Session, create, credential: null, keyFile: aKey)
            : new StoreLocation(aPath, StoreSource.Session, create);
        var aStore = options.PublicDatabase is { } db ? new[] { "--store", db, "--key-file", aKey } : new[] { "--store", aPath };
        var bPath = Path.Combine(folder, "b.db");
        var environment = new Dictionary<string, string?>
        {
            ["HTTPS_PROXY"] = providers.ProxyUri.AbsoluteUri,
            ["https_proxy"] = providers.ProxyUri.AbsoluteUri,
            ["SSL_CERT_FILE"] = providers.CaFile,
            ["SSL_CERT_DIR"] = null,
            ["HTTP_PROXY"] = null,
            ["http_proxy"] = null,
            ["ALL_PROXY"] = null,
            ["all_proxy"] = null,
            ["NO_PROXY"] = null,
            ["no_proxy"] = null,
        };
        var output = options.HostOutput ? (Func<string, Action<string>>)(side => line => log($"[{side}] {line}")) : _ => null!;
        NodeHostProcess StartA(int host) => NodeHostProcess.StartWith(aPorts[host], environment, options.HostOutput ? output("A" + (host + 1)) : null,
            aStore.Concat(new[] { "--urls", $"http://127.0.0.1:{aPorts[host]}", "--job-poll", "0.5" }).ToArray());
        NodeHostProcess StartB() => NodeHostProcess.StartWith(null, environment, options.HostOutput ? output("B") : null,
            "--store", bPath, "--private", "--interval", "0.5", "--job-poll", "0.5");

        // The stores: each bound to its org with a real grant (the interactive flow, run here against the emulators), paired,
        // Script mode rules on both sides, retrieval every second.
        Guid connectionA, connectionB;
        using (var a = ConnectionNode.Open(ALocation(create: true), actor: "test", clients: orgA.NodeClients()))
        using (var b = ConnectionNode.Open(new StoreLocation(bPath, StoreSource.Session, create: true), actor: "test", clients: orgB.NodeClients()))
        {
            var host = new RecordingHost();
            new NodeCommands(a, host).SetPublicUrl(proxy.Url, passThru: false);
            orgA.Authorize(a);
            orgB.Authorize(b);
            new InvitationCommands(a, host).New(new NewPrivateConnectionRequest { Name = ConnectionName, LocalInstanceName = "a", System = "sf" });
            var code = host.Output.OfType<PrivateConnectionInvitation>().Single().InvitationCode;
            await using (var acceptor = NodeHostProcess.StartWith(aPort, environment, null, aStore.Concat(new[] { "--urls", $"http://127.0.0.1:{aPort}", "--no-jobs" }).ToArray()))
            {
                await acceptor.WaitUntilListeningAsync();
                new PeerCommands(b, host).Accept(code, null, "b", system: "sf");
            }

            foreach (var node in new[] { a, b })
            {
                var target = new[] { ConnectionTarget.ByName(ConnectionName) };
                new ConnectionCommands(node, host).Set(target, new ConnectionEdit { Mode = "Script" }, passThru: false);
                new SyncRuleCommands(node, host).Set(target, SyncDirection.Incoming, IncomingRule, passThru: false);
                var system = node.Store.FindByName("sf")!;
                node.Store.Change(system.Id, LifecycleAction.Edit, c => c.With(x => x.RetrievalInterval = TimeSpan.FromSeconds(1)), "test");
            }

            if (host.Errors.Count > 0)
            {
                throw host.Errors[0];
            }

            connectionA = a.Store.FindByName(ConnectionName)!.Id;
            connectionB = b.Store.FindByName(ConnectionName)!.Id;
        }

        orgA.Emulator.WriteDelay = options.WriteLatency;
        orgB.Emulator.WriteDelay = options.WriteLatency;
        orgA.Emulator.FailWritesAtRandom(options.WriteFaultRatio, options.Seed + 1);
        orgB.Emulator.FailWritesAtRandom(options.WriteFaultRatio, options.Seed + 2);
        var nodesA = Enumerable.Range(0, options.PublicHosts).Select(StartA).ToArray();
        var nodeB = StartB();
        using var stop = new CancellationTokenSource();
        var admin = new Admin(() => ALocation(create: false), connectionA, bPath, connectionB, log);
        var adminLoop = admin.RunAsync(stop.Token);
        try
        {
            // Kills at random moments of the change period, each host started again after a short while.
            var kills = Enumerable.Repeat(true, options.KillsPerHost).Concat(Enumerable.Repeat(false, options.KillsPerHost))
                .Select(onA => (OnA: onA, At: options.ChangePeriod * (0.05 + (0.9 * random.NextDouble())), Down: TimeSpan.FromMilliseconds(random.Next(0, 500))))
                .OrderBy(k => k.At)
                .ToList();
            var clock = Stopwatch.StartNew();
            var killer = Task.Run(async () =>
            {
                foreach (var kill in kills)
                {
                    var wait = kill.At - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait);
                    }

                    if (kill.OnA)
                    {
                        // With several hosts, one after another: the others serve on meanwhile and take its jobs and applies over.
                        var host = result.KillsA % nodesA.Length;
                        await nodesA[host].DisposeAsync();
                        result.KillsA++;
                        await Task.Delay(kill.Down);
                        nodesA[host] = StartA(host);
                    }
                    else
                    {
                        await nodeB.DisposeAsync();
                        result.KillsB++;
                        await Task.Delay(kill.Down);
                        nodeB = StartB();
                    }

                    log($"{clock.Elapsed.TotalSeconds:0.0} s: node host {(kill.OnA ? "A" + (((result.KillsA - 1) % nodesA.Length) + 1) : "B")} killed (kill -9) and started again after {kill.Down.TotalMilliseconds:0} ms");
                }
            });

            // About two changes at a time, spread over the change period. The last fifth edits cases on both sides at the same
            // moment: those that already arrived on the partner's side (waiting for some to arrive if none has yet).
            var people = new People(orgA.Emulator, orgB.Emulator, new Random(options.Seed + 3), options.ConcurrentEdits);
            var pause = options.ChangePeriod / Math.Max(1, options.Changes / 2);
            var bothSides = Math.Max(2, options.Changes / 5);
            while (people.Changes < options.Changes)
            {
                if (people.Changes < options.Changes - bothSides)
                {
                    people.Step(Math.Min(options.Changes - bothSides - people.Changes, 1 + random.Next(3)));
                }
                else if (!people.EditOnBothSides(options.Changes - people.Changes))
                {
                    if (clock.Elapsed > options.ChangePeriod + options.SettleLimit)
                    {
                        result.Problems.Add("no case arrived on its partner's side to be edited on both sides");
                        break;
                    }

                    await Task.Delay(200);
                    continue;
                }

                var next = pause * (people.Changes / 2.0) - clock.Elapsed;
                if (next > TimeSpan.Zero)
                {
                    await Task.Delay(next);
                }
            }

            await killer;
            result.Changing = clock.Elapsed;
            result.Creates = people.Creates;
            result.Edits = people.Edits;
            result.EditedOnBothSides = people.BothSides;
            log($"{clock.Elapsed.TotalSeconds:0.0} s: {people.Changes} changes made ({people.Creates} creates, {people.Edits} edits, {people.BothSides} cases changed on both sides); waiting for both orgs to agree");

            // Settle: both orgs as the rules say and nothing left in either store.
            var settle = Stopwatch.StartNew();
            List<string> problems;
            while (true)
            {
                problems = people.Compare();
                if (problems.Count == 0)
                {
                    problems = admin.Leftovers();
                }

                if (problems.Count == 0)
                {
                    result.Converged = settle.Elapsed;
                    break;
                }

                if (settle.Elapsed > options.SettleLimit)
                {
                    break;
                }

                await Task.Delay(250);
            }

            result.Problems.AddRange(problems);
            var disagreements = people.Disagreements();
            if (disagreements.Count > 0)
            {
                result.Problems.Add($"the orgs disagree on {disagreements.Count} field(s): {string.Join(", ", disagreements.Take(6))}");
            }

            result.Cases = people.Cases;
            result.CasesInA = orgA.Emulator.CaseCount;
            result.CasesInB = orgB.Emulator.CaseCount;
        }
        finally
        {
            await stop.CancelAsync();
            await adminLoop.ContinueWith(_ => { }, TaskScheduler.Default);
            foreach (var nodeA in nodesA)
            {
                await nodeA.DisposeAsync();
            }

            await nodeB.DisposeAsync();
        }

        // Every retrieval run of A once per schedule: however many hosts, no two runs of the job at once.
        using (var a = ConnectionNode.Open(ALocation(create: false), actor: "check"))
        {
            var system = a.Store.FindByName("sf")!;
            var runs = a.Store.Read(db => JobRows.Runs(db, system.Id, null, null)).OrderBy(r => r.StartedAt).ToList();
            result.JobRuns = runs.Count;
            for (var i = 1; i < runs.Count; i++)
            {
                var previous = runs[i - 1];
                if (previous.EndedAt is null || previous.EndedAt > runs[i].StartedAt)
                {
                    // A run ended by a kill is closed by the next run (Failed, JobInterrupted) when it starts; only a live overlap counts.
                    if (previous.ErrorId != ErrorIds.JobInterrupted)
                    {
                        result.Problems.Add($"job runs {previous.Id} and {runs[i].Id} of A's retrieval ran at once");
                    }
                }
            }
        }

        result.Problems.AddRange(admin.Unexpected);
        result.RetriedEvents = admin.Retried;
        result.PeerRequests = proxy.Requests;
        result.DroppedAnswers = proxy.Dropped;
        result.ReplayedRequests = proxy.Replayed;
        result.ThrottledWrites = orgA.Emulator.RandomWriteThrottles + orgB.Emulator.RandomWriteThrottles;
        result.FailedWrites = orgA.Emulator.RandomWriteFailures + orgB.Emulator.RandomWriteFailures;
        result.Writes = orgA.Emulator.RandomWriteDraws + orgB.Emulator.RandomWriteDraws;
        result.OrgTraffic = (orgA.Emulator.RequestCount + orgB.Emulator.RequestCount, orgA.Emulator.WritesApplied + orgB.Emulator.WritesApplied);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return result;
    }

    /// <summary>
    /// The people of both orgs: they create cases and edit them, and remember what every case must end up holding. A case is
    /// edited on its partner's side only once it arrived there.
    /// </summary>
    private sealed class People(SalesforceEmulator orgA, SalesforceEmulator orgB, Random random, bool concurrent)
    {
        private static readonly string[] Fields = ["Subject", "Description", "Status", "Priority"];
        private readonly List<Tracked> _cases = new();
        private readonly HashSet<int> _bothSides = new();

        public int Creates { get; private set; }

        public int Edits { get; private set; }

        public int Changes => Creates + Edits;

        public int BothSides => _bothSides.Count;

        public int Cases => _cases.Count;

        /// <summary><paramref name="count"/> changes at the same moment.</summary>
        public void Step(int count)
        {
            for (var i = 0; i < count; i++)
            {
                if (_cases.Count < 3 || random.NextDouble() < 0.3)
                {
                    Create(random.Next(2) == 0);
                    continue;
                }

                var tracked = _cases[random.Next(_cases.Count)];
                if (!concurrent)
                {
                    // The case's one editing side: its origin, or (odd cases) its partner once the case arrived there; until
                    // then a case its origin edits.
                    var id = tracked.EditedByOrigin ? tracked.OriginId : PartnerId(tracked);
                    if (id is null)
                    {
                        var own = _cases.Where(c => c.EditedByOrigin).ToList();
                        tracked = own[random.Next(own.Count)];
                        id = tracked.OriginId;
                    }

                    Edit(tracked, tracked.EditedByOrigin, Fields[random.Next(Fields.Length)], id);
                    if (!tracked.EditedByOrigin)
                    {
                        _bothSides.Add(tracked.Number);
                    }

                    continue;
                }

                var partnerId = PartnerId(tracked);
                var field = Fields[random.Next(Fields.Length)];
                var byOrigin = tracked.OwnedByOrigin(field) || partnerId is null;
                if (!tracked.OwnedByOrigin(field) && partnerId is null)
                {
                    field = Fields.First(tracked.OwnedByOrigin);
                }

                Edit(tracked, byOrigin, field, byOrigin ? tracked.OriginId : partnerId!);
                if (partnerId != null && i + 1 < count && random.NextDouble() < 0.3)
                {
                    // The other side edits one of its own fields of the same case at the same moment.
                    var other = Fields.Where(f => tracked.OwnedByOrigin(f) != byOrigin).ToList()[random.Next(2)];
                    Edit(tracked, !byOrigin, other, byOrigin ? partnerId : tracked.OriginId);
                    _bothSides.Add(tracked.Number);
                    i++;
                }
            }
        }

        /// <summary>
        /// A case that arrived on its partner's side is edited on both sides at once, each side one of the fields it edits (one
        /// edit when only one change is left). False when no case has arrived on its partner's side yet.
        /// </summary>
        public bool EditOnBothSides(int left)
        {
            var arrived = _cases.Where(c => concurrent || !c.EditedByOrigin).Select(c => (Case: c, PartnerId: PartnerId(c))).Where(c => c.PartnerId != null).ToList();
            if (arrived.Count == 0)
            {
                return false;
            }

            if (!concurrent)
            {
                // One edit on the partner's side of a case made on the other side.
                var (edited, id) = arrived[random.Next(arrived.Count)];
                Edit(edited, false, Fields[random.Next(Fields.Length)], id!);
                _bothSides.Add(edited.Number);
                return true;
            }

            var (tracked, partnerId) = arrived[random.Next(arrived.Count)];
            var byOrigin = random.Next(2) == 0;
            Edit(tracked, byOrigin, Fields.Where(f => tracked.OwnedByOrigin(f) == byOrigin).ToList()[random.Next(2)], byOrigin ? tracked.OriginId : partnerId!);
            if (left > 1)
            {
                Edit(tracked, !byOrigin, Fields.Where(f => tracked.OwnedByOrigin(f) != byOrigin).ToList()[random.Next(2)], byOrigin ? partnerId! : tracked.OriginId);
                _bothSides.Add(tracked.Number);
            }

            return true;
        }

        private void Create(bool onA)
        {
            var number = _cases.Count + 1;
            var tag = (onA ? "A" : "B") + number.ToString(CultureInfo.InvariantCulture);
            var values = new Dictionary<string, string?>
            {
                ["Subject"] = tag + " s0",
                ["Description"] = tag + " d0",
                ["Status"] = SalesforceEmulator.StatusValues[random.Next(SalesforceEmulator.StatusValues.Count)],
                ["Priority"] = SalesforceEmulator.PriorityValues[random.Next(SalesforceEmulator.PriorityValues.Count)],
            };
            var id = (onA ? orgA : orgB).CreateCaseAsPerson(values);
            _cases.Add(new Tracked(number, onA, id, tag, values));
            Creates++;
        }

        private void Edit(Tracked tracked, bool byOrigin, string field, string id)
        {
            var value = field switch
            {
                "Subject" => $"{tracked.Tag} s{++tracked.Revision}",
                "Description" => $"{tracked.Tag} d{++tracked.Revision}",
                "Status" => Other(SalesforceEmulator.StatusValues, tracked.Expected["Status"]),
                _ => Other(SalesforceEmulator.PriorityValues, tracked.Expected["Priority"]),
            };
            var onA = byOrigin == tracked.OnA;
            (onA ? orgA : orgB).EditCaseAsPerson(id, new Dictionary<string, string?> { [field] = value });
            tracked.Expected[field] = value;
            Edits++;
        }

        private string Other(IReadOnlyList<string> values, string? current)
        {
            var others = values.Where(v => v != current).ToList();
            return others[random.Next(others.Count)];
        }

        /// <summary>The case's id in the partner's org (made there by the sync, with the origin's id as its external id), or null.</summary>
        private string? PartnerId(Tracked tracked) => (tracked.OnA ? orgB : orgA).FindCaseByExternalId(tracked.OriginId);

        /// <summary>The cases whose fields differ between the two orgs (whatever the rules say), by tag and field.</summary>
        public List<string> Disagreements()
        {
            var a = orgA.CasesWithFields().ToDictionary(c => c.Id, StringComparer.Ordinal);
            var aByExternal = orgA.CasesWithFields().Where(c => c.ExternalId != null).GroupBy(c => c.ExternalId!, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
            var b = orgB.CasesWithFields().ToDictionary(c => c.Id, StringComparer.Ordinal);
            var bByExternal = orgB.CasesWithFields().Where(c => c.ExternalId != null).GroupBy(c => c.ExternalId!, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
            var differ = new List<string>();
            foreach (var tracked in _cases)
            {
                var inA = tracked.OnA ? a.GetValueOrDefault(tracked.OriginId).Fields : aByExternal.GetValueOrDefault(tracked.OriginId).Fields;
                var inB = tracked.OnA ? bByExternal.GetValueOrDefault(tracked.OriginId).Fields : b.GetValueOrDefault(tracked.OriginId).Fields;
                if (inA is null || inB is null)
                {
                    continue;
                }

                foreach (var field in Fields.Where(f => !string.Equals(inA.GetValueOrDefault(f), inB.GetValueOrDefault(f), StringComparison.Ordinal)))
                {
                    differ.Add($"{tracked.Tag} {field}: '{inA.GetValueOrDefault(field)}' in org A, '{inB.GetValueOrDefault(field)}' in org B");
                }
            }

            return differ;
        }

        /// <summary>What differs from what the rules say, in both orgs: every case once on each side, with its expected values.</summary>
        public List<string> Compare()
        {
            var problems = new List<string>();
            foreach (var (org, name, onA) in new[] { (orgA, "org A", true), (orgB, "org B", false) })
            {
                var cases = org.CasesWithFields();
                var byId = cases.ToDictionary(c => c.Id, StringComparer.Ordinal);
                var byExternal = cases.Where(c => c.ExternalId != null).GroupBy(c => c.ExternalId!, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.OrdinalIgnoreCase);
                var twice = byExternal.Where(g => g.Value.Count > 1).ToList();
                if (twice.Count > 0)
                {
                    problems.Add($"{name}: {twice.Count} external id(s) on more than one case, e.g. {twice[0].Key}");
                }

                if (cases.Count != _cases.Count)
                {
                    problems.Add($"{name} holds {cases.Count} cases, not {_cases.Count}");
                }

                // A case no person made: the sync made it from something that is not one of the other side's cases (a case
                // the sync itself made there, sent back as if it were new).
                var made = _cases.Where(c => c.OnA == onA).Select(c => c.OriginId).ToHashSet(StringComparer.Ordinal);
                var expectedExternal = _cases.Where(c => c.OnA != onA).Select(c => c.OriginId).ToHashSet(StringComparer.OrdinalIgnoreCase);
                var strays = cases.Where(c => !made.Contains(c.Id) && (c.ExternalId is null || !expectedExternal.Contains(c.ExternalId))).ToList();
                if (strays.Count > 0)
                {
                    problems.Add($"{name}: {strays.Count} case(s) no person made on either side, e.g. {strays[0].Id} with external id {strays[0].ExternalId ?? "(none)"}" +
                        (strays[0].ExternalId is string echo && (onA ? orgB : orgA).FindCaseByExternalId(echo) is null && (onA ? orgB : orgA).CasesWithFields().Any(c => c.Id == echo && c.ExternalId != null)
                            ? " (a case the sync made on the other side, sent back as a new one)" : ""));
                }

                var wrong = new List<string>();
                foreach (var tracked in _cases)
                {
                    IReadOnlyDictionary<string, string?>? fields = tracked.OnA == onA
                        ? byId.GetValueOrDefault(tracked.OriginId).Fields
                        : byExternal.GetValueOrDefault(tracked.OriginId)?[0].Fields;
                    if (fields is null)
                    {
                        wrong.Add($"{tracked.Tag} ({tracked.OriginId}) missing");
                        continue;
                    }

                    foreach (var field in Fields)
                    {
                        if (!string.Equals(fields.GetValueOrDefault(field), tracked.Expected[field], StringComparison.Ordinal))
                        {
                            wrong.Add($"{tracked.Tag} {field} is '{fields.GetValueOrDefault(field)}', not '{tracked.Expected[field]}'");
                        }
                    }
                }

                if (wrong.Count > 0)
                {
                    problems.Add($"{name}: {wrong.Count} difference(s) from what the rules say, e.g. {string.Join(", ", wrong.Take(4))}");
                }
            }

            return problems;
        }

        /// <summary>A case made by a person, and what it must hold at the end.</summary>
        private sealed class Tracked(int number, bool onA, string originId, string tag, Dictionary<string, string?> expected)
        {
            public int Number { get; } = number;

            public bool OnA { get; } = onA;

            public string OriginId { get; } = originId;

            public string Tag { get; } = tag;

            public Dictionary<string, string?> Expected { get; } = expected;

            public int Revision { get; set; }

            /// <summary>
            /// Which side edits a field: the side that made the case edits the summary and, for even cases the status, for odd ones
            /// the priority; its partner edits the description and the other one.
            /// </summary>
            /// <summary>Without concurrent edits: whether the side that made the case edits it (even cases), or its partner (odd ones).</summary>
            public bool EditedByOrigin => Number % 2 == 0;

            public bool OwnedByOrigin(string field) => field switch
            {
                "Subject" => true,
                "Description" => false,
                "Status" => Number % 2 == 0,
                _ => Number % 2 != 0,
            };
        }
    }

    /// <summary>
    /// The admin: every second, retries the Failed incoming events that the provoked write faults left (Retry-SyncEvent), and
    /// records every other Failed or Held event as a problem.
    /// </summary>
    private sealed class Admin(Func<StoreLocation> aLocation, Guid connectionA, string bPath, Guid connectionB, Action<string> log)
    {
        private readonly HashSet<Guid> _reported = new();

        public int Retried { get; private set; }

        public List<string> Unexpected { get; } = new();

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(1000, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                foreach (var (location, id, side) in new[] { (aLocation, connectionA, "A"), (() => new StoreLocation(bPath, StoreSource.Session, create: false), connectionB, "B") })
                {
                    using var node = ConnectionNode.Open(location(), actor: "admin");
                    var events = node.Store.Read(db => SyncEventRows.List(db, id, SyncDirection.Incoming).Concat(SyncEventRows.List(db, id, SyncDirection.Outgoing)).ToList());
                    var provoked = new List<Guid>();
                    foreach (var e in events.Where(e => e.Status is SyncEventStatus.Failed or SyncEventStatus.Held))
                    {
                        if (e.Status == SyncEventStatus.Failed && e.Direction == SyncDirection.Incoming && Provoked(e))
                        {
                            provoked.Add(e.EventId);
                        }
                        else if (_reported.Add(e.EventId))
                        {
                            Unexpected.Add($"node {side}: {e.Direction} event of case {e.CaseId} #{e.Sequence} is {e.Status}: {e.ErrorId}: {e.Error}");
                        }
                    }

                    if (provoked.Count > 0)
                    {
                        var host = new RecordingHost();
                        new SyncEventCommands(node, host).Retry(provoked, passThru: false);
                        Retried += provoked.Count - host.Errors.Count;
                        log($"admin: retried {provoked.Count - host.Errors.Count} Failed event(s) on node {side} left by provoked write faults: {events.First(e => e.EventId == provoked[0]).Error}");
                    }
                }
            }
        }

        /// <summary>A failure the run provoked: the org answered a write 429 or 500 (also after the writer's own retries).</summary>
        private static bool Provoked(SyncEvent e) =>
            e.Error != null && (e.Error.Contains("HTTP 500", StringComparison.Ordinal) || e.Error.Contains("HTTP 429", StringComparison.Ordinal) ||
                                e.Error.Contains("429", StringComparison.Ordinal) || e.Error.Contains("UNKNOWN_EXCEPTION", StringComparison.Ordinal));

        /// <summary>Events still in either store (none once everything is applied and acknowledged).</summary>
        public List<string> Leftovers()
        {
            var problems = new List<string>();
            foreach (var (location, id, side) in new[] { (aLocation, connectionA, "A"), (() => new StoreLocation(bPath, StoreSource.Session, create: false), connectionB, "B") })
            {
                using var node = ConnectionNode.Open(location(), actor: "check");
                var left = node.Store.Read(db => SyncEventRows.List(db, id, SyncDirection.Incoming).Concat(SyncEventRows.List(db, id, SyncDirection.Outgoing)).ToList());
                if (left.Count > 0)
                {
                    problems.Add($"node {side} still holds {left.Count} event(s): " + string.Join(", ", left.GroupBy(e => (e.Direction, e.Status)).Select(g => $"{g.Count()} {g.Key.Direction} {g.Key.Status}")));
                }
            }

            return problems;
        }
    }

    /// <summary>An emulated org reached by its My Domain host (after SyncApplyBenchmark's Org): the test process signs in here.</summary>
    internal sealed class FaultOrg : IAsyncDisposable
    {
        private const string ConsumerKey = "3MVG9ConnectionTools.test.key";

        private FaultOrg(SalesforceEmulator emulator, string host)
        {
            Emulator = emulator;
            Host = host;
            Http = new HttpClient(new ProviderHostRouter().Route(host, emulator));
        }

        public SalesforceEmulator Emulator { get; }

        public string Host { get; }

        private HttpClient Http { get; }

        public NodeClients NodeClients() => new() { ProviderHttp = Http, OpenBrowser = BrowseAsync };

        public static async Task<FaultOrg> StartAsync(string host, string organizationId)
        {
            var emulator = await SalesforceEmulator.StartNewAsync(InstanceUrls.SalesforceProductionLogin, organizationId);
            emulator.RegisterConnectedApp(ConsumerKey);
            emulator.RegisterUser("integration@" + host);
            emulator.ExpectedHost = host;
            emulator.InstanceUrl = new Uri($"https://{host}/");
            return new FaultOrg(emulator, host);
        }

        /// <summary>The system connection "sf", with a real grant by the interactive flow.</summary>
        public void Authorize(ConnectionNode node)
        {
            node.Store.SetNodeSetting(ConnectionNode.SalesforceRedirectSetting, "0/OauthRedirect", "test");
            var host = new RecordingHost();
            new SystemConnectionCommands(node, host).New(new NewConnectionRequest
            {
                Name = "sf",
                Type = "SalesforceProduction",
                InstanceUrl = $"https://{Host}/",
                AcceptDataProcessingAgreement = true,
                ClientId = ConsumerKey,
                Interactive = true,
            });
            if (host.Errors.Count > 0)
            {
                throw host.Errors[0];
            }
        }

        private Task BrowseAsync(Uri url, CancellationToken cancellationToken) => AllowAccessAsync(Http, url, cancellationToken);

        /// <summary>
        /// The person at the browser of the interactive flow allows access: GETs the emulator's authorize URL through
        /// <paramref name="browser"/> (which must not follow redirects), then its redirect to the loopback listener.
        /// </summary>
        public static async Task AllowAccessAsync(HttpClient browser, Uri url, CancellationToken cancellationToken)
        {
            using var authorize = await browser.GetAsync(url, cancellationToken);
            if (authorize.StatusCode != HttpStatusCode.Found)
            {
                throw new InvalidOperationException($"The emulator did not authorize: {(int)authorize.StatusCode} {await authorize.Content.ReadAsStringAsync(cancellationToken)}");
            }

            using var redirect = await browser.GetAsync(authorize.Headers.Location!, cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Emulator.DisposeAsync();
        }
    }
}
