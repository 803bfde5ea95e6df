namespace ConnectionTools.Connections
{
    /// <summary>The properties Set-Connection can change. A null property is left as it is.</summary>
    public sealed class ConnectionEdit
    {
        public string? NewName { get; set; }

        public string? Description { get; set; }

        public bool IsEmpty => NewName is null && Description is null;
    }
}
