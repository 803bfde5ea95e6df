using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;

namespace ConnectionTools.Configuration
{
    /// <summary>
    /// Computes a plan from a configuration and a snapshot of the node. Pure: it reads nothing and writes nothing, apart from
    /// asking whether a declared invitation code file still exists.
    /// </summary>
    public static partial class ConfigurationPlanner
    {
        public static ConnectionPlan Plan(ConnectionConfiguration configuration, NodeSnapshot node, bool prune, Func<string, bool>? fileExists = null)
        {
            fileExists ??= System.IO.File.Exists;
            var byName = new Dictionary<string, Connection>(StringComparer.OrdinalIgnoreCase);
            foreach (var connection in node.Connections)
            {
                byName[connection.Name] = connection;
            }

            var items = new List<PlanItem>(configuration.Connections.Count);
            foreach (var declaration in configuration.Connections)
            {
                byName.TryGetValue(declaration.Name, out var current);
                var adopt = current != null && (!node.Managed.TryGetValue(current.Id, out var owner) || owner != configuration.Name);
                var item = declaration is SystemConnectionDeclaration system
                    ? PlanSystem(system, current, node.SystemSettings)
                    : PlanPrivate((PrivateConnectionDeclaration)declaration, current, fileExists);
                items.Add(Adopting(item, adopt && item.Refusal is null));
            }

            if (prune)
            {
                var declared = new HashSet<string>(configuration.Connections.Select(c => c.Name), StringComparer.OrdinalIgnoreCase);
                foreach (var connection in node.Connections)
                {
                    if (!declared.Contains(connection.Name) && node.Managed.TryGetValue(connection.Id, out var owner) && owner == configuration.Name)
                    {
                        var actual = new Dictionary<string, string?> { ["type"] = connection.Type.ToString(), ["state"] = connection.Status.ToString() };
                        items.Add(new PlanItem
                        {
                            Name = connection.Name,
                            Type = connection.Type,
                            Current = connection,
                            Steps = new[] { PlanAction.Remove },
                            ActualState = actual,
                            DesiredState = new Dictionary<string, string?> { ["state"] = ConnectionStatus.Removed.ToString() },
                            DifferingProperties = new[] { "state" },
                            Note = $"No longer declared in configuration '{configuration.Name}', which created or managed it.",
                        });
                    }
                }
            }

            return new ConnectionPlan(configuration, items);
        }

        private static PlanItem Adopting(PlanItem item, bool adopt) => adopt ? Copy(item, adopt: true) : item;

        private static PlanItem PlanSystem(SystemConnectionDeclaration d, Connection? current, IReadOnlyDictionary<Guid, SystemConnectionSettings>? allSettings)
        {
            var desired = DesiredOf(d);
            if (current is null)
            {
                var steps = new List<PlanAction> { PlanAction.Create };
                if (d.State == DesiredState.Paused)
                {
                    steps.Add(PlanAction.Suspend);
                }

                return new PlanItem
                {
                    Name = d.Name,
                    Type = d.Type,
                    Declaration = d,
                    DesiredState = desired,
                    ActualState = Absent(),
                    DifferingProperties = new[] { "state" },
                    Steps = steps,
                    Refusal = allSettings is null ? SystemUnavailable(d) : d.Authorization.Flow == Authorization.AuthorizationFlow.ClientSecret && d.Authorization.ClientSecret is null ? MissingSecret(d, "clientSecret") : null,
                };
            }

            SystemConnectionSettings? settings = null;
            allSettings?.TryGetValue(current.Id, out settings);
            var actual = ActualOf(current, settings, d.Description != null);
            var differing = Differences(desired, actual);
            if (current.Type != d.Type)
            {
                return Refused(d, current, desired, actual, differing, $"A {current.Type} connection named '{current.Name}' already exists on this node; the file declares a {d.Type} connection.", "Rename one of them, or remove the existing connection first.");
            }

            if (settings != null && (differing.Contains("instanceUrl") || differing.Contains("environmentType")))
            {
                return Refused(d, current, desired, actual, differing, $"Connection '{d.Name}' is connected to {settings.InstanceUrl} ({settings.EnvironmentType}); a connection cannot be pointed at another org or environment.", "Remove the connection and apply again to connect the new org, or declare it under another name.");
            }

            var plan = new List<PlanAction>();
            var authorizationChanged = differing.Any(p => p.StartsWith("authorization.", StringComparison.Ordinal));
            var needsGrant = current.Status == ConnectionStatus.Inactive || current.Status == ConnectionStatus.Pending;
            if (differing.Contains("retrievalInterval") || differing.Contains("defaultCustomer") || differing.Contains("description"))
            {
                plan.Add(PlanAction.Update);
            }

            if (authorizationChanged || needsGrant)
            {
                plan.Add(PlanAction.Authorize);
            }

            var statusAfter = needsGrant || authorizationChanged ? ConnectionStatus.Active : current.Status;
            if (d.State == DesiredState.Paused && statusAfter == ConnectionStatus.Active)
            {
                plan.Add(PlanAction.Suspend);
            }
            else if (d.State == DesiredState.Active && statusAfter == ConnectionStatus.Paused)
            {
                plan.Add(PlanAction.Resume);
            }

            ConnectionToolsException? refusal = null;
            if (plan.Count > 0 && allSettings is null)
            {
                // Without the system-connection engine only status changes can be made.
                refusal = plan.Any(p => p == PlanAction.Update || p == PlanAction.Authorize) ? SystemUnavailable(d) : null;
            }
            else if (plan.Contains(PlanAction.Authorize) && d.Authorization.Flow == Authorization.AuthorizationFlow.ClientSecret && d.Authorization.ClientSecret is null)
            {
                refusal = MissingSecret(d, "clientSecret");
            }

            return new PlanItem
            {
                Name = d.Name,
                Type = d.Type,
                Declaration = d,
                Current = current,
                DesiredState = desired,
                ActualState = actual,
                DifferingProperties = differing,
                Steps = plan,
                Refusal = refusal,
                Note = settings is null && allSettings is null ? "Compared by state only: this node cannot read system connection settings." : null,
            };
        }

