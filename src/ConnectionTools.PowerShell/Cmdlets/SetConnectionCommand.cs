using System;
using System.Management.Automation;
using ConnectionTools.Connections;
using ConnectionTools.PowerShell.Completion;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Renames a connection, changes its description or settings, or binds a private connection to a system. A connection object that is out of date is refused.</summary>
    [Cmdlet(VerbsCommon.Set, "Connection", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
    [OutputType(typeof(Connection))]
    public sealed class SetConnectionCommand : ConnectionTargetCmdlet
    {
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? NewName { get; set; }

        [Parameter]
        [AllowEmptyString]
        public string? Description { get; set; }

        /// <summary>Private connections: Script upgrades Basic (one way). Visual is listed so that it is refused with its reason.</summary>
        [Parameter]
        [ValidateSet("Basic", "Script", "Visual")]
        public string? Mode { get; set; }

        /// <summary>Salesforce and Dynamics 365 connections: how often the retrieval job runs (1 minute to 1 day).</summary>
        [Parameter]
        public TimeSpan? RetrievalInterval { get; set; }

        /// <summary>
        /// Private connections: the Salesforce or Dynamics 365 connection whose cases it syncs. An empty string unbinds it (status only).
        /// Moving a bound connection to another system needs it Paused.
        /// </summary>
        [Parameter]
        [AllowEmptyString]
        [ArgumentCompleter(typeof(SystemConnectionNameCompleter))]
        public string? System { get; set; }

        /// <summary>
        /// Dynamics 365 connections: the customer incidents made from a partner's cases are created under, as accounts(guid) or
        /// contacts(guid). An empty string clears it.
        /// </summary>
        [Parameter]
        [AllowEmptyString]
        public string? DefaultCustomer { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord() => Run(node => new ConnectionCommands(node, HostContext).Set(
            Targets(),
            new ConnectionEdit { NewName = NewName, Description = Description, Mode = Mode, RetrievalInterval = RetrievalInterval, System = System, DefaultCustomer = DefaultCustomer },
            PassThru));
    }
}
