using System.Management.Automation;
using System.Net;
using System.Security;
using ConnectionTools.PowerShell.Host;
using ConnectionTools.SystemConnections;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// The sign-in parameters of New-Connection and Update-ConnectionAuthorization. Each cmdlet declares them itself, as
    /// PowerShell reads [Parameter] only from the cmdlet's class and its bases, and the two have different bases;
    /// CmdletContractTests checks that the two declarations stay identical.
    /// </summary>
    internal interface ISignInParameters
    {
        SwitchParameter UseDeviceCode { get; }

        string? ClientId { get; }

        string? Username { get; }

        string? TenantId { get; }

        string? CertificatePath { get; }

        string? CertificateThumbprint { get; }

        SecureString? CertificatePassword { get; }

        SecureString? ClientSecret { get; }

        /// <summary>The app's client id as the user name and its client secret as the password.</summary>
        PSCredential? Credential { get; }

        /// <summary>Salesforce interactive sign-in: the loopback port of the callback URL for this command (default: the node's, 1717).</summary>
        int? RedirectPort { get; }
    }

    internal static class SignInParameters
    {
        /// <summary>Hands the cmdlet's sign-in parameters to Core. Secrets leave their SecureString only here, right before Core needs them.</summary>
        public static T Fill<TCmdlet, T>(TCmdlet cmdlet, T target)
            where TCmdlet : PSCmdlet, ISignInParameters
            where T : CredentialParameters
        {
            target.UseDeviceCode = cmdlet.UseDeviceCode.IsPresent;
            target.ClientId = cmdlet.Credential?.UserName ?? cmdlet.ClientId;
            target.Username = cmdlet.Username;
            target.TenantId = cmdlet.TenantId;
            target.CertificatePath = cmdlet.CertificatePath is null ? null : cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(cmdlet.CertificatePath);
            target.CertificateThumbprint = cmdlet.CertificateThumbprint;
            target.CertificatePassword = Plain(cmdlet.CertificatePassword);
            target.ClientSecret = Plain(cmdlet.Credential?.Password) ?? Plain(cmdlet.ClientSecret);
            target.RedirectPort = cmdlet.RedirectPort;
            target.Interactive = Interactivity.CanPrompt(cmdlet.Host);
            return target;
        }

        private static string? Plain(SecureString? value) => value is null ? null : new NetworkCredential(string.Empty, value).Password;
    }
}
