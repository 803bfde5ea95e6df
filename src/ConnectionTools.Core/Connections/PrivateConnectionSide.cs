namespace ConnectionTools.Connections
{
    /// <summary>Which side of a private connection this node is.</summary>
    public enum PrivateConnectionSide
    {
        /// <summary>Reachable at a URL; created the connection and its invitation; never opens a connection to the other side.</summary>
        Public,

        /// <summary>Behind a firewall; accepted the invitation and makes every request itself.</summary>
        Private,
    }
}
