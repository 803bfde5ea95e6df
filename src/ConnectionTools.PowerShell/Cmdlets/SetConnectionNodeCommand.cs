using System.Management.Automation;
using ConnectionTools.Nodes;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Changes this node's settings, such as the public URL that private sides reach it at.</summary>
    [Cmdlet(VerbsCommon.Set, "ConnectionNode", SupportsShouldProcess = true, DefaultParameterSetName = "PublicUrl")]
    [OutputType(typeof(NodeInfo))]
    public sealed class SetConnectionNodeCommand : ConnectionToolsCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = "PublicUrl")]
        [ValidateNotNullOrEmpty]
        public string PublicUrl { get; set; } = "";

        /// <summary>The connected app's consumer key New-Connection uses for Salesforce when -ClientId is omitted.</summary>
        [Parameter(ParameterSetName = "Salesforce")]
        [ValidateNotNullOrEmpty]
        public string? SalesforceClientId { get; set; }

        /// <summary>The loopback port of the interactive sign-in's callback URL (default 1717).</summary>
        [Parameter(ParameterSetName = "Salesforce")]
        [ValidateRange(1, 65535)]
        public int? SalesforceRedirectPort { get; set; }

        /// <summary>The path of the interactive sign-in's callback URL (default /OauthRedirect).</summary>
        [Parameter(ParameterSetName = "Salesforce")]
        [ValidateNotNullOrEmpty]
        public string? SalesforceRedirectPath { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing() => Run(node =>
        {
            if (ParameterSetName == "Salesforce")
            {
                new NodeCommands(node, HostContext).SetSalesforceDefaults(SalesforceClientId, SalesforceRedirectPort, SalesforceRedirectPath, PassThru);
            }
            else
            {
                new NodeCommands(node, HostContext).SetPublicUrl(PublicUrl, PassThru);
            }
        });
    }
}
