using System;
using System.Collections.Generic;
using System.Text;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Nodes;
using ConnectionTools.Storage;

namespace ConnectionTools.Invitations
{
    /// <summary>The public side of a private connection: creating it with an invitation, and showing or renewing the code.</summary>
    public sealed class InvitationCommands
    {
        private readonly ConnectionNode _node;
        private readonly IHostContext _host;

        public InvitationCommands(ConnectionNode node, IHostContext host)
        {
            _node = node ?? throw new ArgumentNullException(nameof(node));
            _host = host ?? throw new ArgumentNullException(nameof(host));
        }

        /// <summary>
        /// New-PrivateConnection's pipeline: each request as <see cref="New"/>, where one that fails is written as that item's
        /// error and the rest are still created. A store that cannot be used ends the command.
        /// </summary>
        public void NewEach(IEnumerable<NewPrivateConnectionRequest> requests)
        {
            foreach (var request in requests ?? throw new ArgumentNullException(nameof(requests)))
            {
                PerItem.Run(_host, () => New(request));
            }
        }

        /// <summary>
        /// Creates a Pending private connection and its invitation code in one transaction. Refused before anything is written
        /// when the node has no public URL, or a name, instance name or lifetime is not usable.
        /// </summary>
        public void New(NewPrivateConnectionRequest request)
        {
            var (draft, publicUrl) = Draft(request, _node.PublicUrl);
            var binding = draft.System is null ? "" : $", syncing the cases of system '{draft.System}'";
            if (!_host.ShouldProcess($"Private connection '{draft.Name}'", $"Create ({request.Mode} mode, Pending{binding}) with an invitation code valid until {draft.InvitationExpiresAt!.Value:u}"))
            {
                return;
            }

            var prepared = Issue(draft, publicUrl);
            var created = _node.Store.Write(tx => Insert(tx, prepared));
            Created(prepared, created);
        }

        /// <summary>
        /// Everything <see cref="New"/> does before it writes: validation, then the connection's own random secret, code and
        /// protected copy. Throws, with nothing written, when the request cannot be made. <paramref name="publicUrl"/> is the
        /// node's, read by the caller (once, when it creates many).
        /// </summary>
        internal PreparedInvitation Prepare(NewPrivateConnectionRequest request, Uri? publicUrl)
        {
            var (draft, url) = Draft(request, publicUrl);
            return Issue(draft, url);
        }

        /// <summary>
        /// Every check <see cref="Prepare"/> makes, without making a secret or writing: what a plan runs to tell, before
        /// anything is applied, that the creation would fail (a name, an instance name, no public URL).
        /// </summary>
        internal void Check(NewPrivateConnectionRequest request, Uri? publicUrl) => Draft(request, publicUrl);

        /// <summary>Throws Node.NoPublicUrl for <paramref name="name"/> when <paramref name="publicUrl"/> is null (a code could not be issued).</summary>
        internal static void EnsurePublicUrl(Uri? publicUrl, string name)
        {
            if (publicUrl is null)
            {
                throw NoPublicUrl(name);
            }
        }

        /// <summary>The validated connection New would create, with its id and expiry; no secret yet.</summary>
        private (Connection Draft, Uri PublicUrl) Draft(NewPrivateConnectionRequest request, Uri? publicUrl)
        {
            var name = ConnectionNames.Validate(request.Name);
            var description = ConnectionNames.ValidateDescription(request.Description, name);
            var localInstance = ConnectionNames.ValidateInstanceName(request.LocalInstanceName, "-LocalInstanceName", name);
            var remoteInstance = request.RemoteInstanceName is null ? null : ConnectionNames.ValidateInstanceName(request.RemoteInstanceName, "-RemoteInstanceName", name);
            ValidateLifetime(request.InvitationLifetime, name);
            var url = publicUrl ?? throw NoPublicUrl(name);
            var system = request.System is null || SystemBinding.IsUnbind(request.System) ? null : _node.Store.Read(db => SystemBinding.Resolve(db, request.System, name));
            var draft = new Connection
            {
                SystemConnectionId = system?.Id,
                System = system?.Name,
                Id = Guid.NewGuid(),
                Name = name,
                Description = description,
                Type = ConnectionType.Private,
                Status = ConnectionStatus.Pending,
                Mode = request.Mode,
                Side = PrivateConnectionSide.Public,
                LocalInstanceName = localInstance,
                RemoteInstanceName = remoteInstance,
                InvitationExpiresAt = ExpiryFrom(request.InvitationLifetime),
            };
            return (draft, url);
        }

