using System;
using System.Globalization;
using System.Text.RegularExpressions;
using Acornima.Ast;
using Jint;
using Jint.Native;
using Jint.Native.Json;
using Jint.Runtime;
using ConnectionTools.Errors;

namespace ConnectionTools.SyncRules
{
    /// <summary>How far one run of a rule may go before the sandbox stops it.</summary>
    public sealed class RuleLimits
    {
        public static readonly RuleLimits Default = new RuleLimits();

        public int MaxStatements { get; set; } = 1_000_000;

        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>Managed bytes one run may allocate. Needs GC.GetAllocatedBytesForCurrentThread (.NET Framework 4.8 or .NET).</summary>
        public long MemoryBytes { get; set; } = 64L * 1024 * 1024;

        public int RecursionDepth { get; set; } = 64;

        /// <summary>The largest replica (or entity) a rule may produce, as JSON.</summary>
        public int MaxResultChars { get; set; } = 1024 * 1024;
    }

    /// <summary>
    /// Runs sync rules: JavaScript in Jint, one fresh engine per case so nothing leaks between cases. The sandbox has no CLR access
    /// (Jint grants none unless asked), no eval or Function constructor, no I/O (the engine has none), and statement, time, memory and
    /// recursion limits. A rule that throws or hits a limit is an error of that case, naming the connection, direction and line.
    /// </summary>
    public static class RuleSandbox
    {
        // Helpers the rules may call, as plain JavaScript: nothing of the host is reachable through them.
        private const string PreludeScript =
            "var commentHelper = Object.freeze({\n" +
            "  mergeComments: function (entity, replica) {\n" +
            "    var local = (entity && entity.comments) || [];\n" +
            "    var partner = (replica && replica.comments) || [];\n" +
            "    var seen = {};\n" +
            "    var merged = [];\n" +
            "    function key(c) { return String((c && c.author) || '') + '\\u0000' + String((c && c.body) || ''); }\n" +
            "    for (var i = 0; i < local.length; i++) { merged.push(local[i]); seen[key(local[i])] = true; }\n" +
            "    for (var j = 0; j < partner.length; j++) { if (!seen[key(partner[j])]) { merged.push(partner[j]); seen[key(partner[j])] = true; } }\n" +
            "    return merged;\n" +
            "  }\n" +
            "});\n";

        private static readonly Prepared<Script> Prelude = Engine.PrepareScript(PreludeScript, "prelude");

        private static readonly Regex StackLocation = new Regex(@"(outgoing|incoming):(\d+):(\d+)", RegexOptions.CultureInvariant);

        /// <summary>
        /// Whether this runtime can count a thread's allocations, which the memory limit needs. Windows PowerShell 5.1 on .NET Framework
        /// before 4.8 cannot: the rules then run with the other limits only (<see cref="MemoryLimitNote"/> says so).
        /// </summary>
        public static bool MemoryLimitAvailable { get; } = typeof(GC).GetMethod("GetAllocatedBytesForCurrentThread", Type.EmptyTypes) != null;

        /// <summary>What to tell an admin when the memory limit cannot be enforced here; null when it can.</summary>
        public static string? MemoryLimitNote => MemoryLimitAvailable
            ? null
            : "Sync rules run without their memory limit here: it needs .NET Framework 4.8 (or PowerShell 7). The statement, time and recursion limits still apply.";

        /// <summary>Runs an outgoing rule: the local case (<paramref name="entityJson"/>) becomes the replica it returns, as JSON.</summary>
        public static string RunOutgoing(CompiledRule rule, string entityJson, string? caseLabel = null, RuleLimits? limits = null) =>
            Run(rule, SyncDirection.Outgoing, caseLabel, limits, engine =>
            {
                engine.SetValue("entity", Parse(engine, entityJson));
                engine.SetValue("replica", Parse(engine, "{}"));
                return "replica";
            });

        /// <summary>Runs an incoming rule: the partner's replica is applied to the local case, whose new state it returns, as JSON.</summary>
        public static string RunIncoming(CompiledRule rule, string entityJson, string replicaJson, bool firstSync, string? caseLabel = null, RuleLimits? limits = null) =>
            Run(rule, SyncDirection.Incoming, caseLabel, limits, engine =>
            {
                engine.SetValue("entity", Parse(engine, entityJson));
                engine.SetValue("replica", Parse(engine, replicaJson));
                engine.SetValue("firstSync", firstSync);
                return "entity";
            });

