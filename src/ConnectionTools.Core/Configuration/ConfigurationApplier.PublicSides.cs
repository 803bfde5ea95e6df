using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Invitations;
using ConnectionTools.Security;

namespace ConnectionTools.Configuration
{
    /// <summary>The public side of private connections: created in batches with their invitation codes (written owner-only to invitationCodePath), updated, and the node's public URL they need.</summary>
    internal sealed partial class ConfigurationApplier
    {
        private Connection CreatePublicSide(PrivateConnectionDeclaration d)
        {
            var host = new CapturingHost(_host);
            var commands = new InvitationCommands(_node, host);
            var prepared = commands.Prepare(Request(d), PublicUrl());
            var created = _node.Store.Write(tx => commands.Insert(tx, prepared));
            var invitation = commands.Created(prepared, created);
            WriteCode(d, invitation);
            return invitation.Connection;
        }

        /// <summary>The node's public URL, read once per apply rather than once per invitation.</summary>
        private Uri? PublicUrl()
        {
            if (!_publicUrlRead)
            {
                _publicUrl = _node.PublicUrl;
                _publicUrlRead = true;
            }

            return _publicUrl;
        }

        /// <summary>
        /// Creates the public sides of <paramref name="batch"/> in one store transaction, each in its own savepoint (see
        /// <see cref="CreateBatch"/>). Returns one result per item, in order; fewer only when the command was stopped while the
        /// batch was being confirmed (what was confirmed until then is still created).
        /// </summary>
        private List<ConnectionApplyResult> CreatePublicSides(string configuration, List<PlanItem> batch)
        {
            var host = new CapturingHost(_host);
            var commands = new InvitationCommands(_node, host);
            var results = new List<ConnectionApplyResult?>(batch.Count);
            var prepared = new List<(int Index, PreparedInvitation Invitation)>(batch.Count);
            foreach (var item in batch)
            {
                var what = $"Connection '{item.Name}' ({item.Type}, not on this node)";
                var why = item.DifferingProperties.Count > 0 ? $" [differs: {string.Join(", ", item.DifferingProperties)}]" : "";
                if (!_host.ShouldProcess(what, item.Describe() + why))
                {
                    results.Add(Result(item, ApplyOutcome.Skipped, null, null));
                }
                else
                {
                    try
                    {
                        prepared.Add((results.Count, commands.Prepare(Request((PrivateConnectionDeclaration)item.Declaration!), PublicUrl())));
                        results.Add(null);
                    }
                    catch (ConnectionToolsException e) when (!PerItem.IsStoreWide(e))
                    {
                        _host.WriteError(e);
                        results.Add(Result(item, ApplyOutcome.Failed, _node.Store.FindByName(item.Name), e));
                    }
                }

                if (_host.CancellationToken.IsCancellationRequested)
                {
                    break;
                }
            }

            if (prepared.Count == 0)
            {
                return results!;
            }

            var at = _node.Clock();
            var outcomes = _node.Store.Write(tx =>
            {
                // A busy store re-runs this whole transaction, so the outcomes start afresh each time. Each statement is
                // compiled once for the batch.
                using var statements = tx.KeepStatementsPrepared();
                var written = new object[prepared.Count];
                for (var i = 0; i < prepared.Count; i++)
                {
                    tx.Save("connection");
                    try
                    {
                        var created = commands.Insert(tx, prepared[i].Invitation);
                        ManagedConnections.RecordIn(tx, configuration, created.Id, at);
                        tx.Release("connection");
                        written[i] = created;
                    }
                    catch (ConnectionToolsException e) when (!PerItem.IsStoreWide(e))
                    {
                        tx.Rollback("connection");
                        tx.Release("connection");
                        written[i] = e;
                    }
                }

                return written;
            });

            for (var i = 0; i < prepared.Count; i++)
            {
                var (index, invitation) = prepared[i];
                var item = batch[index];
                if (outcomes[i] is ConnectionToolsException refused)
                {
                    _host.WriteError(refused);
                    results[index] = Result(item, ApplyOutcome.Failed, _node.Store.FindByName(item.Name), refused);
                    continue;
                }

                var created = (Connection)outcomes[i];
                try
                {
                    WriteCode((PrivateConnectionDeclaration)item.Declaration!, commands.Created(invitation, created));
                    _host.WriteVerbose($"{item.Describe()}: connection '{item.Name}' is now {created.Status}.");
                    results[index] = Result(item, ApplyOutcome.Applied, created, null);
                }
                catch (ConnectionToolsException e) when (!PerItem.IsStoreWide(e))
                {
                    _host.WriteError(e);
                    results[index] = Result(item, ApplyOutcome.Failed, created, e);
                }
            }

            return results!;
        }

        private Connection UpdatePublicSide(PrivateConnectionDeclaration d, PlanItem item, Connection connection)
        {
            if (Differs(item, "description") || Differs(item, "mode") || Differs(item, "system"))
            {
                var host = new CapturingHost(_host);
                new ConnectionCommands(_node, host).Set(
                    new[] { ConnectionTarget.ByObject(connection) },
                    new ConnectionEdit
                    {
                        Description = Differs(item, "description") ? d.Description : null,
                        Mode = Differs(item, "mode") ? d.Mode.ToString() : null,
                        System = Differs(item, "system") ? d.System : null,
                    },
                    passThru: true);
                connection = host.Single<Connection>();
            }

            if (item.RenewInvitation)
            {
                var host = new CapturingHost(_host);
                new InvitationCommands(_node, host).Get(new[] { ConnectionTarget.ByObject(connection) }, renew: true, NewPrivateConnectionRequest.DefaultLifetime);
                var invitation = host.Single<PrivateConnectionInvitation>();
                WriteCode(d, invitation);
                connection = invitation.Connection;
            }

            return connection;
        }

        /// <summary>
        /// Writes the invitation code where the file asks, readable only by its owner: it is a one-time secret. The file is made
        /// owner-only before the code is written into it, then moved into place.
        /// </summary>
        private static void WriteCode(PrivateConnectionDeclaration d, PrivateConnectionInvitation invitation)
        {
            if (d.InvitationCodePath is null)
            {
                return;
            }

            var path = d.InvitationCodePath;
            try
            {
                var folder = Path.GetDirectoryName(path);
                if (!string.IsNullOrEmpty(folder))
                {
                    Directory.CreateDirectory(folder);
                }

                OwnerOnlyFile.Write(path, Encoding.UTF8.GetBytes(invitation.InvitationCode + "\n"), replace: true);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new ConnectionToolsException(
                    ErrorIds.ConfigurationWriteFailed,
                    ErrorKind.WriteError,
                    $"{d.Location}: Connection '{d.Name}' was created (Pending), but its invitation code could not be written to '{path}': {e.Message}",
                    d.Name,
                    $"Fix the path or its permissions and apply again (a new code is then written), or show the code with: Get-InvitationCode -Name '{d.Name}'",
                    e);
            }
        }
    }
}
