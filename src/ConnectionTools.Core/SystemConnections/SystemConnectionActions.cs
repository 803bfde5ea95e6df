using System;
using System.Collections.Generic;
using ConnectionTools.Authorization;
using ConnectionTools.Configuration;
using ConnectionTools.Connections;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.SystemConnections
{
    /// <summary>
    /// System connections for connections as code: the same commands New-Connection, Update-ConnectionAuthorization and
    /// Set-Connection run, always unattended (a pipeline cannot answer a prompt), each throwing its connection's error.
    /// </summary>
    public sealed class SystemConnectionActions : ISystemConnectionActions
    {
        private readonly ConnectionNode _node;

        public SystemConnectionActions(ConnectionNode node)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
        }

        /// <summary>One scan of the store; the non-secret parts of each grant come from its encrypted blob, decrypted here, never shown.</summary>
        public IReadOnlyDictionary<Guid, SystemConnectionSettings> ReadSettings()
        {
            var settings = new Dictionary<Guid, SystemConnectionSettings>();
            var grants = GrantVault.ReadAllProtected(_node);
            _node.Store.Scan(new ConnectionFilter { Types = SystemConnectionTypes.All }, connection =>
            {
                if (connection.InstanceUri is null || !grants.TryGetValue(connection.Id, out var protectedGrant))
                {
                    return;
                }

                var grant = GrantVault.Unprotect(_node, protectedGrant);
                settings[connection.Id] = new SystemConnectionSettings
                {
                    InstanceUrl = connection.InstanceUri,
                    EnvironmentType = connection.EnvironmentType ?? EnvironmentType.Public,
                    RetrievalInterval = connection.RetrievalInterval ?? JobRows.DefaultInterval,
                    DefaultCustomer = connection.DefaultCustomer,
                    Flow = grant.Flow,
                    ClientId = grant.ClientId,
                    Username = grant.Username,
                    TenantId = grant.TenantId,
                    CertificatePath = grant.CertificatePath,
                    CertificateThumbprint = grant.CertificateThumbprint,
                };
            });
            return settings;
        }

        public void Check(SystemConnectionDeclaration declaration, Connection? current, ResolvedSecrets secrets, IHostContext host)
        {
            if (declaration is null)
            {
                throw new ArgumentNullException(nameof(declaration));
            }

            if (current is null)
            {
                new SystemConnectionCommands(_node, new CapturingHost(host)).Check(CreateRequest(declaration, secrets));
                return;
            }

            // Authorizing again with the declared settings: the certificate must load and be able to sign.
            var authorization = declaration.Authorization;
            if (authorization.CertificatePath != null || authorization.CertificateThumbprint != null)
            {
                CertificateLoader.Load(authorization.CertificatePath, authorization.CertificateThumbprint, secrets?.CertificatePassword).Dispose();
            }
        }

        public Connection Create(SystemConnectionDeclaration declaration, ResolvedSecrets secrets, IHostContext host)
        {
            var request = CreateRequest(declaration, secrets);
            var capture = new CapturingHost(host);
            new SystemConnectionCommands(_node, capture).New(request);
            var created = capture.Single<Connection>();
            return declaration.RetrievalInterval == JobRows.DefaultInterval && declaration.DefaultCustomer is null ? created : Update(created, declaration, host);
        }

        public Connection Authorize(Connection current, SystemConnectionDeclaration declaration, ResolvedSecrets secrets, IHostContext host)
        {
            if (current is null)
            {
                throw new ArgumentNullException(nameof(current));
            }

            var capture = new CapturingHost(host);
            new SystemConnectionCommands(_node, capture).Update(new[] { ConnectionTarget.ByObject(current) }, Fill(new UpdateAuthorizationRequest { ThrottleLimit = 1 }, declaration.Authorization, secrets));
            var result = capture.Single<AuthorizationResult>();
            return _node.Store.Find(result.Id) ?? throw ConnectionStore.NotFound(current.Name);
        }

        public Connection Update(Connection current, SystemConnectionDeclaration declaration, IHostContext host)
        {
            if (current is null)
            {
                throw new ArgumentNullException(nameof(current));
            }

            var capture = new CapturingHost(host);
            new ConnectionCommands(_node, capture).Set(
                new[] { ConnectionTarget.ByName(current.Name) },
                new ConnectionEdit
                {
                    Description = declaration.Description,
                    RetrievalInterval = declaration.RetrievalInterval,
                    DefaultCustomer = current.Type == ConnectionType.Dynamics365 ? declaration.DefaultCustomer ?? "" : null,
                },
                passThru: true);
            return capture.Single<Connection>();
        }

        private static NewConnectionRequest CreateRequest(SystemConnectionDeclaration declaration, ResolvedSecrets secrets) => Fill(new NewConnectionRequest
        {
            Name = declaration.Name,
            Description = declaration.Description,
            Type = declaration.Type.ToString(),
            InstanceUrl = declaration.InstanceUrl.AbsoluteUri,
            EnvironmentType = declaration.Type == ConnectionType.Dynamics365 ? declaration.EnvironmentType.ToString() : null,

            // Declaring the connection in the file and applying it is the admin's explicit acceptance.
            AcceptDataProcessingAgreement = true,
        }, declaration.Authorization, secrets);

        private static T Fill<T>(T request, AuthorizationDeclaration authorization, ResolvedSecrets secrets)
            where T : CredentialParameters
        {
            request.ClientId = authorization.ClientId;
            request.Username = authorization.Username;
            request.TenantId = authorization.TenantId;
            request.CertificatePath = authorization.CertificatePath;
            request.CertificateThumbprint = authorization.CertificateThumbprint;
            request.CertificatePassword = secrets?.CertificatePassword;
            request.ClientSecret = secrets?.ClientSecret;
            request.Interactive = false;
            return request;
        }
    }
}