        private static string Run(CompiledRule rule, SyncDirection direction, string? caseLabel, RuleLimits? limits, Func<Engine, string> bind)
        {
            if (rule.Direction != direction)
            {
                throw new ArgumentException($"The rule is the {rule.Direction} rule; this runs {direction} rules.", nameof(rule));
            }

            limits ??= RuleLimits.Default;
            var engine = new Engine(options => Configure(options, limits));
            try
            {
                engine.Execute(Prelude);
                var resultName = bind(engine);
                engine.Execute(rule.Prepared);
                return Result(rule, engine.GetValue(resultName), resultName, caseLabel, limits, engine);
            }
            catch (JavaScriptException e)
            {
                var line = e.Location.Start.Line;
                var column = e.Location.Start.Column + 1;
                throw new ConnectionToolsException(
                    ErrorIds.SyncRuleFailed,
                    ErrorKind.InvalidData,
                    $"The {rule.Direction} sync rule of '{rule.ConnectionName}' failed{For(caseLabel)} at line {line}, column {column}: {e.Message}",
                    rule.ConnectionName,
                    Fix(rule, line));
            }
            catch (Exception e) when (e is StatementsCountOverflowException || e is TimeoutException || e is MemoryLimitExceededException || e is RecursionDepthOverflowException || e is ExecutionCanceledException)
            {
                var line = LineOf(engine);
                throw new ConnectionToolsException(
                    ErrorIds.SyncRuleLimitExceeded,
                    ErrorKind.OperationStopped,
                    $"The {rule.Direction} sync rule of '{rule.ConnectionName}' was stopped{For(caseLabel)}{(line is null ? "" : $" at line {line}")}: {LimitText(e, limits)}",
                    rule.ConnectionName,
                    Fix(rule, line));
            }
        }

        private static void Configure(Options options, RuleLimits limits)
        {
            options.Strict = false;
            options.Host.StringCompilationAllowed = false;
            options.LimitRecursion(limits.RecursionDepth);
            options.MaxStatements(limits.MaxStatements);
            options.TimeoutInterval(limits.Timeout);
            options.RegexTimeoutInterval(limits.Timeout);
            options.MaxArraySize(1_000_000);
            if (MemoryLimitAvailable)
            {
                options.LimitMemory(limits.MemoryBytes);
            }
        }

        private static JsValue Parse(Engine engine, string json) => new JsonParser(engine).Parse(json);

        private static string Result(CompiledRule rule, JsValue value, string name, string? caseLabel, RuleLimits limits, Engine engine)
        {
            if (!value.IsObject() || value.IsArray())
            {
                throw InvalidResult(rule, caseLabel, $"it left {name} as {(value.IsArray() ? "an array" : value.Type.ToString().ToLowerInvariant())}, not an object.");
            }

            var json = new JsonSerializer(engine).Serialize(value).AsString();
            if (json.Length > limits.MaxResultChars)
            {
                throw InvalidResult(rule, caseLabel, $"its {name} is {json.Length:N0} characters of JSON, more than the {limits.MaxResultChars:N0} one case may carry.");
            }

            return json;
        }

        private static ConnectionToolsException InvalidResult(CompiledRule rule, string? caseLabel, string problem) =>
            new ConnectionToolsException(
                ErrorIds.SyncRuleInvalidResult,
                ErrorKind.InvalidData,
                $"The {rule.Direction} sync rule of '{rule.ConnectionName}' made no usable result{For(caseLabel)}: {problem}",
                rule.ConnectionName,
                Fix(rule, null));

        private static string For(string? caseLabel) => caseLabel is null ? "" : $" for case {caseLabel}";

        private static string Fix(CompiledRule rule, int? line) =>
            $"Correct the {rule.Direction} rule{(line is null ? "" : $" at line {line}")} (Set-ConnectionSyncRule -Name '{rule.ConnectionName}' -Direction {rule.Direction} -Script ... -Test shows what it makes of a sample case), then retry the case's events.";

        /// <summary>The rule's line where the engine stopped, from Jint's JavaScript stack ("at ... outgoing:3:5").</summary>
        private static int? LineOf(Engine engine)
        {
            string trace;
            try
            {
                trace = engine.Advanced.StackTrace;
            }
            catch (Exception)
            {
                return null;
            }

            var match = StackLocation.Match(trace ?? "");
            return match.Success ? int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) : null;
        }

        private static string LimitText(Exception e, RuleLimits limits) => e switch
        {
            StatementsCountOverflowException => $"it ran more than {limits.MaxStatements:N0} statements (a loop that does not end?).",
            TimeoutException => $"it ran longer than {limits.Timeout.TotalSeconds:0.###} s.",
            MemoryLimitExceededException => $"it allocated more than {limits.MemoryBytes / (1024 * 1024):N0} MiB.",
            RecursionDepthOverflowException => $"it nested calls deeper than {limits.RecursionDepth} (a recursion that does not end?).",
            _ => "it was cancelled.",
        };
    }
}
