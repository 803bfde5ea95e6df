using System.Management.Automation;
using System.Net;
using System.Security;
using ConnectionTools.Authorization;
using ConnectionTools.PowerShell.Host;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>The sign-in parameters of New-Connection and Update-ConnectionAuthorization, and their hand-over to Core.</summary>
    internal static class SystemCredentialParameters
    {
        /// <summary>Secrets leave their SecureString only here, right before Core needs them.</summary>
        public static T Fill<T>(T target, PSCmdlet cmdlet, SwitchParameter useDeviceCode, string? clientId, string? username, string? tenantId,
            string? certificatePath, string? certificateThumbprint, SecureString? certificatePassword, SecureString? clientSecret, PSCredential? credential)
            where T : CredentialParameters
        {
            target.UseDeviceCode = useDeviceCode.IsPresent;
            target.ClientId = credential?.UserName ?? clientId;
            target.Username = username;
            target.TenantId = tenantId;
            target.CertificatePath = certificatePath is null ? null : cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(certificatePath);
            target.CertificateThumbprint = certificateThumbprint;
            target.CertificatePassword = Plain(certificatePassword);
            target.ClientSecret = Plain(credential?.Password) ?? Plain(clientSecret);
            target.Interactive = Interactivity.CanPrompt(cmdlet.Host);
            return target;
        }

        private static string? Plain(SecureString? value) => value is null ? null : new NetworkCredential(string.Empty, value).Password;
    }
}
