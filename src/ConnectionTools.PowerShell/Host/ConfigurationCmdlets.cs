using System.Linq;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Security;
using ConnectionTools.Configuration;

namespace ConnectionTools.PowerShell.Host
{
    /// <summary>What the configuration cmdlets hand the engine: vault: through SecretManagement (HTTP to peers is the node's own).</summary>
    internal static class ConfigurationCmdlets
    {
        public static ConfigurationServices Services(PSCmdlet cmdlet, ConnectionTools.Nodes.ConnectionNode node) => new ConfigurationServices
        {
            Vaults = new SecretManagementResolver(cmdlet),
            SystemConnections = new ConnectionTools.SystemConnections.SystemConnectionActions(node),
        };
    }

    /// <summary>
    /// Resolves vault:VAULT/NAME with SecretManagement's Get-Secret, run through this session's engine so that the user's
    /// registered vaults are the ones used. Without the module, vault: references do not resolve (and say why).
    /// </summary>
    internal sealed class SecretManagementResolver : ISecretResolver
    {
        private readonly PSCmdlet _cmdlet;
        private bool? _available;

        public SecretManagementResolver(PSCmdlet cmdlet)
        {
            _cmdlet = cmdlet;
        }

        public SecretResolution Resolve(SecretReference reference)
        {
            _available ??= _cmdlet.InvokeCommand.InvokeScript("[bool](Get-Command -Name Get-Secret -ErrorAction Ignore)").Any(o => o?.BaseObject is true);
            if (_available != true)
            {
                return SecretResolution.Failed("vault: references need the Microsoft.PowerShell.SecretManagement module (Get-Secret), which is not installed in this session");
            }

            try
            {
                var output = _cmdlet.InvokeCommand.InvokeScript(
                    false,
                    ScriptBlock.Create("param($Vault, $Name) Get-Secret -Vault $Vault -Name $Name -ErrorAction Stop"),
                    null,
                    reference.Target,
                    reference.Name);
                var value = output.Count == 1 ? Plain(output[0]?.BaseObject) : null;
                return value is null
                    ? SecretResolution.Failed($"vault '{reference.Target}' has no single text, SecureString or PSCredential secret named '{reference.Name}'")
                    : SecretResolution.Of(value);
            }
            catch (RuntimeException e)
            {
                // Get-Secret's errors name the vault and secret, never the value.
                return SecretResolution.Failed($"Get-Secret failed for '{reference.Name}' in vault '{reference.Target}': {e.Message}");
            }
        }

        private static string? Plain(object? value)
        {
            switch (value)
            {
                case string text:
                    return text;
                case SecureString secure:
                    return FromSecure(secure);
                case PSCredential credential:
                    return FromSecure(credential.Password);
                default:
                    return null;
            }
        }

        private static string FromSecure(SecureString secure)
        {
            var pointer = Marshal.SecureStringToGlobalAllocUnicode(secure);
            try
            {
                return Marshal.PtrToStringUni(pointer) ?? "";
            }
            finally
            {
                Marshal.ZeroFreeGlobalAllocUnicode(pointer);
            }
        }
    }
}
