using System.Collections.Generic;
using System.Management.Automation;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Refreshes each system connection's grant without prompting and reports Valid or why not. A refused grant makes the
    /// connection Inactive with that reason. Without -Name, tests every system connection.
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "ConnectionAuthorization", DefaultParameterSetName = All)]
    [OutputType(typeof(AuthorizationResult))]
    public sealed class TestConnectionAuthorizationCommand : ConnectionTargetCmdlet
    {
        internal const string All = "All";

        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = SystemConnectionCommands.DefaultThrottleLimit;

        private readonly List<ConnectionTarget> _targets = new List<ConnectionTarget>();

        // Collected first, so the grants are refreshed in parallel rather than one pipeline item at a time.
        protected override void ProcessRecord()
        {
            if (ParameterSetName != All)
            {
                _targets.AddRange(Targets());
            }
        }

        protected override void EndProcessing() => Run(node =>
            new SystemConnectionCommands(node, HostContext).Test(ParameterSetName == All ? null : _targets, new TestAuthorizationRequest { ThrottleLimit = ThrottleLimit }));
    }
}
