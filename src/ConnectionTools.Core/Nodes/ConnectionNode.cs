using System;
using ConnectionTools.Connections;
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

        private ConnectionNode(StoreLocation location, ConnectionStore store, string actor, Func<DateTimeOffset> clock, ISecretProtector secrets)
        {
            Location = location;
            Store = store;
            ActorName = actor;
            Clock = clock;
            Secrets = secrets;
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

        public StoreLocation Location { get; }

        public ConnectionStore Store { get; }

        /// <summary>Recorded as "who" in the audit.</summary>
        public string ActorName { get; }

        public Func<DateTimeOffset> Clock { get; }

        public static ConnectionNode Open(StoreLocation location, StoreOptions? options = null, string? actor = null)
        {
            options ??= new StoreOptions();
            var store = ConnectionStore.Open(location.Path, options);
            return new ConnectionNode(location, store, actor ?? Actor.Current(), options.Clock, SecretProtectors.ForStore(location.Path));
        }

        public NodeInfo Describe()
        {
            var counts = Store.CountByStatus();
            int Count(ConnectionStatus status) => counts.TryGetValue(status, out var n) ? n : 0;
            return new NodeInfo
            {
                NodeId = Store.NodeId,
                StorePath = Store.Path,
                StoreSource = Location.Source,
                SchemaVersion = ConnectionStore.SchemaVersion,
                NodeVersion = Version,
                PublicUrl = PublicUrl,
                SecretProtection = Secrets.Description,
                ActiveCount = Count(ConnectionStatus.Active),
                PausedCount = Count(ConnectionStatus.Paused),
                InactiveCount = Count(ConnectionStatus.Inactive),
                PendingCount = Count(ConnectionStatus.Pending),
                RemovedCount = Count(ConnectionStatus.Removed),
                ConnectionCount = Count(ConnectionStatus.Active) + Count(ConnectionStatus.Paused) + Count(ConnectionStatus.Inactive) + Count(ConnectionStatus.Pending),
            };
        }

        public void Dispose() => Store.Dispose();
    }
}
