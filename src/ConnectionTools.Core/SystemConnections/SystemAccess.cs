using System;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;

namespace ConnectionTools.SystemConnections
{
    /// <summary>
    /// A system connection's access to its org for one run of work (a retrieval, an initial load, an incoming apply): access tokens
    /// from the stored grant, refreshed across processes (GrantRefresh), and checked to still reach the pinned org. A refused
    /// grant makes the connection Inactive and surfaces as the provider's error.
    /// </summary>
    internal sealed class SystemAccess
    {
        private readonly ConnectionNode _node;
        private readonly Connection _connection;
        private readonly AuthorizationContext _context;
        private readonly Action<InactiveReason> _refused;
        private string? _token;

        private SystemAccess(ConnectionNode node, Connection connection, Action<string> verbose, Action<InactiveReason> refused)
        {
            _node = node;
            _connection = connection;
            _refused = refused;
            _context = new AuthorizationContext(node.Providers.Http) { Verbose = verbose };
            Target = SystemConnectionLifecycle.TargetOf(connection);
        }

        public SystemTarget Target { get; }

        /// <summary>The system connection, as it was when access was opened.</summary>
        public Connection Connection => _connection;

        /// <summary>Where the org's API lives: the instance URL from the latest token answer (Salesforce), else the connection's.</summary>
        public Uri ApiUrl { get; private set; } = null!;

        public TimeSpan RequestTimeout => _context.RequestTimeout;

        /// <summary>Opens access with a first token (which also tells where a Salesforce org's API lives).</summary>
        public static async Task<SystemAccess> OpenAsync(ConnectionNode node, Connection connection, Action<string> verbose, Action<InactiveReason> refused, CancellationToken cancellationToken)
        {
            if (GrantVault.ReadOrNull(node, connection) is null)
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationNoGrant, ErrorKind.InvalidData, $"Connection '{connection.Name}' has no stored grant.", connection.Name,
                    $"Authorize it: Update-ConnectionAuthorization -Name '{connection.Name}'.");
            }

            var access = new SystemAccess(node, connection, verbose, refused);
            access.ApiUrl = access.Target.InstanceUrl;
            await access.AccessTokenAsync(false, cancellationToken).ConfigureAwait(false);
            return access;
        }

        /// <summary>The current access token; with <paramref name="forceRefresh"/> (after a 401), a new one.</summary>
        public async Task<string> AccessTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
        {
            if (_token != null && !forceRefresh)
            {
                return _token;
            }

            try
            {
                var (outcome, used) = await GrantRefresh.RefreshAsync(_node, _connection, _context, cancellationToken).ConfigureAwait(false);
                if (!string.Equals(outcome.OrganizationId, _connection.OrganizationId, StringComparison.Ordinal))
                {
                    throw new ProviderRefusedException(InactiveReason.OrgChanged, $"the grant now reaches organization {outcome.OrganizationId}, not {_connection.OrganizationId}");
                }

                GrantVault.SaveRefreshed(_node, _connection, used, outcome.Grant);
                ApiUrl = outcome.Grant.ApiUrl ?? Target.InstanceUrl;
                _token = outcome.AccessToken;
                return _token;
            }
            catch (ProviderRefusedException e)
            {
                _refused(e.Reason);
                SystemConnectionLifecycle.Deactivate(_node, _connection, e.Reason, e.ProviderSaid);
                throw AuthorizationFailures.ToError(e.Reason, _connection.Name, e.ProviderSaid);
            }
        }
    }
}
