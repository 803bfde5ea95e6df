using System.Management.Automation;
using ConnectionTools.Authorization.Entra;
using ConnectionTools.PowerShell.Completion;
using ConnectionTools.PowerShell.Host;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Signs in (browser or device code) and lists the Dynamics 365 environments the account can reach in one cloud, through
    /// its Global Discovery Service: to look before New-Connection. Stores nothing and keeps no sign-in.
    /// </summary>
    [Cmdlet(VerbsCommon.Find, "ConnectionEnvironment")]
    [OutputType(typeof(DiscoveredEnvironment))]
    public sealed class FindConnectionEnvironmentCommand : ConnectionToolsCmdlet
    {
        /// <summary>Dynamics365, the only type with environments to list; checked by Core so a wrong value gets its own error id.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(DiscoverableTypeCompleter))]
        public string Type { get; set; } = "Dynamics365";

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(EnvironmentTypeCompleter))]
        public string? EnvironmentType { get; set; }

        /// <summary>Only the environments whose friendly name, unique name or URL matches (wildcards allowed).</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        public string? EnvironmentName { get; set; }

        [Parameter]
        public SwitchParameter UseDeviceCode { get; set; }

        /// <summary>The app registration (public client) to sign in with; the module's own when not given.</summary>
        [Parameter]
        public string? ClientId { get; set; }

        /// <summary>The tenant to sign in to; any work or school account's when not given.</summary>
        [Parameter]
        public string? TenantId { get; set; }

        /// <summary>A login hint: the account to sign in with.</summary>
        [Parameter]
        public string? Username { get; set; }

        protected override void ProcessRecord() => Run(node => new SystemConnectionCommands(node, HostContext).FindEnvironments(new FindEnvironmentRequest
        {
            Type = Type,
            EnvironmentType = EnvironmentType,
            EnvironmentName = EnvironmentName,
            UseDeviceCode = UseDeviceCode.IsPresent,
            ClientId = ClientId,
            TenantId = TenantId,
            Username = Username,
            Interactive = Interactivity.CanPrompt(Host),
        }));
    }

    public sealed class DiscoverableTypeCompleter : FixedValuesCompleter
    {
        public DiscoverableTypeCompleter()
            : base("Dynamics365")
        {
        }
    }
}
