using System.Management.Automation;
using ConnectionTools.Configuration;
using ConnectionTools.PowerShell.Host;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Validates a configuration file, plans from one read of the store, and applies the plan: one result per connection,
    /// and one non-terminating error per connection that failed, written after the last one (so a script with
    /// $ErrorActionPreference = 'Stop' applies everything and then exits 1).
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "ConnectionConfiguration", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(ConnectionApplyResult))]
    public sealed class InvokeConnectionConfigurationCommand : ConnectionToolsCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>Removes connections this configuration once managed and no longer declares.</summary>
        [Parameter]
        public SwitchParameter Prune { get; set; }

        protected override void ProcessRecord() => Run(node =>
            new ConfigurationCommands(node, HostContext, ConfigurationCmdlets.Services(this, node)).Invoke(GetUnresolvedProviderPathFromPSPath(Path), Prune));
    }
}
