using System;
using System.Collections.Generic;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Hosting;

namespace ConnectionTools.Configuration
{
    /// <summary>
    /// What the configuration engine needs of system connections (Salesforce, Dynamics 365), which the authorization
    /// engine implements. Calls are made on the pipeline thread, one connection at a time, after ShouldProcess was answered
    /// yes; each call is one connection's change and throws a ConnectionToolsException when it fails (the engine reports it
    /// for that connection and goes on with the next).
    /// </summary>
    public interface ISystemConnectionActions
    {
        /// <summary>
        /// The settings of every system connection on the node (not removed), by connection id, from one read of the store.
        /// Makes no network call. Connections missing from the result are compared by status only.
        /// </summary>
        IReadOnlyDictionary<Guid, SystemConnectionSettings> ReadSettings();

        /// <summary>
        /// Makes every check <see cref="Create"/> (when <paramref name="current"/> is null) or <see cref="Authorize"/> would make
        /// before its first network call: names, URLs, the flow's settings, that the certificate loads and can sign. Makes no
        /// network call and writes nothing; throws the ConnectionToolsException the apply would. The plan calls it, so a plan
        /// never promises a change the apply is bound to refuse.
        /// </summary>
        void Check(SystemConnectionDeclaration declaration, Connection? current, ResolvedSecrets secrets, IHostContext host);

        /// <summary>
        /// Creates the connection, authorizes it with the declared unattended flow (never prompting), and returns it Active.
        /// The data processing agreement counts as accepted: applying a configuration that declares the connection is the
        /// admin's explicit act. <paramref name="secrets"/> holds the resolved client secret or certificate password.
        /// </summary>
        Connection Create(SystemConnectionDeclaration declaration, ResolvedSecrets secrets, IHostContext host);

        /// <summary>
        /// Authorizes an existing connection again with the declared flow: an Inactive connection (expired or revoked grant)
        /// becomes Active, and changed authorization settings (flow, client, user, tenant, certificate) take effect.
        /// </summary>
        Connection Authorize(Connection current, SystemConnectionDeclaration declaration, ResolvedSecrets secrets, IHostContext host);

        /// <summary>Changes the settings that need no new grant: the retrieval interval and the description. No network call.</summary>
        Connection Update(Connection current, SystemConnectionDeclaration declaration, IHostContext host);
    }

    /// <summary>A system connection's settings as stored, compared with its declaration. Never holds a secret.</summary>
    public sealed class SystemConnectionSettings
    {
        public Uri InstanceUrl { get; init; } = null!;

        public EnvironmentType EnvironmentType { get; init; } = EnvironmentType.Public;

        public TimeSpan RetrievalInterval { get; init; }

        public string? DefaultCustomer { get; init; }

        public AuthorizationFlow Flow { get; init; }

        public string? ClientId { get; init; }

        public string? Username { get; init; }

        public string? TenantId { get; init; }

        public string? CertificatePath { get; init; }

        public string? CertificateThumbprint { get; init; }
    }
}
