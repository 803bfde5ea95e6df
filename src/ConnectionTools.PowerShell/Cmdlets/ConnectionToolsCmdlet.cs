using System;
using System.Management.Automation;
using System.Threading;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.PowerShell.Host;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// The base of every cmdlet: one cancellation source per call (cancelled by Ctrl+C), the session's node, and the
    /// mapping of a setup failure to a terminating error. Per-item failures are reported by Core as non-terminating errors.
    /// </summary>
    public abstract class ConnectionToolsCmdlet : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource _cancellation = new CancellationTokenSource();
        private CmdletHost? _host;

        public void Dispose() => _cancellation.Dispose();

        protected override void StopProcessing() => _cancellation.Cancel();

        internal IHostContext HostContext => _host ??= new CmdletHost(this, _cancellation.Token);

        /// <summary>Runs one call into Core against this session's node.</summary>
        internal void Run(Action<ConnectionNode> work) => Run(() => work(Noticed(NodeSessions.Current(SessionState))));

        /// <summary>Says once, on the host, that opening the node created its store and where (the per-user default on first use).</summary>
        internal ConnectionNode Noticed(ConnectionNode node)
        {
            if (node.TakeCreatedNotice() is { } notice)
            {
                WriteInformation(new HostInformationMessage { Message = notice }, new[] { "PSHOST", "ConnectionTools.StoreCreated" });
            }

            return node;
        }

        internal void Run(Action work)
        {
            try
            {
                work();
            }
            catch (ConnectionToolsException e)
            {
                ThrowTerminatingError(ErrorMapper.ToRecord(e));
            }
            catch (OperationCanceledException) when (_cancellation.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
        }
    }
}
