namespace ConnectionTools.Connections
{
    /// <summary>The properties Set-Connection can change. A null property is left as it is.</summary>
    public sealed class ConnectionEdit
    {
        public string? NewName { get; set; }

        public string? Description { get; set; }

        /// <summary>Basic, Script or Visual, as typed; private connections upgrade Basic to Script only.</summary>
        public string? Mode { get; set; }

        /// <summary>System connections: how often the retrieval job runs.</summary>
        public System.TimeSpan? RetrievalInterval { get; set; }

        /// <summary>Private connections: the name of the system connection whose cases it syncs; empty to unbind (status only).</summary>
        public string? System { get; set; }

        /// <summary>Dynamics 365 connections: accounts(guid) or contacts(guid), the customer of incidents made from partner cases; empty to clear.</summary>
        public string? DefaultCustomer { get; set; }

        public bool IsEmpty => NewName is null && Description is null && Mode is null && RetrievalInterval is null && System is null && DefaultCustomer is null;
    }
}
