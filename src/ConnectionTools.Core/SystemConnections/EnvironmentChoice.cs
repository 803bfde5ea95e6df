using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Authorization;
using ConnectionTools.Authorization.Entra;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Text;

namespace ConnectionTools.SystemConnections
{
    /// <summary>
    /// Which of the environments a sign-in can reach a new Dynamics 365 connection uses: the one named by -EnvironmentName,
    /// the only one, or the one the admin picks at PowerShell's choice prompt. Runs on the pipeline thread, after the sign-in
    /// and before anything is stored; every way it fails has its own error id and names the fix.
    /// </summary>
    internal static class EnvironmentChoice
    {
        public static DiscoveredEnvironment Choose(
            IReadOnlyList<DiscoveredEnvironment> found, string? environmentName, bool canPrompt, IHostContext host, string account, EnvironmentType cloud, string connectionName)
        {
            if (found.Count == 0)
            {
                throw new ConnectionToolsException(
                    ErrorIds.EnvironmentNoneFound,
                    ErrorKind.ObjectNotFound,
                    $"Connection '{connectionName}' was not created: {account} can reach no Dynamics 365 environment in the {cloud} cloud. Nothing was stored.",
                    account,
                    $"Sign in with an account that has a security role in the environment, check -EnvironmentType (the cloud: Public, GCC, GCCHigh, DoD or China), or give the environment's URL with -InstanceUrl.");
            }

            if (!string.IsNullOrWhiteSpace(environmentName))
            {
                var matches = Match(found, environmentName!.Trim());
                if (matches.Count == 1)
                {
                    host.WriteVerbose($"Using the environment -EnvironmentName '{environmentName}' names: {matches[0].Describe()}.");
                    return matches[0];
                }

                if (matches.Count == 0)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.EnvironmentNotFound,
                        ErrorKind.ObjectNotFound,
                        $"Connection '{connectionName}' was not created: no environment {account} can reach in the {cloud} cloud matches -EnvironmentName '{environmentName}'. The environments are: {List(found)}. Nothing was stored.",
                        environmentName,
                        "Give -EnvironmentName one of the friendly names, unique names or URLs listed (Find-ConnectionEnvironment lists them too).");
                }

                throw new ConnectionToolsException(
                    ErrorIds.EnvironmentAmbiguous,
                    ErrorKind.InvalidArgument,
                    $"Connection '{connectionName}' was not created: -EnvironmentName '{environmentName}' matches {matches.Count} environments: {List(matches)}. Nothing was stored.",
                    environmentName,
                    "Give -EnvironmentName a name that matches one environment only, for example its unique name or URL.");
            }

            if (found.Count == 1)
            {
                host.WriteVerbose($"{account} can reach one environment in the {cloud} cloud; using it: {found[0].Describe()}.");
                return found[0];
            }

            if (!canPrompt || !(host is IChoicePrompt prompt))
            {
                throw new ConnectionToolsException(
                    ErrorIds.EnvironmentChoiceRequired,
                    ErrorKind.InvalidOperation,
                    $"Connection '{connectionName}' was not created: {account} can reach {found.Count} environments in the {cloud} cloud, and this session cannot ask which one (no one can answer a prompt here: its input is redirected, or it runs unattended). The environments are: {List(found)}. Nothing was stored.",
                    connectionName,
                    "Add -EnvironmentName with the friendly name, unique name or URL of one of them, or give -InstanceUrl.");
            }

            var choices = found.Select((e, i) => new KeyValuePair<string, string>($"{(i < 35 ? "&" : "")}{Label(i)} {e.FriendlyName}", $"{e.Url} ({e.Region ?? "no region"}, unique name {e.UniqueName})")).ToList();
            var message = "Choose the environment of connection '" + connectionName + "':" + Environment.NewLine +
                string.Join(Environment.NewLine, found.Select((e, i) => $"  [{Label(i)}] {e.FriendlyName}  {e.Url}  {e.Region}"));
            var index = prompt.PromptForChoice($"Dynamics 365 environments of {account} ({cloud})", message, choices, 0);
            if (index < 0 || index >= found.Count)
            {
                throw new ConnectionToolsException(
                    ErrorIds.EnvironmentChoiceRequired,
                    ErrorKind.OperationStopped,
                    $"Connection '{connectionName}' was not created: no environment was chosen. Nothing was stored.",
                    connectionName,
                    "Run the command again and choose an environment, or add -EnvironmentName.");
            }

            host.WriteVerbose($"Using the environment chosen: {found[index].Describe()}.");
            return found[index];
        }

        /// <summary>The environments whose friendly name, unique name, URL or host matches <paramref name="name"/> (wildcards allowed).</summary>
        public static IReadOnlyList<DiscoveredEnvironment> Match(IReadOnlyList<DiscoveredEnvironment> found, string name)
        {
            Func<string, bool> isMatch;
            try
            {
                var pattern = WildcardPattern.Parse(name);
                isMatch = pattern.IsMatch;
            }
            catch (ArgumentException)
            {
                isMatch = text => string.Equals(text, name, StringComparison.OrdinalIgnoreCase);
            }

            return found.Where(e => new[] { e.FriendlyName, e.UniqueName, e.Url, e.Url.TrimEnd('/'), e.Uri.Host }.Any(t => !string.IsNullOrEmpty(t) && isMatch(t))).ToList();
        }

        // 1..9, then letters: each choice keeps a one-key answer.
        private static string Label(int index) => index < 9 || index >= 35 ? (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) : ((char)('A' + index - 9)).ToString();

        private static string List(IEnumerable<DiscoveredEnvironment> environments) => string.Join("; ", environments.Select(e => e.Describe()));
    }
}
