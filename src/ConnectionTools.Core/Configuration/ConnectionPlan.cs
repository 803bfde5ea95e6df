using System;
using System.Collections.Generic;
using System.Linq;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Configuration
{
    /// <summary>What applying a configuration does to one connection. Each is one step; a connection's plan may need several.</summary>
    public enum PlanAction
    {
        None,
        Create,
        Update,
        Suspend,
        Resume,
        Authorize,
        Accept,

        /// <summary>Only with -Prune, and only for connections this configuration once managed.</summary>
        Remove,
    }

    /// <summary>One connection's part of a plan: its desired and actual state, what differs, and the steps that close the gap.</summary>
    public sealed class PlanItem
    {
        public string Name { get; init; } = "";

        public ConnectionType Type { get; init; }

        /// <summary>The first step, or None; what a result shows as the connection's action.</summary>
        public PlanAction Action => Steps.Count == 0 ? PlanAction.None : Steps[0];

        public IReadOnlyList<PlanAction> Steps { get; init; } = Array.Empty<PlanAction>();

        public ConnectionDeclaration? Declaration { get; init; }

        /// <summary>The connection as the store held it when the plan was made; null when it does not exist yet.</summary>
        public Connection? Current { get; init; }

        public IReadOnlyDictionary<string, string?> DesiredState { get; init; } = new Dictionary<string, string?>();

        public IReadOnlyDictionary<string, string?> ActualState { get; init; } = new Dictionary<string, string?>();

        public IReadOnlyList<string> DifferingProperties { get; init; } = Array.Empty<string>();

        /// <summary>Why the file's wish cannot be carried out (an immutable property changed, a one-way mode); reported, never applied.</summary>
        public ConnectionToolsException? Refusal { get; init; }

        /// <summary>The connection exists as declared but is not yet recorded as managed by this configuration.</summary>
        public bool Adopt { get; init; }

        /// <summary>A Pending public side whose invitation code file is missing: a new code is issued and written.</summary>
        public bool RenewInvitation { get; init; }

        /// <summary>Something worth knowing that is not drift, such as a connection waiting for its partner.</summary>
        public string? Note { get; init; }

        public bool InDesiredState => DifferingProperties.Count == 0 && Refusal is null;

        public string Describe() => Steps.Count == 0 ? "None" : string.Join(", then ", Steps);

        /// <summary>This item, refused with <paramref name="refusal"/>: its steps are kept, to show what would have been tried.</summary>
        internal PlanItem Refused(ConnectionToolsException refusal) => new PlanItem
        {
            Name = Name,
            Type = Type,
            Steps = Steps,
            Declaration = Declaration,
            Current = Current,
            DesiredState = DesiredState,
            ActualState = ActualState,
            DifferingProperties = DifferingProperties,
            Refusal = refusal,
            Adopt = false,
            RenewInvitation = RenewInvitation,
            Note = Note,
        };
    }

    /// <summary>A whole plan: one item per declared connection, plus removals with -Prune.</summary>
    public sealed class ConnectionPlan
    {
        public ConnectionPlan(ConnectionConfiguration configuration, IReadOnlyList<PlanItem> items)
        {
            Configuration = configuration;
            Items = items;
        }

        public ConnectionConfiguration Configuration { get; }

        public IReadOnlyList<PlanItem> Items { get; }

        public bool HasChanges => Items.Any(i => i.Steps.Count > 0);

        /// <summary>For example "2 Create, 1 Suspend, 997 None".</summary>
        public string Summary()
        {
            if (Items.Count == 0)
            {
                return "no connections";
            }

            var counts = Items.GroupBy(i => i.Refusal is null ? i.Action.ToString() : "refused").OrderBy(g => g.Key == "None" ? 1 : 0).ThenBy(g => g.Key, StringComparer.Ordinal);
            return string.Join(", ", counts.Select(g => $"{g.Count()} {g.Key}"));
        }
    }
}