        private static PlanItem PlanPrivate(PrivateConnectionDeclaration d, Connection? current, Func<string, bool> fileExists)
        {
            var desired = DesiredOf(d);
            if (current is null)
            {
                var steps = new List<PlanAction>();
                ConnectionToolsException? refusal = null;
                string? pendingNote = null;
                if (d.Side == PrivateConnectionSide.Public)
                {
                    steps.Add(PlanAction.Create);
                    if (d.State == DesiredState.Paused)
                    {
                        pendingNote = "Created Pending; it can be paused once the private side has accepted.";
                    }
                }
                else
                {
                    steps.Add(PlanAction.Accept);
                    if (d.State == DesiredState.Paused)
                    {
                        steps.Add(PlanAction.Suspend);
                    }

                    if (d.InvitationCode is null)
                    {
                        refusal = new ConnectionToolsException(
                            ErrorIds.ConfigurationMissingKey,
                            ErrorKind.InvalidData,
                            $"{d.Location}: The key '{d.Location.Key}.invitationCode' is missing: connection '{d.Name}' does not exist on this node yet, and accepting it needs the invitation code (by reference).",
                            d.Location,
                            "Add invitationCode: env:NAME (or file:PATH, vault:VAULT/NAME) with the code the public side's admin sent.");
                    }
                }

                return new PlanItem { Name = d.Name, Type = d.Type, Declaration = d, DesiredState = desired, ActualState = Absent(), DifferingProperties = new[] { "state" }, Steps = steps, Refusal = refusal, Note = pendingNote };
            }

            var actual = ActualOf(current, null, d.Description != null, d.System != null);
            var differing = Differences(desired, actual);
            if (current.Type != ConnectionType.Private || current.Side != d.Side)
            {
                var what = current.Type == ConnectionType.Private ? $"the {current.Side} side of a private connection" : $"a {current.Type} connection";
                return Refused(d, current, desired, actual, differing, $"Connection '{current.Name}' on this node is {what}; the file declares the {d.Side} side of a private connection.", "Rename one of them, or remove the existing connection first.");
            }

            if (differing.Contains("localInstanceName"))
            {
                return Refused(d, current, desired, actual, differing, $"Connection '{d.Name}' has local instance name '{current.LocalInstanceName}'; it is fixed when the connection is made and the other side knows it by that name.", "Declare the current name, or remove the connection and apply again.");
            }

            if (d.Side == PrivateConnectionSide.Public && current.Mode == PrivateConnectionMode.Script && d.Mode == PrivateConnectionMode.Basic)
            {
                return Refused(d, current, desired, actual, differing, $"Connection '{d.Name}' is in Script mode and cannot go back to Basic: the upgrade is one way, so edited rules are never silently replaced.", "Declare mode: Script, or create a new private connection to start again from generated rules.");
            }

            // Moving to another system needs the connection Paused (Pending: nothing was synced yet). A file that also asks for
            // Paused gets it first; one that asks for Active is refused rather than paused behind the admin's back.
            var rebind = differing.Contains("system") && !string.IsNullOrEmpty(current.System) && !string.IsNullOrEmpty(d.System);
            var pauseFirst = rebind && current.Status == ConnectionStatus.Active && d.State == DesiredState.Paused;
            if (rebind && !pauseFirst && current.Status != ConnectionStatus.Paused && current.Status != ConnectionStatus.Pending)
            {
                return Refused(d, current, desired, actual, differing, $"Connection '{d.Name}' is {current.Status} and syncs the cases of '{current.System}'; it can move to '{d.System}' only while Paused. Cases already twinned stay with '{current.System}'.", "Declare state: Paused and apply (the connection is paused, then bound to the new system), then declare state: Active and apply again.", ErrorIds.BindingRebindNotPaused);
            }

            var plan = new List<PlanAction>();
            var renew = false;
            string? note = null;
            if (pauseFirst)
            {
                plan.Add(PlanAction.Suspend);
            }

            if (differing.Contains("description") || differing.Contains("mode") || differing.Contains("system"))
            {
                plan.Add(PlanAction.Update);
            }

            if (current.Status == ConnectionStatus.Pending)
            {
                // Only the partner's acceptance makes it Active: not drift, and nothing to do but wait.
                differing.Remove("state");
                note = "Pending: waiting for the private side to accept the invitation.";
                if (d.InvitationCodePath != null && !fileExists(d.InvitationCodePath))
                {
                    renew = true;
                    differing.Add("invitationCodePath");
                    if (!plan.Contains(PlanAction.Update))
                    {
                        plan.Add(PlanAction.Update);
                    }
                }
            }
            else if (d.State == DesiredState.Paused && current.Status == ConnectionStatus.Active)
            {
                if (!pauseFirst)
                {
                    plan.Add(PlanAction.Suspend);
                }
            }
            else if (d.State == DesiredState.Active && current.Status == ConnectionStatus.Paused)
            {
                plan.Add(PlanAction.Resume);
            }
            else if (current.Status == ConnectionStatus.Inactive)
            {
                return Refused(d, current, desired, actual, differing, $"Connection '{d.Name}' is Inactive and cannot be made {d.State} from here.", null);
            }

            return new PlanItem
            {
                Name = d.Name,
                Type = d.Type,
                Declaration = d,
                Current = current,
                DesiredState = desired,
                ActualState = actual,
                DifferingProperties = differing,
                Steps = plan,
                RenewInvitation = renew,
                Note = note,
            };
        }