        private PreparedInvitation Issue(Connection draft, Uri publicUrl)
        {
            var expiresAt = draft.InvitationExpiresAt!.Value;
            var (code, row) = Issue(draft.Id, draft.Name, draft.Mode!.Value, draft.LocalInstanceName!, publicUrl, expiresAt);
            return new PreparedInvitation(draft, code, row, expiresAt, publicUrl);
        }

        /// <summary>Writes a prepared connection, its invitation, its sync rules and its audit entry in the caller's transaction.</summary>
        internal Connection Insert(StoreTransaction tx, PreparedInvitation prepared)
        {
            SystemBinding.EnsureStillLive(tx, prepared.Connection);
            return _node.Store.CreateIn(
                tx,
                prepared.Connection,
                _node.ActorName,
                t =>
                {
                    InvitationRows.Insert(t, prepared.Row);
                    SyncRuleRows.InsertBasic(t, prepared.Connection.Id);
                });
        }

        /// <summary>What <see cref="New"/> writes once the connection is committed.</summary>
        internal PrivateConnectionInvitation Created(PreparedInvitation prepared, Connection created)
        {
            _host.WriteVerbose($"Created private connection '{created.Name}' (Pending{(created.System is null ? ", status only" : $", syncing the cases of '{created.System}'")}). Give the invitation code to the private side's admin; it works once, until {prepared.ExpiresAt:u}.");
            var invitation = new PrivateConnectionInvitation(created, prepared.Code, prepared.ExpiresAt, prepared.PublicUrl);
            _host.WriteObject(invitation);
            return invitation;
        }

        /// <summary>
        /// Shows the current code of each pending connection, or with <paramref name="renew"/> replaces it (the old code stops working).
        /// Without <paramref name="targets"/> (null), every Pending connection's public side on this node, by name, as Get-Connection lists everything.
        /// </summary>
        public void Get(IEnumerable<ConnectionTarget>? targets, bool renew, TimeSpan lifetime)
        {
            targets ??= PendingPublicSides();
            ConnectionTargets.ForEach(_host, _node.Store, targets, target =>
            {
                var connection = ConnectionTargets.Resolve(_node.Store, target);
                EnsurePendingOnPublicSide(connection);
                if (renew)
                {
                    Renew(connection, lifetime);
                }
                else
                {
                    Show(connection);
                }
            });
        }

        private IEnumerable<ConnectionTarget> PendingPublicSides()
        {
            var pending = _node.Store.List(new ConnectionFilter { Statuses = new[] { ConnectionStatus.Pending }, Types = new[] { ConnectionType.Private } });
            var result = new List<ConnectionTarget>();
            foreach (var connection in pending)
            {
                if (connection.Side == PrivateConnectionSide.Public)
                {
                    result.Add(ConnectionTarget.ByObject(connection));
                }
            }

            result.Sort((a, b) => StringComparer.OrdinalIgnoreCase.Compare(a.Connection!.Name, b.Connection!.Name));
            return result;
        }

        private void Show(Connection connection)
        {
            var row = _node.Store.Read(db => InvitationRows.Find(db, connection.Id))
                ?? throw NotPending(connection, "it has no current invitation");
            var code = Encoding.UTF8.GetString(_node.Secrets.Unprotect(row.CodeProtected ?? throw NotPending(connection, "its code is no longer kept")));
            if (row.ExpiresAt <= _node.Clock())
            {
                _host.WriteWarning($"The invitation code of '{connection.Name}' expired at {row.ExpiresAt:u}. Issue a new one with: Get-InvitationCode -Name '{connection.Name}' -Renew");
            }

            // The code's own URL: the node's may have changed since it was issued.
            _host.WriteObject(new PrivateConnectionInvitation(connection, code, row.ExpiresAt, InvitationCodec.Decode(code).PublicNodeUrl));
        }

        private void Renew(Connection connection, TimeSpan lifetime)
        {
            ValidateLifetime(lifetime, connection.Name);
            var publicUrl = _node.PublicUrl ?? throw NoPublicUrl(connection.Name);
            var expiresAt = ExpiryFrom(lifetime);
            if (!_host.ShouldProcess($"Private connection '{connection.Name}'", $"Renew its invitation code (the current code stops working); the new one is valid until {expiresAt:u}"))
            {
                return;
            }

            var (code, row) = Issue(connection.Id, connection.Name, connection.Mode ?? PrivateConnectionMode.Basic, connection.LocalInstanceName ?? "", publicUrl, expiresAt);
            var now = _node.Clock();
            var outcome = _node.Store.Change(
                connection.Id,
                LifecycleAction.RenewInvitation,
                latest =>
                {
                    EnsurePendingOnPublicSide(latest);
                    return latest.With(c => { c.InvitationExpiresAt = expiresAt; });
                },
                _node.ActorName,
                (tx, _) =>
                {
                    InvitationRows.Retire(tx, connection.Id, InvitationOutcome.Superseded, now);
                    InvitationRows.Insert(tx, row);
                },
                always: true);
            _host.WriteVerbose($"Renewed the invitation code of '{connection.Name}'; the previous code no longer works.");
            _host.WriteObject(new PrivateConnectionInvitation(outcome.After, code, expiresAt, publicUrl));
        }

