using System;
using Acornima;
using Acornima.Ast;
using Jint;
using ConnectionTools.Errors;

namespace ConnectionTools.SyncRules
{
    /// <summary>
    /// A sync rule script parsed once (per rule version) and run many times, each run in a fresh sandboxed engine
    /// (<see cref="RuleSandbox"/>). Parsing is the expensive part; a prepared script is immutable and safe to share between threads.
    /// </summary>
    public sealed class CompiledRule
    {
        private CompiledRule(string connectionName, SyncDirection direction, string script, Prepared<Script> prepared)
        {
            ConnectionName = connectionName;
            Direction = direction;
            Script = script;
            Prepared = prepared;
        }

        public string ConnectionName { get; }

        public SyncDirection Direction { get; }

        public string Script { get; }

        internal Prepared<Script> Prepared { get; }

        /// <summary>Parses <paramref name="script"/>; one that does not parse is refused with its line and column.</summary>
        public static CompiledRule Compile(string connectionName, SyncDirection direction, string script)
        {
            if (script is null)
            {
                throw new ArgumentNullException(nameof(script));
            }

            try
            {
                return new CompiledRule(connectionName, direction, script, Engine.PrepareScript(script, SourceName(direction)));
            }
            catch (ScriptPreparationException e) when (e.InnerException is ParseErrorException parse)
            {
                throw NotParsed(connectionName, direction, parse);
            }
            catch (ParseErrorException parse)
            {
                throw NotParsed(connectionName, direction, parse);
            }
        }

        /// <summary>The name Jint gives the script in stack traces; also how an admin tells the two directions apart.</summary>
        internal static string SourceName(SyncDirection direction) => direction == SyncDirection.Outgoing ? "outgoing" : "incoming";

        private static ConnectionToolsException NotParsed(string connectionName, SyncDirection direction, ParseErrorException parse)
        {
            // Acornima counts columns from 0; editors (and the YAML errors) count from 1.
            var at = $"line {parse.LineNumber}, column {parse.Column + 1}";
            return new ConnectionToolsException(
                ErrorIds.SyncRuleInvalidScript,
                ErrorKind.InvalidArgument,
                $"The {direction} sync rule for '{connectionName}' does not parse: {at}: {parse.Description}. Nothing was changed.",
                connectionName,
                $"Correct the script at {at} (it is JavaScript) and run Set-ConnectionSyncRule again; add -Test to try it on a sample case first.");
        }
    }
}
