using System;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;

namespace ConnectionTools.SystemConnections
{
    // Revoking grants nothing will use any more: one issued to a New-Connection that then failed, the one a re-authorization
    // replaced, and that of a removed connection. Always best effort.
    public sealed partial class SystemConnectionCommands
    {
        /// <summary>New-Connection failed after the provider issued a grant: revoke it, best effort, and say so on the verbose stream.</summary>
        private void RevokeOrphan(SystemTarget target, GrantMaterial grant, string name)
        {
            _host.WriteVerbose($"Connection '{name}' was not stored; revoking the grant the provider has just issued for it, so it does not stay live.");
            try
            {
                ParallelWork.RunOne(_host, (worker, ct) => TryRevokeAsync(target, grant, worker, name, ct));
            }
            catch (OperationCanceledException)
            {
                _host.WriteVerbose($"The grant issued for '{name}' was not revoked: the command was stopped.");
                throw;
            }
        }

        /// <summary>
        /// Called by Remove-Connection after a system connection was removed: revokes the grant it held where the provider allows it.
        /// The removal stands either way; a failure is a warning.
        /// </summary>
        internal void RevokeAfterRemoval(Connection removed, byte[] grantProtected)
        {
            GrantMaterial grant;
            try
            {
                grant = GrantVault.Unprotect(_node, grantProtected);
            }
            catch (ConnectionToolsException e)
            {
                _host.WriteWarning($"Connection '{removed.Name}' is removed, but its grant could not be read to revoke it ({e.ErrorId}). Revoke it at the provider if it must stop working now.");
                return;
            }

            ParallelWork.RunOne(_host, (worker, ct) => TryRevokeAsync(SystemConnectionLifecycle.TargetOf(removed), grant, worker, removed.Name, ct));
        }

        /// <summary>Best effort: a grant that cannot be revoked is a warning, never a failure of the command.</summary>
        private async Task<bool> TryRevokeAsync(SystemTarget target, GrantMaterial grant, WorkerHost worker, string name, CancellationToken ct)
        {
            try
            {
                var revoked = await _node.Providers.For(target.Type).RevokeAsync(target, grant, Context(worker), ct).ConfigureAwait(false);
                worker.WriteVerbose(revoked ? $"Revoked the grant of '{name}' at the provider." : $"The grant of '{name}' has no revocation endpoint; it ends when it expires or an admin revokes it.");
                return revoked;
            }
            catch (ConnectionToolsException e)
            {
                worker.WriteWarning($"The grant of '{name}' could not be revoked at the provider ({e.ErrorId}: {e.Message}). Revoke it there if it must stop working now.");
                return false;
            }
            catch (ProviderRefusedException e)
            {
                // Already unusable at the provider: there is nothing left to revoke.
                worker.WriteVerbose($"The provider did not revoke the grant of '{name}': {e.ProviderSaid}.");
                return false;
            }
        }
    }
}
