using System;
using System.IO;
using ConnectionTools.Errors;

namespace ConnectionTools.Configuration
{
    public enum SecretScheme
    {
        /// <summary><c>env:NAME</c>: an environment variable of the process.</summary>
        Env,

        /// <summary><c>file:PATH</c>: a file's text, a relative path taken from the configuration file's folder.</summary>
        File,

        /// <summary><c>vault:VAULT/NAME</c>: a secret in a SecretManagement vault, read with Get-Secret.</summary>
        Vault,
    }

    /// <summary>
    /// Where a secret is, never the secret: configuration files hold only these. The text of a reference is not secret and may
    /// be shown; the value it resolves to never is.
    /// </summary>
    public sealed class SecretReference
    {
        private SecretReference(SecretScheme scheme, string target, string? name, ConfigurationLocation location, string text)
        {
            Scheme = scheme;
            Target = target;
            Name = name;
            Location = location;
            Text = text;
        }

        public SecretScheme Scheme { get; }

        /// <summary>The variable name, the full file path, or the vault name.</summary>
        public string Target { get; }

        /// <summary>The secret's name in the vault (vault: only).</summary>
        public string? Name { get; }

        public ConfigurationLocation Location { get; }

        /// <summary>The reference as written in the file.</summary>
        public string Text { get; }

        /// <summary>Parses a reference; null when the text is not one (which, in a secret's place, means a literal secret).</summary>
        public static SecretReference? TryParse(string text, string baseFolder, ConfigurationLocation location)
        {
            if (text.StartsWith("env:", StringComparison.Ordinal) && text.Length > 4 && IsVariableName(text.Substring(4)))
            {
                return new SecretReference(SecretScheme.Env, text.Substring(4), null, location, text);
            }

            if (text.StartsWith("file:", StringComparison.Ordinal) && text.Length > 5)
            {
                string full;
                try
                {
                    full = Path.GetFullPath(Path.Combine(baseFolder, text.Substring(5)));
                }
                catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
                {
                    return null;
                }

                return new SecretReference(SecretScheme.File, full, null, location, text);
            }

            if (text.StartsWith("vault:", StringComparison.Ordinal))
            {
                var rest = text.Substring(6);
                var slash = rest.IndexOf('/');
                if (slash > 0 && slash < rest.Length - 1)
                {
                    return new SecretReference(SecretScheme.Vault, rest.Substring(0, slash), rest.Substring(slash + 1), location, text);
                }
            }

            return null;
        }

        private static bool IsVariableName(string name)
        {
            foreach (var c in name)
            {
                if (!(char.IsLetterOrDigit(c) || c == '_' || c == '.' || c == '-'))
                {
                    return false;
                }
            }

            return true;
        }

        public override string ToString() => Text;
    }

    /// <summary>The outcome of resolving one reference: the value, or why there is none (without any secret in it).</summary>
    public sealed class SecretResolution
    {
        private SecretResolution(string? value, string? problem)
        {
            Value = value;
            Problem = problem;
        }

        public string? Value { get; }

        public string? Problem { get; }

        public bool Resolved => Value != null;

        public static SecretResolution Of(string value) => new SecretResolution(value, null);

        public static SecretResolution Failed(string problem) => new SecretResolution(null, problem);

        public override string ToString() => Resolved ? "(resolved)" : "(unresolved) " + Problem;
    }

    /// <summary>Turns a reference into its secret. The cmdlet layer supplies vault: through SecretManagement's Get-Secret.</summary>
    public interface ISecretResolver
    {
        SecretResolution Resolve(SecretReference reference);
    }

    /// <summary>Resolves env: and file: itself, and hands vault: to the resolver it was given (none: vault: does not resolve).</summary>
    public sealed class SecretResolver : ISecretResolver
    {
        private readonly ISecretResolver? _vaults;

        public SecretResolver(ISecretResolver? vaults = null)
        {
            _vaults = vaults;
        }

        public SecretResolution Resolve(SecretReference reference)
        {
            switch (reference.Scheme)
            {
                case SecretScheme.Env:
                    var value = Environment.GetEnvironmentVariable(reference.Target);
                    return string.IsNullOrEmpty(value)
                        ? SecretResolution.Failed($"the environment variable '{reference.Target}' is not set")
                        : SecretResolution.Of(value!);
                case SecretScheme.File:
                    try
                    {
                        // A secret file usually ends with a newline the secret does not have.
                        var text = File.ReadAllText(reference.Target).TrimEnd('\r', '\n');
                        return text.Length == 0 ? SecretResolution.Failed($"the file '{reference.Target}' is empty") : SecretResolution.Of(text);
                    }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException || e is NotSupportedException)
                    {
                        return SecretResolution.Failed($"the file '{reference.Target}' cannot be read ({e.GetType().Name})");
                    }

                default:
                    return _vaults is null
                        ? SecretResolution.Failed("vault: references need the Microsoft.PowerShell.SecretManagement module, which is not available here")
                        : _vaults.Resolve(reference);
            }
        }

        internal static ConfigurationIssue Unresolved(SecretReference reference, string problem) => new ConfigurationIssue(
            ErrorIds.ConfigurationUnresolvedReference,
            reference.Location,
            $"'{reference.Location.Key}' refers to {reference.Text}, which does not resolve: {problem}.",
            "Set the variable, create the file, or add the secret to the vault (Set-Secret) before applying.");
    }
}
