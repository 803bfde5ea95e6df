using System;
using System.IO;
using System.Management.Automation;
using ConnectionTools.Errors;
using ConnectionTools.NodeHosting;
using ConnectionTools.PowerShell.Host;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Writes the service definition that runs the node host for this session's store under the platform's service manager: a
    /// systemd unit, a launchd plist, or a Windows service through New-Service. -WhatIf shows what it would write.
    /// </summary>
    [Cmdlet(VerbsCommon.New, "ConnectionNodeService", SupportsShouldProcess = true, DefaultParameterSetName = PublicSet)]
    [OutputType(typeof(NodeServiceDefinition))]
    public sealed class NewConnectionNodeServiceCommand : NodeHostCmdlet
    {
        /// <summary>The service's name: the unit's, the launchd label, or the Windows service name.</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; } = "connectiontools-node";

        /// <summary>The account the service runs as; it must own the store and its key. The default is the current user.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Account { get; set; }

        /// <summary>Where the unit or plist is written instead of the service manager's folder (to review or copy it).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        /// <summary>On Windows, the password of -Account for New-Service.</summary>
        [Parameter]
        [Credential]
        public PSCredential? Credential { get; set; }

        protected override void EndProcessing() => Run(() =>
        {
            var location = NodeSessions.CurrentLocation(SessionState);
            if (location.KeyFile != null)
            {
                // Not yet: the definition's log folder and account checks are about a store file, and the service needs its own password source.
                throw new ConnectionToolsException(
                    ErrorIds.NodeHostInvalidOption,
                    ErrorKind.InvalidArgument,
                    $"New-ConnectionNodeService does not write a service for a PostgreSQL store ('{location.Path}') in this version. Nothing was written.",
                    location.Path,
                    $"Run the node host under the service manager by hand: dotnet <module folder>/node/ConnectionTools.Node.dll --store {location.Path} --key-file {location.KeyFile}, with the password in the service account's PGPASSFILE.");
            }

            if (!File.Exists(location.Path))
            {
                throw new ConnectionToolsException(ErrorIds.StoreNotFound, ErrorKind.ObjectNotFound, $"No store exists at '{location.Path}' ({location.Origin}) for the service to serve.", location.Path, "Create it first, as the service account: Connect-ConnectionNode -StorePath <path> -Create.");
            }

            var settings = HostSettings(location.Path);

            // The port is not checked: a host this service replaces may hold it now.
            settings.Validate(checkPort: false);
            var runtime = NodeHostRuntime.Find(System.IO.Path.GetDirectoryName(typeof(NewConnectionNodeServiceCommand).Assembly.Location)!, Environment.GetEnvironmentVariable);
            var account = Account ?? Credential?.UserName ?? ServiceAccount.Current;
            ServiceAccount.EnsureCanUseStore(account, location.Path);
            var definition = NodeServiceDefinition.For(runtime, settings, Name, account, Path is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path));
            var action = definition.Path is null
                ? $"Register the Windows service '{definition.Name}': {definition.Content}"
                : $"Write the {definition.Platform} definition of '{definition.Name}':{Environment.NewLine}{definition.Content}";
            if (!ShouldProcess(definition.Path ?? definition.Name, action))
            {
                return;
            }

            if (definition.Path is null)
            {
                // Windows: New-Service registers it; it is PowerShell's own command for the service manager.
                InvokeCommand.InvokeScript(
                    "param($name, $binary, $description, $credential) $a = @{ Name = $name; BinaryPathName = $binary; DisplayName = $description; StartupType = 'Automatic' }; if ($credential) { $a.Credential = $credential }; $null = New-Service @a",
                    definition.Name,
                    definition.CommandLine,
                    "ConnectionTools node host",
                    Credential!);
            }
            else
            {
                definition.Write();
            }

            WriteObject(definition);
        });
    }
}