        private (string Code, InvitationRow Row) Issue(Guid id, string name, PrivateConnectionMode mode, string localInstance, Uri publicUrl, DateTimeOffset expiresAt)
        {
            var secret = InvitationSecret.New();
            string code;
            try
            {
                code = InvitationCodec.Encode(new Invitation(id, name, mode, publicUrl, _node.Store.NodeId, ConnectionNode.Version, localInstance, expiresAt, secret));
            }
            catch (ArgumentException e)
            {
                throw new ConnectionToolsException(
                    ErrorIds.InvitationTooLong,
                    ErrorKind.InvalidArgument,
                    $"The invitation for '{name}' cannot be made: {e.Message}",
                    name,
                    "Use a shorter connection name, instance name or public URL.");
            }

            var row = new InvitationRow(id, secret.ComputeVerifier(), _node.Secrets.Protect(Encoding.UTF8.GetBytes(code)), _node.Clock(), expiresAt);
            return (code, row);
        }

        /// <summary>Whole seconds, as the code carries them, so the code and the store agree.</summary>
        private DateTimeOffset ExpiryFrom(TimeSpan lifetime) =>
            DateTimeOffset.FromUnixTimeSeconds(_node.Clock().Add(lifetime).ToUnixTimeSeconds());

        private static void EnsurePendingOnPublicSide(Connection connection)
        {
            if (connection.Type != ConnectionType.Private || connection.Side != PrivateConnectionSide.Public)
            {
                throw NotPending(connection, "only the public side of a private connection has an invitation code");
            }

            if (connection.Status != ConnectionStatus.Pending)
            {
                throw NotPending(connection, connection.Status == ConnectionStatus.Removed ? "it is removed" : "its invitation was already accepted");
            }
        }

        private static ConnectionToolsException NotPending(Connection connection, string why) => new ConnectionToolsException(
            ErrorIds.InvitationNotPending,
            ErrorKind.InvalidOperation,
            $"Connection '{connection.Name}' ({connection.Type}, {connection.Status}) has no invitation code to show: {why}.",
            connection.Name,
            "Invitation codes exist only while a private connection is Pending on its public side. Create one with New-PrivateConnection.");

        private static ConnectionToolsException NoPublicUrl(string name) => new ConnectionToolsException(
            ErrorIds.NodeNoPublicUrl,
            ErrorKind.InvalidOperation,
            $"Cannot create an invitation for '{name}': this node has no public URL, so the private side would not know where to connect.",
            name,
            "Set it first: Set-ConnectionNode -PublicUrl https://node.example.com/ (or start the node host with --public-url).");

        private static void ValidateLifetime(TimeSpan lifetime, string name)
        {
            if (lifetime < NewPrivateConnectionRequest.MinimumLifetime || lifetime > NewPrivateConnectionRequest.MaximumLifetime)
            {
                throw new ConnectionToolsException(
                    ErrorIds.InvitationInvalidLifetime,
                    ErrorKind.InvalidArgument,
                    $"An invitation for '{name}' cannot live {lifetime}: the lifetime must be between {NewPrivateConnectionRequest.MinimumLifetime.TotalMinutes:0} minutes and {NewPrivateConnectionRequest.MaximumLifetime.TotalDays:0} days.",
                    name,
                    "Use for example -InvitationLifetime (New-TimeSpan -Hours 72).");
            }
        }
    }

    /// <summary>A new public side, validated and with its invitation issued, not yet written.</summary>
    internal sealed class PreparedInvitation
    {
        public PreparedInvitation(Connection connection, string code, InvitationRow row, DateTimeOffset expiresAt, Uri publicUrl)
        {
            Connection = connection;
            Code = code;
            Row = row;
            ExpiresAt = expiresAt;
            PublicUrl = publicUrl;
        }

        public Connection Connection { get; }

        public string Code { get; }

        public InvitationRow Row { get; }

        public DateTimeOffset ExpiresAt { get; }

        public Uri PublicUrl { get; }
    }
}
