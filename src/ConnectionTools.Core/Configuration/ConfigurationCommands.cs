using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Peering;
using ConnectionTools.Storage;

namespace ConnectionTools.Configuration
{
    /// <summary>What the configuration engine may use beyond the node: secret vaults, the system-connection engine, HTTP to peers.</summary>
    public sealed class ConfigurationServices
    {
        /// <summary>Resolves vault: references; null: they do not resolve.</summary>
        public ISecretResolver? Vaults { get; init; }

        /// <summary>Creates and authorizes system connections; null: they are compared by status only, and cannot be created.</summary>
        public ISystemConnectionActions? SystemConnections { get; init; }

        /// <summary>Used to accept invitations and to tell a public side about a removal; null: the node's own <see cref="Nodes.ConnectionNode.Peers"/>.</summary>
        public PeerClient? Peers { get; init; }
    }

    /// <summary>
    /// What Test-, Invoke- and Export-ConnectionConfiguration do. Test and Invoke validate the whole file first and report
    /// every problem with its position; if there is any, nothing is applied. Both plan from one read of the store.
    /// </summary>
    public sealed class ConfigurationCommands
    {
        private readonly ConnectionNode _node;
        private readonly IHostContext _host;
        private readonly ConfigurationServices _services;

        public ConfigurationCommands(ConnectionNode node, IHostContext host, ConfigurationServices? services = null)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
            _services = services ?? new ConfigurationServices();
        }

        /// <summary>Writes one <see cref="ConnectionTestResult"/> per declared connection; changes nothing. Validation errors are written instead.</summary>
        public void Test(string path)
        {
            var prepared = Prepare(path, prune: false);
            if (prepared is null)
            {
                return;
            }

            var (plan, _) = prepared.Value;
            var matching = 0;
            foreach (var item in plan.Items)
            {
                if (item.InDesiredState)
                {
                    matching++;
                }

                _host.WriteObject(new ConnectionTestResult(item, plan.Configuration.Path));
            }

            _host.WriteVerbose($"Configuration '{plan.Configuration.Name}': {matching} of {plan.Items.Count} connection(s) in the desired state.");
        }

        /// <summary>
        /// Validates, plans and applies. A file with errors is refused as a whole (each error written, then a terminating
        /// Configuration.Invalid). Writes one <see cref="ConnectionApplyResult"/> per connection, and an error per failed one.
        /// </summary>
        public void Invoke(string path, bool prune)
        {
            var prepared = Prepare(path, prune);
            if (prepared is null)
            {
                throw new ConnectionToolsException(
                    ErrorIds.ConfigurationInvalid,
                    ErrorKind.InvalidData,
                    $"The configuration '{path}' is not valid (see the errors above); nothing was applied.",
                    path,
                    "Fix the errors and run again; Test-ConnectionConfiguration checks a file without applying it.");
            }

            var (plan, secrets) = prepared.Value;
            _host.WriteVerbose($"Plan for configuration '{plan.Configuration.Name}' ({plan.Items.Count} connection(s)): {plan.Summary()}.");
            foreach (var item in plan.Items.Where(i => i.Steps.Count > 0 || i.Refusal != null))
            {
                _host.WriteVerbose(item.Refusal is null
                    ? $"  {item.Describe()}: '{item.Name}'" + (item.DifferingProperties.Count > 0 ? $" (differs: {string.Join(", ", item.DifferingProperties)})" : "")
                    : $"  refused: '{item.Name}' ({item.Refusal.ErrorId})");
            }

            // Errors come after every connection was applied, so a failing one never stops the rest, even under -ErrorAction Stop.
            var host = new ErrorsLastHost(_host);
            try
            {
                new ConfigurationApplier(_node, host, _services.SystemConnections, _services.Peers, secrets).Apply(plan);
            }
            finally
            {
                host.Flush();
            }
        }

