using System;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;

namespace ConnectionTools.Connections
{
    /// <summary>What an edit may change: the one-way mode upgrade and the retrieval interval's range.</summary>
    public sealed partial class ConnectionCommands
    {
        /// <summary>
        /// The mode a private connection may move to: Basic upgrades to Script, one way. Visual is not offered for private
        /// connections, and system connections have no mode; both are refused with the reason.
        /// </summary>
        private static PrivateConnectionMode? DecideMode(Connection current, string requested)
        {
            if (current.Type != ConnectionType.Private)
            {
                throw new ConnectionToolsException(ErrorIds.ConnectionModeNotOffered, ErrorKind.InvalidArgument,
                    $"Connection '{current.Name}' is a {current.Type} connection; modes (Basic, Script) apply to private connections only.", current.Name, null);
            }

            if (string.Equals(requested, "Visual", StringComparison.OrdinalIgnoreCase))
            {
                throw new ConnectionToolsException(ErrorIds.ConnectionModeNotOffered, ErrorKind.InvalidArgument,
                    $"Visual mode is not offered for private connections: the visual editor configures both sides at once, and the public side can never reach the private side behind its firewall. '{current.Name}' stays {current.Mode}.",
                    current.Name, $"Use Script mode to edit the rules: Set-Connection -Name '{current.Name}' -Mode Script");
            }

            var mode = string.Equals(requested, "Script", StringComparison.OrdinalIgnoreCase) ? PrivateConnectionMode.Script
                : string.Equals(requested, "Basic", StringComparison.OrdinalIgnoreCase) ? PrivateConnectionMode.Basic
                : throw new ConnectionToolsException(ErrorIds.ConnectionModeNotOffered, ErrorKind.InvalidArgument, $"'{requested}' is not a mode. Private connections are Basic or Script.", current.Name, null);
            if (current.Mode == PrivateConnectionMode.Script && mode == PrivateConnectionMode.Basic)
            {
                throw new ConnectionToolsException(ErrorIds.ConnectionModeDowngrade, ErrorKind.InvalidOperation,
                    $"Connection '{current.Name}' is in Script mode and cannot go back to Basic: the upgrade is one way, so edited rules are never silently replaced.",
                    current.Name, "To start again from generated rules, create a new private connection.");
            }

            return mode;
        }

        /// <summary>
        /// Dataverse creates an incident only under a customer: an account or contact of that environment, named as the Web API binds
        /// it (accounts(guid), contacts(guid)). An empty value clears it.
        /// </summary>
        private static string? DecideCustomer(Connection current, string requested)
        {
            if (current.Type != ConnectionType.Dynamics365)
            {
                throw new ConnectionToolsException(ErrorIds.ConnectionInvalidDefaultCustomer, ErrorKind.InvalidArgument,
                    $"Connection '{current.Name}' is a {current.Type} connection; only Dynamics 365 connections take a default customer (Dataverse incidents need one).", current.Name,
                    "Set -DefaultCustomer on the Dynamics 365 connection that private connections are bound to.");
            }

            var value = requested.Trim();
            if (value.Length == 0)
            {
                return null;
            }

            return DefaultCustomers.Normalize(value) ?? throw new ConnectionToolsException(ErrorIds.ConnectionInvalidDefaultCustomer, ErrorKind.InvalidArgument,
                $"'{value}' is not a Dataverse account or contact for '{current.Name}'.", current.Name,
                "Give it as accounts(<guid>) or contacts(<guid>), e.g. -DefaultCustomer 'accounts(00000000-0000-0000-0000-000000000001)'; an empty string clears it.");
        }

        /// <summary>System connections retrieve on a schedule; private connections exchange with their peer instead.</summary>
        private static TimeSpan DecideInterval(Connection current, TimeSpan requested)
        {
            if (current.Type == ConnectionType.Private)
            {
                throw new ConnectionToolsException(ErrorIds.ConnectionIntervalNotOffered, ErrorKind.InvalidArgument,
                    $"Connection '{current.Name}' is a private connection; it has no retrieval job (its peer exchanges with it instead).", current.Name, "Set -RetrievalInterval on Salesforce or Dynamics 365 connections.");
            }

            if (requested < MinimumInterval || requested > MaximumInterval)
            {
                throw new ConnectionToolsException(ErrorIds.ConnectionInvalidInterval, ErrorKind.InvalidArgument,
                    $"A retrieval interval of {requested} is out of range for '{current.Name}'.", current.Name, $"Give an interval from {MinimumInterval} to {MaximumInterval}, for example -RetrievalInterval (New-TimeSpan -Minutes 15).");
            }

            return requested;
        }

        private static readonly TimeSpan MinimumInterval = TimeSpan.FromMinutes(1);

        private static readonly TimeSpan MaximumInterval = TimeSpan.FromDays(1);
    }
}
