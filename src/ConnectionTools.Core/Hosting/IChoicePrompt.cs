using System.Collections.Generic;

namespace ConnectionTools.Hosting
{
    /// <summary>
    /// A host that can ask a person to pick one of several items (PowerShell's own choice prompt, Host.UI.PromptForChoice).
    /// Hosts without it (configuration runs, the node host) cannot ask, and Core fails with an error that says what to add.
    /// </summary>
    public interface IChoicePrompt
    {
        /// <summary>The index of the choice made. Each choice is a label (its first character after an ampersand is the hot key) and a help text.</summary>
        int PromptForChoice(string caption, string message, IReadOnlyList<KeyValuePair<string, string>> choices, int defaultChoice);
    }
}