        /// <summary>
        /// Describes every connection on the node (not removed) as a configuration, written to <paramref name="path"/> when
        /// given. An existing file is replaced only with <paramref name="force"/>; a store never is. Returns what was made (null when
        /// ShouldProcess declined); the cmdlet writes its text, or the file.
        /// </summary>
        public ExportedConfiguration? Export(string? path, bool force = false)
        {
            var connections = _node.Store.List(new ConnectionFilter());
            var settings = _services.SystemConnections?.ReadSettings();
            var text = ConfigurationExporter.Write(connections, settings, out var written, out var skipped);
            foreach (var connection in skipped)
            {
                _host.WriteWarning(connection.Type == ConnectionType.Private
                    ? $"Connection '{connection.Name}' (Private) is not exported: it has no side, so it was not made by New-PrivateConnection or an accepted invitation."
                    : $"Connection '{connection.Name}' ({connection.Type}) is not exported: this node cannot read the settings of system connections yet.");
            }

            if (path != null)
            {
                StoreFile.RefuseAsWriteTarget(path, "The configuration");
                var exists = File.Exists(path);
                if (exists && !force)
                {
                    throw new ConnectionToolsException(
                        ErrorIds.ConfigurationFileExists,
                        ErrorKind.ResourceExists,
                        $"The configuration was not written: '{path}' already exists. Nothing was written.",
                        path,
                        "Add -Force to replace the file, or give another -Path.");
                }

                if (!_host.ShouldProcess(path, exists ? $"Replace the file with a configuration of {written} connection(s)" : $"Write a configuration of {written} connection(s)"))
                {
                    return null;
                }

                try
                {
                    var folder = Path.GetDirectoryName(Path.GetFullPath(path));
                    if (!string.IsNullOrEmpty(folder))
                    {
                        Directory.CreateDirectory(folder);
                    }

                    File.WriteAllText(path, text, new UTF8Encoding(false));
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException || e is NotSupportedException)
                {
                    throw new ConnectionToolsException(ErrorIds.ConfigurationWriteFailed, ErrorKind.WriteError, $"The configuration cannot be written to '{path}': {e.Message}", path, "Check the path and its permissions.", e);
                }
            }

            return new ExportedConfiguration(path, written, skipped.Count, text);
        }

        /// <summary>Loads and validates the file, reads the node once, resolves the references the plan needs, and plans. Null when the file has errors (all written).</summary>
        private (ConnectionPlan Plan, IReadOnlyDictionary<ConnectionDeclaration, ResolvedSecrets> Secrets)? Prepare(string path, bool prune)
        {
            // The store is read while the file is parsed: neither needs the other, and both take a while with thousands of
            // connections. A file with errors still refuses before the read is looked at (so a store problem never hides them).
            var reading = Task.Run(() => (Connections: _node.Store.List(new ConnectionFilter()), Managed: ManagedConnections.ReadAll(_node.Store)));
            var issues = new List<ConfigurationIssue>();
            ConnectionConfiguration? configuration;
            try
            {
                configuration = ConfigurationLoader.Load(path, issues);
            }
            catch
            {
                Observe(reading);
                throw;
            }

            if (configuration is null)
            {
                Observe(reading);
                Report(issues);
                return null;
            }

            var (connections, managed) = reading.GetAwaiter().GetResult();
            var snapshot = new NodeSnapshot
            {
                Connections = connections,
                Managed = managed,
                SystemSettings = _services.SystemConnections?.ReadSettings(),
            };
            var existing = new HashSet<string>(snapshot.Connections.Select(c => c.Name), StringComparer.OrdinalIgnoreCase);
            var secrets = Resolve(configuration, existing, issues);
            if (issues.Count > 0)
            {
                Report(issues);
                return null;
            }

            var plan = ConfigurationPlanner.Plan(configuration, snapshot, prune);
            return (Preflight(plan, secrets), secrets);
        }

        /// <summary>
        /// Runs, for every connection the plan would create, accept or authorize, each check its apply would make before its
        /// first network call: no public URL for an invitation, a certificate that is not there or cannot sign, an invitation
        /// code that does not decode or has expired, a name that is taken. A connection that would fail is refused in the plan
        /// with the error the apply would have given, so Test and -WhatIf show which connections would fail and why, and the
        /// apply never starts what it cannot finish. Makes no network call and writes nothing.
        /// </summary>
        private ConnectionPlan Preflight(ConnectionPlan plan, IReadOnlyDictionary<ConnectionDeclaration, ResolvedSecrets> secrets)
        {
            List<PlanItem>? items = null;
            Uri? publicUrl = null;
            var publicUrlRead = false;
            Uri? PublicUrl()
            {
                if (!publicUrlRead)
                {
                    publicUrl = _node.PublicUrl;
                    publicUrlRead = true;
                }

                return publicUrl;
            }

            for (var i = 0; i < plan.Items.Count; i++)
            {
                var item = plan.Items[i];
                if (item.Refusal != null || item.Steps.Count == 0 || item.Declaration is null)
                {
                    continue;
                }

                ConnectionToolsException? refusal = null;
                try
                {
                    Check(item, secrets.TryGetValue(item.Declaration, out var resolved) ? resolved : ResolvedSecrets.None, PublicUrl, plan.Configuration);
                }
                catch (ConnectionToolsException e) when (!PerItem.IsStoreWide(e))
                {
                    refusal = new ConnectionToolsException(e.ErrorId, e.Kind, $"{item.Declaration.Location}: Connection '{item.Name}' cannot be {Verb(item)}: {e.Message}", item.Name, e.RecommendedAction, e);
                }

                if (refusal != null)
                {
                    items ??= new List<PlanItem>(plan.Items);
                    items[i] = item.Refused(refusal);
                }
            }

            return items is null ? plan : new ConnectionPlan(plan.Configuration, items);
        }

