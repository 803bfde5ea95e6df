using System;
using System.Linq;
using System.Management.Automation.Host;

namespace ConnectionTools.PowerShell.Host
{
    /// <summary>
    /// Whether a person can answer a browser or device-code sign-in. Scheduled tasks and services are not user-interactive,
    /// hosted runspaces have no UI, and pwsh -NonInteractive promises no prompts: all of these must fail fast instead of hanging.
    /// </summary>
    internal static class Interactivity
    {
        public static bool CanPrompt(PSHost? host)
        {
            if (!Environment.UserInteractive || host is null || host.UI is null || string.Equals(host.Name, "Default Host", StringComparison.Ordinal))
            {
                return false;
            }

            return !Environment.GetCommandLineArgs().Skip(1).Any(IsNonInteractiveSwitch);
        }

        /// <summary>
        /// Whether the choice prompt (Host.UI.PromptForChoice) can ask a person: as <see cref="CanPrompt"/>, and not in the
        /// console host with its input redirected, where the prompt would read the next line of a piped script (or nothing)
        /// instead of an answer. A device-code sign-in still works there: its code is shown, and approved on another device.
        /// </summary>
        public static bool CanChoose(PSHost? host) =>
            CanPrompt(host) && !(string.Equals(host!.Name, "ConsoleHost", StringComparison.Ordinal) && Console.IsInputRedirected);

        // pwsh accepts any unambiguous prefix of -NonInteractive down to -noni, with - or / on Windows.
        private static bool IsNonInteractiveSwitch(string argument)
        {
            var name = argument.TrimStart('-', '/');
            return name.Length >= 4 && name.Length < argument.Length && "noninteractive".StartsWith(name, StringComparison.OrdinalIgnoreCase);
        }
    }
}
