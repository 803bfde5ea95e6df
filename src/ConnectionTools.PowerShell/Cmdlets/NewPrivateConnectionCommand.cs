using System;
using System.Management.Automation;
using ConnectionTools.Invitations;
using ConnectionTools.PowerShell.Completion;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>On the public side: creates a Pending private connection and the invitation code its partner accepts.</summary>
    [Cmdlet(VerbsCommon.New, "PrivateConnection", SupportsShouldProcess = true)]
    [OutputType(typeof(PrivateConnectionInvitation))]
    public sealed class NewPrivateConnectionCommand : ConnectionToolsCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; } = "";

        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string LocalInstanceName { get; set; } = "";

        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? RemoteInstanceName { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? Description { get; set; }

        // Held as object so that loading this public type never needs the engine (see ModuleInitializer).
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public PrivateConnectionMode Mode
        {
            get => _mode is PrivateConnectionMode mode ? mode : PrivateConnectionMode.Basic;
            set => _mode = value;
        }

        [Parameter]
        public TimeSpan InvitationLifetime { get; set; } = TimeSpan.FromHours(72);

        /// <summary>The Salesforce or Dynamics 365 connection whose cases it syncs; without it, the connection exchanges status only.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(SystemConnectionNameCompleter))]
        public string? System { get; set; }

        private object? _mode;

        protected override void ProcessRecord() => Run(node => new InvitationCommands(node, HostContext).NewEach(new[]
        {
            new NewPrivateConnectionRequest
            {
                Name = Name,
                LocalInstanceName = LocalInstanceName,
                RemoteInstanceName = RemoteInstanceName,
                Description = Description,
                Mode = Mode,
                InvitationLifetime = InvitationLifetime,
                System = System,
            },
        }));
    }
}