        private void Check(PlanItem item, ResolvedSecrets secrets, Func<Uri?> publicUrl, ConnectionConfiguration configuration)
        {
            var host = new CapturingHost(_host);
            var declaration = item.Declaration;
            if (declaration is PrivateConnectionDeclaration { System: { Length: > 0 } system } && _node.Store.FindByName(system) is null
                && configuration.Connections.Any(c => c is SystemConnectionDeclaration && ConnectionNames.Same(c.Name, system)))
            {
                // The file creates the system too (system connections are applied in file order, so it must come first): checked when applied.
                declaration = WithoutSystem((PrivateConnectionDeclaration)declaration);
            }

            switch (declaration)
            {
                case PrivateConnectionDeclaration { Side: PrivateConnectionSide.Public } d when item.Steps.Contains(PlanAction.Create):
                    new Invitations.InvitationCommands(_node, host).Check(ConfigurationApplier.Request(d), publicUrl());
                    break;
                case PrivateConnectionDeclaration { System: { } bound } d when item.Steps.Contains(PlanAction.Update) && item.DifferingProperties.Contains("system") && item.Current != null:
                    _node.Store.Read(db => SystemBinding.Resolve(db, bound, d.Name));
                    break;
                case PrivateConnectionDeclaration { Side: PrivateConnectionSide.Public } d when item.RenewInvitation:
                    Invitations.InvitationCommands.EnsurePublicUrl(publicUrl(), d.Name);
                    break;
                case PrivateConnectionDeclaration d when item.Steps.Contains(PlanAction.Accept) && secrets.InvitationCode != null:
                    new PeerCommands(_node, host, _services.Peers ?? _node.Peers).CheckAccept(secrets.InvitationCode, d.Name, d.LocalInstanceName, d.System);
                    break;
                case SystemConnectionDeclaration d when _services.SystemConnections != null && (item.Steps.Contains(PlanAction.Create) || item.Steps.Contains(PlanAction.Authorize)):
                    _services.SystemConnections.Check(d, item.Current, secrets, host);
                    break;
            }
        }

        private static PrivateConnectionDeclaration WithoutSystem(PrivateConnectionDeclaration d) => new PrivateConnectionDeclaration
        {
            Name = d.Name, Type = d.Type, State = d.State, Description = d.Description, Location = d.Location, Side = d.Side, Mode = d.Mode,
            LocalInstanceName = d.LocalInstanceName, RemoteInstanceName = d.RemoteInstanceName, InvitationCodePath = d.InvitationCodePath, InvitationCode = d.InvitationCode,
        };

        private static string Verb(PlanItem item) => item.Action switch
        {
            PlanAction.Create => "created",
            PlanAction.Accept => "accepted",
            PlanAction.Authorize => "authorized",
            _ => "updated",
        };

        /// <summary>
        /// Resolves every reference in the file, so a reference that does not resolve is found before anything is applied, with
        /// one exception: the invitation code of a private side the node already has (codes work once, and are not needed again).
        /// </summary>
        private Dictionary<ConnectionDeclaration, ResolvedSecrets> Resolve(ConnectionConfiguration configuration, HashSet<string> existing, List<ConfigurationIssue> issues)
        {
            var resolver = new SecretResolver(_services.Vaults);
            var result = new Dictionary<ConnectionDeclaration, ResolvedSecrets>();
            string? One(SecretReference? reference)
            {
                if (reference is null)
                {
                    return null;
                }

                var resolution = resolver.Resolve(reference);
                if (!resolution.Resolved)
                {
                    issues.Add(SecretResolver.Unresolved(reference, resolution.Problem ?? "no value"));
                }

                return resolution.Value;
            }

            foreach (var declaration in configuration.Connections)
            {
                switch (declaration)
                {
                    case SystemConnectionDeclaration s when s.Authorization.ClientSecret != null || s.Authorization.CertificatePassword != null:
                        result[declaration] = new ResolvedSecrets { ClientSecret = One(s.Authorization.ClientSecret), CertificatePassword = One(s.Authorization.CertificatePassword) };
                        break;
                    case PrivateConnectionDeclaration p when p.InvitationCode != null:
                        if (existing.Contains(p.Name))
                        {
                            _host.WriteVerbose($"'{p.Name}' already exists on this node; its invitation code ({p.InvitationCode}) is not needed and was not read.");
                        }
                        else
                        {
                            result[declaration] = new ResolvedSecrets { InvitationCode = One(p.InvitationCode) };
                        }

                        break;
                }
            }

            return result;
        }

        /// <summary>Waits for a read whose result is not needed, so it does not outlive the command; its failure is not reported.</summary>
        private static void Observe(Task task)
        {
            try
            {
                task.Wait();
            }
            catch (AggregateException)
            {
                // The command already failed for another reason, which is the one to report.
            }
        }

        private void Report(List<ConfigurationIssue> issues)
        {
            foreach (var issue in issues)
            {
                _host.WriteError(issue.ToException());
            }
        }
    }
}
