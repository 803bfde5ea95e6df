using System.Management.Automation;
using ConnectionTools.Configuration;
using ConnectionTools.PowerShell.Host;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Validates a configuration file and reports, per declared connection, the desired and actual state and what differs. Changes nothing.</summary>
    [Cmdlet(VerbsDiagnostic.Test, "ConnectionConfiguration")]
    [OutputType(typeof(ConnectionTestResult))]
    public sealed class TestConnectionConfigurationCommand : ConnectionToolsCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        protected override void ProcessRecord() => Run(node =>
            new ConfigurationCommands(node, HostContext, ConfigurationCmdlets.Services(this, node)).Test(GetUnresolvedProviderPathFromPSPath(Path)));
    }
}
