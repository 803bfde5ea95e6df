using System;
using System.Collections.Generic;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Http;
using ConnectionTools.Peering;
using ConnectionTools.Security;
using ConnectionTools.Storage;

namespace ConnectionTools.Nodes
{
    /// <summary>
    /// One node: its store and who acts on it. A PowerShell session holds one of these per runspace; there is no process-wide instance.
    /// </summary>
    public sealed class ConnectionNode : IDisposable
    {
        public const string PublicUrlSetting = "public_url";
        public const string SalesforceClientIdSetting = "salesforce_client_id";
        public const string SalesforceRedirectSetting = "salesforce_redirect";

        private ConnectionNode(StoreLocation location, ConnectionStore store, string actor, Func<DateTimeOffset> clock, ISecretProtector secrets, NodeClients clients)
        {
            Location = location;
            Store = store;
            ActorName = actor;
            Clock = clock;
            Secrets = secrets;
            Providers = new ProviderClients(
                clients.ProviderHttp ?? SharedHttp.Client,
                clients.Authorizers ?? SystemAuthorizers.For,
                clients.OpenBrowser ?? SystemBrowser.OpenAsync);
            Peers = new PeerClient(clients.PeerHttp ?? SharedHttp.Client, PeerClient.DefaultTimeout);
        }

        /// <summary>This module's version, as a peer sees it.</summary>
        public static string Version
        {
            get
            {
                var version = typeof(ConnectionNode).Assembly.GetName().Version!;
                return $"{version.Major}.{version.Minor}.{version.Build}";
            }
        }

        /// <summary>Protects secrets before they are stored.</summary>
        public ISecretProtector Secrets { get; }

        /// <summary>The URL the private side reaches this node at; null until Set-ConnectionNode -PublicUrl.</summary>
        public Uri? PublicUrl => Store.GetNodeSetting(PublicUrlSetting) is { } url ? new Uri(url) : null;

        /// <summary>The consumer key New-Connection uses for Salesforce when -ClientId is omitted (Set-ConnectionNode -SalesforceClientId).</summary>
        public string? SalesforceClientId => Store.GetNodeSetting(SalesforceClientIdSetting) is { Length: > 0 } key ? key : null;

        /// <summary>Where the interactive Salesforce sign-in listens (Set-ConnectionNode -SalesforceRedirectPort/-SalesforceRedirectPath).</summary>
        public Authorization.LoopbackRedirect SalesforceRedirect
        {
            get
            {
                var text = Store.GetNodeSetting(SalesforceRedirectSetting);
                var slash = text?.IndexOf('/') ?? -1;
                return slash > 0 && int.TryParse(text!.Substring(0, slash), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
                    ? new Authorization.LoopbackRedirect(port, text.Substring(slash))
                    : Authorization.LoopbackRedirect.Default;
            }
        }

        public StoreLocation Location { get; }

        public ConnectionStore Store { get; }

        /// <summary>Recorded as "who" in the audit.</summary>
        public string ActorName { get; }

        public Func<DateTimeOffset> Clock { get; }

        /// <summary>HTTP to Salesforce and Entra ID, with the OAuth implementation per type (given at <see cref="Open"/>).</summary>
        public ProviderClients Providers { get; }

        /// <summary>HTTP to the public nodes of this node's private connections (given at <see cref="Open"/>).</summary>
        public PeerClient Peers { get; }

        /// <summary>How long a refresh claim holds (see GrantRefresh): longer than a refresh takes; a crashed process's claim lapses after it.</summary>
        public TimeSpan GrantRefreshLease { get; set; } = TimeSpan.FromMinutes(2);

        /// <summary>
        /// Runs inside the transaction that makes an Inactive connection Active again after re-authorization: where the jobs
        /// a connection put on Holding go back to scheduled, atomically with the status.
        /// </summary>
        internal List<Action<StoreTransaction, Connection>> OnReauthorized { get; } = new List<Action<StoreTransaction, Connection>>();

        private int _createdNoticeTaken;

        /// <summary>
        /// Once, when opening this node created its store: a message naming the new store's path (so the per-user default,
        /// created on first use, is never a mystery). Null otherwise, and on every later call.
        /// </summary>
        public string? TakeCreatedNotice()
        {
            if (!Store.Created || System.Threading.Interlocked.Exchange(ref _createdNoticeTaken, 1) != 0)
            {
                return null;
            }

            return Location.Source == StoreSource.Default
                ? $"Created the per-user default store at '{Location.Path}' (first use). Set {StoreLocation.EnvironmentVariable} or use Connect-ConnectionNode -StorePath to work with another store."
                : $"Created a new, empty store at '{Location.Path}' ({Location.Origin}).";
        }

        /// <param name="clients">The HTTP clients to use; by default the process's <see cref="SharedHttp"/>.</param>
        public static ConnectionNode Open(StoreLocation location, StoreOptions? options = null, string? actor = null, NodeClients? clients = null)
        {
            options ??= new StoreOptions();
            var store = ConnectionStore.Open(location.Path, options, location);
            try
            {
                var secrets = location.KeyFile is { } keyFile ? SecretProtectors.ForDatabase(store, keyFile, location.MayCreate) : SecretProtectors.ForStore(location.Path);
                return new ConnectionNode(location, store, actor ?? Actor.Current(), options.Clock, secrets, clients ?? new NodeClients());
            }
            catch
            {
                store.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Which store and how many connections per status. With <paramref name="checkIntegrity"/>, runs PRAGMA integrity_check
        /// first and refuses a damaged store with <see cref="Errors.ErrorIds.StoreCorrupt"/>, naming what SQLite found.
        /// </summary>
        public NodeInfo Describe(bool checkIntegrity = false)
        {
            var integrity = checkIntegrity ? Store.EnsureIntact(full: true) : null;
            var counts = Store.CountByStatus();
            int Count(ConnectionStatus status) => counts.TryGetValue(status, out var n) ? n : 0;
            return new NodeInfo
            {
                NodeId = Store.NodeId,
                StorePath = Store.Path,
                Engine = Store.Engine,
                Server = Store.Server,
                StoreSource = Location.Source,
                SchemaVersion = ConnectionStore.SchemaVersion,
                NodeVersion = Version,
                PublicUrl = PublicUrl?.AbsoluteUri,
                SecretProtection = Secrets.Description,
                ActiveCount = Count(ConnectionStatus.Active),
                PausedCount = Count(ConnectionStatus.Paused),
                InactiveCount = Count(ConnectionStatus.Inactive),
                PendingCount = Count(ConnectionStatus.Pending),
                RemovedCount = Count(ConnectionStatus.Removed),
                Integrity = integrity,
                ConnectionCount = Count(ConnectionStatus.Active) + Count(ConnectionStatus.Paused) + Count(ConnectionStatus.Inactive) + Count(ConnectionStatus.Pending),
            };
        }

        public void Dispose() => Store.Dispose();
    }
}
