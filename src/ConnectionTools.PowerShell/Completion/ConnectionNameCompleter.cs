using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using ConnectionTools.PowerShell.Host;
using ConnectionTools.Storage;
using ConnectionTools.Text;

namespace ConnectionTools.PowerShell.Completion
{
    /// <summary>Completes connection names from the session's store, quoted where PowerShell needs it. Never throws.</summary>
    public sealed class ConnectionNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try
            {
                return Complete(wordToComplete ?? "");
            }
#pragma warning disable CA1031 // Completion must never surface an error at the prompt; no list is the right answer.
            catch (Exception)
#pragma warning restore CA1031
            {
                return Array.Empty<CompletionResult>();
            }
        }

        private static List<CompletionResult> Complete(string wordToComplete)
        {
            var prefix = CompletionText.Unquote(wordToComplete);
            return NodeSessions.Current().Store.List(new ConnectionFilter())
                .Where(c => c.Name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .Select(c => new CompletionResult(CompletionText.Quote(c.Name), c.Name, CompletionResultType.ParameterValue, $"{c.Name} ({c.Type}, {c.Status})"))
                .ToList();
        }
    }

    /// <summary>Completes the names of Salesforce and Dynamics 365 connections, the systems a private connection can be bound to (-System).</summary>
    public sealed class SystemConnectionNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try
            {
                var prefix = CompletionText.Unquote(wordToComplete ?? "");
                return NodeSessions.Current().Store.List(new ConnectionFilter { Types = Connections.SystemConnectionTypes.All })
                    .Where(c => c.Name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                    .Select(c => new CompletionResult(CompletionText.Quote(c.Name), c.Name, CompletionResultType.ParameterValue, $"{c.Name} ({c.Type}, {c.Status})"))
                    .ToList();
            }
#pragma warning disable CA1031 // Completion must never surface an error at the prompt; no list is the right answer.
            catch (Exception)
#pragma warning restore CA1031
            {
                return Array.Empty<CompletionResult>();
            }
        }
    }
}
