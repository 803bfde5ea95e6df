namespace ConnectionTools.Hosting
{
    /// <summary>
    /// A host that can ask about one change as if its cmdlet were ConfirmImpact High (Set-Connection -Mode Script, which
    /// cannot be undone, in a cmdlet whose other changes are Medium). Hosts without it (configuration runs, the node host,
    /// tests) ask as usual through <see cref="IHostContext.ShouldProcess"/>.
    /// </summary>
    public interface IHighImpactConfirmation
    {
        /// <summary>-WhatIf and -Confirm as usual; otherwise asks whenever $ConfirmPreference is High or lower, as for ConfirmImpact High.</summary>
        bool ShouldProcessHighImpact(string target, string action);
    }

    public static class HighImpact
    {
        public static bool ShouldProcess(IHostContext host, string target, string action) =>
            host is IHighImpactConfirmation high ? high.ShouldProcessHighImpact(target, action) : host.ShouldProcess(target, action);
    }
}
