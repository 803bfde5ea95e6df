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
    }
}
