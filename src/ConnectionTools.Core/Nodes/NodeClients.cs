using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;

namespace ConnectionTools.Nodes
{
    /// <summary>
    /// The HTTP clients a node is given when it opens. The module gives none (<see cref="Http.SharedHttp"/> serves every node
    /// of the process); the node host gives the ones it registered with AddHttpClient. Tests give clients whose handlers route
    /// the real provider hosts to loopback emulators.
    /// </summary>
    public sealed class NodeClients
    {
        /// <summary>To Salesforce and Entra ID.</summary>
        public HttpClient? ProviderHttp { get; set; }

        /// <summary>To the public nodes of this node's private connections.</summary>
        public HttpClient? PeerHttp { get; set; }

        /// <summary>Test seam: the OAuth implementation for each system connection type.</summary>
        internal Func<ConnectionType, ISystemAuthorizer>? Authorizers { get; set; }

        /// <summary>Test seam: tests follow the authorize URL over HTTP instead of opening the system browser.</summary>
        internal Func<Uri, CancellationToken, Task>? OpenBrowser { get; set; }
    }

    /// <summary>What a node uses to reach Salesforce and Entra ID: its HTTP client, the OAuth implementation per type, the browser.</summary>
    public sealed class ProviderClients
    {
        private readonly Func<ConnectionType, ISystemAuthorizer> _authorizers;

        internal ProviderClients(HttpClient http, Func<ConnectionType, ISystemAuthorizer> authorizers, Func<Uri, CancellationToken, Task> openBrowser)
        {
            Http = http;
            _authorizers = authorizers;
            OpenBrowser = openBrowser;
        }

        public HttpClient Http { get; }

        /// <summary>Opens the system browser for interactive sign-in.</summary>
        public Func<Uri, CancellationToken, Task> OpenBrowser { get; }

        /// <summary>The OAuth implementation for a system connection type.</summary>
        public ISystemAuthorizer For(ConnectionType type) => _authorizers(type);
    }
}
