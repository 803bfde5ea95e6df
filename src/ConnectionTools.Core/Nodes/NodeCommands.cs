using System;
using ConnectionTools.Hosting;
using ConnectionTools.Peering;

namespace ConnectionTools.Nodes
{
    /// <summary>What Set-ConnectionNode does.</summary>
    public sealed class NodeCommands
    {
        private readonly ConnectionNode _node;
        private readonly IHostContext _host;

        public NodeCommands(ConnectionNode node, IHostContext host)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
        }

        /// <summary>Records the URL private sides will reach this node at. Validated first; nothing is written when it is refused.</summary>
        public void SetPublicUrl(string publicUrl, bool passThru)
        {
            var url = PeerUrls.ValidatePublicUrl(publicUrl);
            if (_node.PublicUrl == url)
            {
                _host.WriteVerbose($"The node's public URL already is {url}; nothing to change.");
            }
            else if (_host.ShouldProcess($"Node {_node.Store.NodeId} ({_node.Store.Path})", $"Set public URL to {url}"))
            {
                _node.Store.SetNodeSetting(ConnectionNode.PublicUrlSetting, url.AbsoluteUri, _node.ActorName);
                _host.WriteVerbose($"The node's public URL is now {url}. New invitation codes point private sides there.");
            }

            if (passThru)
            {
                _host.WriteObject(_node.Describe());
            }
        }

        /// <summary>
        /// Node-wide Salesforce defaults: the connected app's consumer key used when -ClientId is omitted, and the loopback
        /// callback (port and path) the interactive sign-in listens at. Each value given replaces the stored one.
        /// </summary>
        public void SetSalesforceDefaults(string? clientId, int? redirectPort, string? redirectPath, bool passThru)
        {
            var current = _node.SalesforceRedirect;
            var redirect = new Authorization.LoopbackRedirect(redirectPort ?? current.Port, redirectPath ?? current.Path);
            if (_host.ShouldProcess($"Node {_node.Store.NodeId} ({_node.Store.Path})", "Set the Salesforce defaults"))
            {
                if (clientId != null)
                {
                    _node.Store.SetNodeSetting(ConnectionNode.SalesforceClientIdSetting, clientId.Trim(), _node.ActorName);
                    _host.WriteVerbose("New-Connection and Update-ConnectionAuthorization use this consumer key when -ClientId is omitted.");
                }

                if (redirectPort != null || redirectPath != null)
                {
                    _node.Store.SetNodeSetting(ConnectionNode.SalesforceRedirectSetting, redirect.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) + redirect.Path, _node.ActorName);
                }

                _host.WriteVerbose($"The interactive Salesforce sign-in listens at {redirect.CallbackUrl}: register exactly this callback URL in the connected app.");
            }

            if (passThru)
            {
                _host.WriteObject(_node.Describe());
            }
        }
    }
}
