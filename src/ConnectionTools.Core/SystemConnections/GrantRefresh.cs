using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.SystemConnections
{
    /// <summary>
    /// Refreshes a stored grant the way refresh-token rotation requires: one refresh per grant at a time across every process
    /// sharing the store (a claim row with an owner and an expiry, taken in an IMMEDIATE transaction), with the grant read again
    /// after the claim so a token another process has just stored is the one presented, and every token the provider issues
    /// saved the moment its answer arrives, in its own transaction. A refresh sent without a known answer is remembered, so a
    /// later refusal says what most likely caused it.
    /// </summary>
    internal static class GrantRefresh
    {
        private static readonly string ProcessTag = ProcessClaims.Current;

        /// <summary>Refreshes <paramref name="connection"/>'s grant; returns the outcome and the grant it started from.</summary>
        public static async Task<(AuthorizationOutcome Outcome, GrantMaterial Used)> RefreshAsync(ConnectionNode node, Connection connection, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var owner = ProcessTag + "|" + Guid.NewGuid().ToString("N");
            var lease = node.GrantRefreshLease;
            var waited = Stopwatch.StartNew();
            DateTimeOffset? unanswered;
            var random = new Random(owner.GetHashCode());
            while (true)
            {
                var claim = node.Store.Write(tx => GrantRows.TryClaim(tx, connection.Id, owner, node.Clock(), lease));
                if (claim.Claimed)
                {
                    unanswered = claim.Unanswered;
                    break;
                }

                // A claim seen when the wait began expires within one lease of it: waiting half a lease more lets this process
                // take over the claim of a process that stopped, instead of giving up an instant before that claim expires.
                if (waited.Elapsed.Ticks > lease.Ticks + (lease.Ticks / 2))
                {
                    throw new ConnectionToolsException(
                        ErrorIds.AuthorizationRefreshInProgress,
                        ErrorKind.ResourceBusy,
                        $"Another process has been refreshing the grant of '{connection.Name}' for over {lease.TotalSeconds:0} s; it was not refreshed again, so the grant stays as it is.",
                        connection.Name,
                        "Run the command again later; the claim of a process that stopped expires on its own.");
                }

                context.Verbose($"The grant of '{connection.Name}' is being refreshed by another process; waiting.");
                await Task.Delay(TimeSpan.FromMilliseconds(50 + random.Next(150)), cancellationToken).ConfigureAwait(false);
            }

            var answered = false;
            try
            {
                // Re-read after the claim: another process may have refreshed (and rotated the token) meanwhile.
                var grant = GrantVault.ReadOrNull(node, connection) ?? throw new ConnectionToolsException(
                    ErrorIds.AuthorizationNoGrant,
                    ErrorKind.InvalidData,
                    $"Connection '{connection.Name}' has no stored grant to refresh.",
                    connection.Name,
                    $"Authorize it: Update-ConnectionAuthorization -Name '{connection.Name}'.");
                var saving = new AuthorizationContext(context.Http)
                {
                    RequestTimeout = context.RequestTimeout,
                    OpenBrowser = context.OpenBrowser,
                    ShowDeviceCode = context.ShowDeviceCode,
                    Verbose = context.Verbose,
                    InteractionTimeout = context.InteractionTimeout,
                    Redirect = context.Redirect,
                    GrantIssued = issued =>
                    {
                        var blob = GrantVault.Protect(node, issued);
                        node.Store.Write(tx => GrantRows.SaveRefreshed(tx, connection.Id, blob, node.Clock()));
                        answered = true;
                        context.GrantIssued?.Invoke(issued);
                    },
                };
                try
                {
                    var outcome = await node.Providers.For(connection.Type).RefreshAsync(SystemConnectionLifecycle.TargetOf(connection), grant, saving, cancellationToken).ConfigureAwait(false);
                    answered = true;
                    return (outcome, grant);
                }
                catch (ProviderRefusedException refused)
                {
                    // After a lost answer the mark stays until re-authorization, so every later refusal keeps saying why.
                    answered = unanswered is null;
                    if (unanswered is DateTimeOffset at && grant.RefreshToken != null && (refused.Reason == InactiveReason.Expired || refused.Reason == InactiveReason.Revoked))
                    {
                        throw new ProviderRefusedException(
                            InactiveReason.Revoked,
                            $"{refused.ProviderSaid}; a refresh sent at {at.UtcDateTime.ToString("u", CultureInfo.InvariantCulture)} got no answer, and under refresh-token rotation the provider revokes the whole grant when the used-up token is presented again: that lost answer is the likely cause",
                            refused);
                    }

                    throw;
                }
                catch (ConnectionToolsException e) when (e.ErrorId == ErrorIds.AuthorizationProviderUnavailable)
                {
                    // A refresh that may have been processed keeps its mark; one that certainly never arrived does not.
                    answered = answered || !ProviderRetry.MayHaveArrived(e);
                    throw;
                }
                catch (ConnectionToolsException)
                {
                    answered = true;
                    throw;
                }
            }
            finally
            {
                var known = answered;
                try
                {
                    node.Store.Write(tx =>
                    {
                        GrantRows.ReleaseClaim(tx, connection.Id, owner, known);
                        return 0;
                    });
                }
                catch (ConnectionToolsException e)
                {
                    // The claim expires on its own; the refresh's own outcome matters more than this.
                    context.Verbose($"The refresh claim of '{connection.Name}' could not be released ({e.ErrorId}); it expires in {lease.TotalSeconds:0} s.");
                }
            }
        }
    }
}
