using System.Management.Automation;
using ConnectionTools.Jobs;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>Runs a connection's retrieval job now, in this process: for admins, and for scheduled tasks on nodes without a node host.</summary>
    [Cmdlet(VerbsLifecycle.Start, "ConnectionJob", SupportsShouldProcess = true, DefaultParameterSetName = ByName)]
    [OutputType(typeof(JobRun))]
    public sealed class StartConnectionJobCommand : ConnectionTargetCmdlet
    {
        protected override void ProcessRecord() => Run(node => new JobCommands(node, HostContext).Start(Targets()));
    }
}