        private static PlanItem Refused(ConnectionDeclaration d, Connection current, Dictionary<string, string?> desired, Dictionary<string, string?> actual, List<string> differing, string message, string? action, string errorId = ErrorIds.ConfigurationNotApplicable) => new PlanItem
        {
            Name = d.Name,
            Type = d.Type,
            Declaration = d,
            Current = current,
            DesiredState = desired,
            ActualState = actual,
            DifferingProperties = differing,
            Refusal = new ConnectionToolsException(errorId, ErrorKind.InvalidOperation, $"{d.Location}: {message}", d.Name, action),
        };

        private static ConnectionToolsException SystemUnavailable(ConnectionDeclaration d) => new ConnectionToolsException(
            ErrorIds.ConfigurationSystemConnectionsUnavailable,
            ErrorKind.InvalidOperation,
            $"{d.Location}: Connection '{d.Name}' ({d.Type}) cannot be created, authorized or updated from a configuration on this node: this version of ConnectionTools does not create system connections yet.",
            d.Name,
            "Leave system connections out of the file for now, or update the module.");

        private static ConnectionToolsException MissingSecret(SystemConnectionDeclaration d, string key) => new ConnectionToolsException(
            ErrorIds.ConfigurationMissingKey,
            ErrorKind.InvalidData,
            $"{d.Authorization.Location}: The key '{d.Authorization.Location.Key}.{key}' is missing: connection '{d.Name}' must be authorized with the {d.Authorization.Flow} flow, which needs it (by reference).",
            d.Authorization.Location,
            $"Add {key}: env:NAME (or file:PATH, vault:VAULT/NAME).");

        private static PlanItem Copy(PlanItem item, bool adopt) => new PlanItem
        {
            Name = item.Name,
            Type = item.Type,
            Steps = item.Steps,
            Declaration = item.Declaration,
            Current = item.Current,
            DesiredState = item.DesiredState,
            ActualState = item.ActualState,
            DifferingProperties = item.DifferingProperties,
            Refusal = item.Refusal,
            Adopt = adopt,
            RenewInvitation = item.RenewInvitation,
            Note = item.Note,
        };
    }
}
