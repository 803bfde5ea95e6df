using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace ConnectionTools.PowerShell.Completion
{
    /// <summary>
    /// Completes from a fixed list. The parameters are strings checked by Core, so a wrong value gets the module's own
    /// error id and a fix instead of a binding error.
    /// </summary>
    public abstract class FixedValuesCompleter : IArgumentCompleter
    {
        private readonly string[] _values;

        protected FixedValuesCompleter(params string[] values)
        {
            _values = values;
        }

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
            _values.Where(v => v.StartsWith(wordToComplete ?? "", StringComparison.OrdinalIgnoreCase))
                .Select(v => new CompletionResult(v, v, CompletionResultType.ParameterValue, v))
                .ToList();
    }

    public sealed class SystemConnectionTypeCompleter : FixedValuesCompleter
    {
        public SystemConnectionTypeCompleter()
            : base("SalesforceProduction", "SalesforceSandbox", "Dynamics365")
        {
        }
    }

    public sealed class EnvironmentTypeCompleter : FixedValuesCompleter
    {
        public EnvironmentTypeCompleter()
            : base("Public", "GCC", "GCCHigh", "DoD", "China")
        {
        }
    }
}
