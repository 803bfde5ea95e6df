using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Connections;

namespace ConnectionTools.Authorization
{
    /// <summary>
    /// One provider's OAuth flows (Salesforce on HttpClient, Entra ID through MSAL). Implementations are stateless and thread-safe:
    /// Update-ConnectionAuthorization calls them in parallel. A refusal by the provider is a <see cref="ProviderRefusedException"/>;
    /// a provider that cannot be reached (after retries) is a ConnectionToolsException with id Authorization.ProviderUnavailable.
    /// </summary>
    public interface ISystemAuthorizer
    {
        /// <summary>Obtains a new grant with <paramref name="spec"/>'s flow and reads the org's identity.</summary>
        Task<AuthorizationOutcome> AuthorizeAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken);

        /// <summary>
        /// Uses the stored grant without any interaction: refreshes it (refresh token, MSAL cache) or, for unattended flows,
        /// requests a new token with the stored credentials; then reads the org's identity.
        /// </summary>
        Task<AuthorizationOutcome> RefreshAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken);

        /// <summary>Revokes the grant at the provider where the protocol allows it; returns false when it has no revocation endpoint.</summary>
        Task<bool> RevokeAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken);
    }

    /// <summary>Which org a grant is for: the connection's type, cloud and instance URL pick login hosts, audiences and authorities.</summary>
    public sealed class SystemTarget
    {
        public SystemTarget(ConnectionType type, EnvironmentType environmentType, Uri instanceUrl)
        {
            Type = type;
            EnvironmentType = environmentType;
            InstanceUrl = instanceUrl;
        }

        public ConnectionType Type { get; }

        public EnvironmentType EnvironmentType { get; }

        public Uri InstanceUrl { get; }
    }

    /// <summary>What a provider may use of its caller: HTTP, a browser, a place to show a device code.</summary>
    public sealed class AuthorizationContext
    {
        public AuthorizationContext(HttpClient http)
        {
            Http = http;
        }

        /// <summary>Shared per process. Tests pass one whose handler routes real provider hosts to loopback emulators.</summary>
        public HttpClient Http { get; }

        /// <summary>Timeout of each request.</summary>
        public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>Opens the system browser at the authorize URL. Tests replace it with a client that follows the redirect.</summary>
        public Func<Uri, CancellationToken, Task> OpenBrowser { get; set; } = SystemBrowser.OpenAsync;

        /// <summary>Shows the device-code instructions (verification URL and user code) to the person at the keyboard.</summary>
        public Action<string> ShowDeviceCode { get; set; } = _ => { };

        /// <summary>Writes to the verbose stream. Never given secrets.</summary>
        public Action<string> Verbose { get; set; } = _ => { };

        /// <summary>
        /// Called as soon as a token answer carrying a refresh token arrives, before anything else is asked of the provider, with
        /// the grant as it must be stored from now on. Under refresh-token rotation the previous token is already used up, so
        /// the caller saves this at once, in its own transaction (and, for a sign-in, knows what to revoke if a later step fails).
        /// </summary>
        public Action<GrantMaterial>? GrantIssued { get; set; }

        /// <summary>The loopback redirect of the interactive flow: a fixed port and path, matching the connected app's callback URL.</summary>
        public LoopbackRedirect Redirect { get; set; } = LoopbackRedirect.Default;

        /// <summary>How long an interactive or device-code sign-in may wait for the user.</summary>
        public TimeSpan InteractionTimeout { get; set; } = TimeSpan.FromMinutes(5);
    }
}
