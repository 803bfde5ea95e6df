namespace ConnectionTools.Invitations
{
    /// <summary>How a private connection's sync rules are kept. Visual is deliberately absent: it is not offered for private connections.</summary>
    public enum PrivateConnectionMode
    {
        /// <summary>Generated rules for cases that cannot be edited.</summary>
        Basic,

        /// <summary>Editable rules. A Basic connection can be upgraded to Script, never back.</summary>
        Script,
    }
}
