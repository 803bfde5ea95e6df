using System.Management.Automation;
using ConnectionTools.Sync;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// Checks, before case sync starts, that the system each private connection is bound to can take partner cases: the Salesforce
    /// Case External ID field (and the connected user's permissions on cases and on it) or the Dataverse incident alternate key.
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "ConnectionSync", DefaultParameterSetName = ByName)]
    [OutputType(typeof(SyncCheckResult))]
    public sealed class TestConnectionSyncCommand : ConnectionTargetCmdlet
    {
        protected override void ProcessRecord() => Run(node => new SyncCheckCommands(node, HostContext).Test(Targets()));
    }
}
