using System;
using System.Collections.Generic;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Invitations;

namespace ConnectionTools.Configuration
{
    /// <summary>The state a configuration asks a connection to be in. Pending, Inactive and Removed are the system's to set.</summary>
    public enum DesiredState
    {
        Active,
        Paused,
    }

    /// <summary>A validated configuration file: what the node should have.</summary>
    public sealed class ConnectionConfiguration
    {
        public const string ApiVersionV1 = "connectiontools/v1";

        public string Path { get; init; } = "";

        /// <summary>Identifies this configuration on the node, so -Prune removes only what it managed. Defaults to the file name.</summary>
        public string Name { get; init; } = "";

        public string ApiVersion { get; init; } = ApiVersionV1;

        public IReadOnlyList<ConnectionDeclaration> Connections { get; init; } = Array.Empty<ConnectionDeclaration>();
    }

    /// <summary>One declared connection. Its name is its identity on the node.</summary>
    public abstract class ConnectionDeclaration
    {
        public string Name { get; init; } = "";

        public ConnectionType Type { get; init; }

        public DesiredState State { get; init; } = DesiredState.Active;

        /// <summary>Null: not managed by the file (whatever the connection has is kept).</summary>
        public string? Description { get; init; }

        public ConfigurationLocation Location { get; init; } = new ConfigurationLocation("", 1, 1, "");
    }

    /// <summary>A Salesforce org or a Dynamics 365 environment, authorized without a prompt so that pipelines can apply it.</summary>
    public sealed class SystemConnectionDeclaration : ConnectionDeclaration
    {
        public Uri InstanceUrl { get; init; } = null!;

        public EnvironmentType EnvironmentType { get; init; } = EnvironmentType.Public;

        public TimeSpan RetrievalInterval { get; init; } = ConfigurationLoader.DefaultRetrievalInterval;

        /// <summary>Dynamics 365: accounts(guid) or contacts(guid), the customer of incidents made from partner cases; null when none.</summary>
        public string? DefaultCustomer { get; init; }

        public AuthorizationDeclaration Authorization { get; init; } = new AuthorizationDeclaration();
    }

    /// <summary>The unattended authorization of a system connection. Secrets are references, resolved only when needed.</summary>
    public sealed class AuthorizationDeclaration
    {
        public AuthorizationFlow Flow { get; init; }

        public string ClientId { get; init; } = "";

        public string? Username { get; init; }

        public string? TenantId { get; init; }

        public string? CertificatePath { get; init; }

        public string? CertificateThumbprint { get; init; }

        public SecretReference? CertificatePassword { get; init; }

        public SecretReference? ClientSecret { get; init; }

        public ConfigurationLocation Location { get; init; } = new ConfigurationLocation("", 1, 1, "");
    }

    /// <summary>
    /// A private connection. On the public side the node creates it and writes the invitation code to a file; on the private
    /// side the node accepts the code, given by reference.
    /// </summary>
    public sealed class PrivateConnectionDeclaration : ConnectionDeclaration
    {
        public PrivateConnectionSide Side { get; init; }

        /// <summary>Public side only.</summary>
        public PrivateConnectionMode Mode { get; init; } = PrivateConnectionMode.Basic;

        /// <summary>Null on the private side: the computer name when accepting, and not compared afterwards.</summary>
        public string? LocalInstanceName { get; init; }

        /// <summary>Public side only, optional; the private side reports its own on acceptance, so it is not compared.</summary>
        public string? RemoteInstanceName { get; init; }

        /// <summary>Public side only: where the invitation code is written (owner-only), as a full path. Null: not written.</summary>
        public string? InvitationCodePath { get; init; }

        /// <summary>
        /// The Salesforce or Dynamics 365 connection on this node whose cases it syncs. Null: not managed by the file (whatever the
        /// connection has is kept); empty: none, the connection exchanges status only.
        /// </summary>
        public string? System { get; init; }

        /// <summary>Private side only: the code to accept. Needed only while the connection does not exist here.</summary>
        public SecretReference? InvitationCode { get; init; }
    }

    /// <summary>
    /// Secrets resolved from references for one connection, held only while it is applied. ToString never shows them.
    /// </summary>
    public sealed class ResolvedSecrets
    {
        public static readonly ResolvedSecrets None = new ResolvedSecrets();

        public string? ClientSecret { get; init; }

        public string? CertificatePassword { get; init; }

        public string? InvitationCode { get; init; }

        public override string ToString() => "(resolved secrets, not shown)";
    }
}
