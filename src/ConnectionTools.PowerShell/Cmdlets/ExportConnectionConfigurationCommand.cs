using System.Management.Automation;
using ConnectionTools.Configuration;
using ConnectionTools.PowerShell.Host;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Describes this node's connections as a configuration file, without secrets; Test-ConnectionConfiguration reports it as matching.</summary>
    [Cmdlet(VerbsData.Export, "ConnectionConfiguration", SupportsShouldProcess = true)]
    [OutputType(typeof(ExportedConfiguration))]
    public sealed class ExportConnectionConfigurationCommand : ConnectionToolsCmdlet
    {
        /// <summary>The file to write; without it, the YAML is only returned.</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        protected override void ProcessRecord() => Run(node =>
            new ConfigurationCommands(node, HostContext, ConfigurationCmdlets.Services(this, node)).Export(Path is null ? null : GetUnresolvedProviderPathFromPSPath(Path)));
    }
}
