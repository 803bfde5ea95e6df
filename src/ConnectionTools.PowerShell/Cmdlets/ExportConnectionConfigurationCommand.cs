using System.IO;
using System.Management.Automation;
using ConnectionTools.Configuration;
using ConnectionTools.PowerShell.Host;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Describes this node's connections as a configuration file, without secrets; Test-ConnectionConfiguration reports it as matching.
    /// Without -Path it writes the YAML text; with -Path it writes the file (an existing one only with -Force) and returns it.
    /// </summary>
    [Cmdlet(VerbsData.Export, "ConnectionConfiguration", SupportsShouldProcess = true)]
    [OutputType(typeof(string), typeof(FileInfo))]
    public sealed class ExportConnectionConfigurationCommand : ConnectionToolsCmdlet
    {
        /// <summary>The file to write; without it, the YAML is written to the output.</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        /// <summary>Replaces the file at -Path if it exists (never a store).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessRecord() => Run(node =>
        {
            var path = Path is null ? null : GetUnresolvedProviderPathFromPSPath(Path);
            var exported = new ConfigurationCommands(node, HostContext, ConfigurationCmdlets.Services(this, node)).Export(path, Force);
            if (exported is null)
            {
                return;
            }

            if (exported.Path is null)
            {
                WriteObject(exported.Text);
            }
            else
            {
                // As Get-Item gives it, with PSPath: it pipes into Test-ConnectionConfiguration and Get-Content.
                WriteObject(InvokeProvider.Item.Get(new[] { exported.Path }, true, true), enumerateCollection: true);
            }
        });
    }
}
