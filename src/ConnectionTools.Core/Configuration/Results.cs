using System;
using System.Collections.Generic;
using ConnectionTools.Connections;

namespace ConnectionTools.Configuration
{
    /// <summary>
    /// What Test-ConnectionConfiguration reports for one declared connection, after DSC's test result: the desired state,
    /// the actual state, whether they match, and which properties differ. Never holds a secret (references are not compared).
    /// </summary>
    public sealed class ConnectionTestResult
    {
        internal ConnectionTestResult(PlanItem item, string path)
        {
            Name = item.Name;
            Type = item.Type;
            InDesiredState = item.InDesiredState;
            DesiredState = item.DesiredState;
            ActualState = item.ActualState;
            DifferingProperties = item.DifferingProperties;
            PlannedAction = item.Action;
            PlannedSteps = item.Steps;
            Status = item.Current?.Status;
            Note = item.Refusal?.Message ?? item.Note;
            ErrorId = item.Refusal?.ErrorId;
            Path = path;
        }

        public string Name { get; }

        public ConnectionType Type { get; }

        public bool InDesiredState { get; }

        /// <summary>The connection's status now; null when it does not exist on this node.</summary>
        public ConnectionStatus? Status { get; }

        public IReadOnlyDictionary<string, string?> DesiredState { get; }

        public IReadOnlyDictionary<string, string?> ActualState { get; }

        public IReadOnlyList<string> DifferingProperties { get; }

        /// <summary>What Invoke-ConnectionConfiguration would do first; see <see cref="PlannedSteps"/> for all of it.</summary>
        public PlanAction PlannedAction { get; }

        public IReadOnlyList<PlanAction> PlannedSteps { get; }

        /// <summary>Why it cannot be applied, or something worth knowing (a connection waiting for its partner).</summary>
        public string? Note { get; }

        public string? ErrorId { get; }

        /// <summary>The configuration file.</summary>
        public string Path { get; }

        public override string ToString() => Name;
    }

    public enum ApplyOutcome
    {
        /// <summary>Nothing needed doing.</summary>
        Unchanged,

        /// <summary>Every step was carried out.</summary>
        Applied,

        /// <summary>Not carried out: -WhatIf, or the user answered no.</summary>
        Skipped,

        /// <summary>Refused or failed; the error was written, and the other connections went on.</summary>
        Failed,
    }

    /// <summary>What Invoke-ConnectionConfiguration did to one connection, after DSC's set result: the action, and the state before and after.</summary>
    public sealed class ConnectionApplyResult
    {
        public string Name { get; internal init; } = "";

        public ConnectionType Type { get; internal init; }

        public PlanAction Action { get; internal init; }

        public IReadOnlyList<PlanAction> Steps { get; internal init; } = Array.Empty<PlanAction>();

        public ApplyOutcome Outcome { get; internal init; }

        /// <summary>Null when the connection did not exist before.</summary>
        public ConnectionStatus? StatusBefore { get; internal init; }

        /// <summary>Null when it does not exist after (never created).</summary>
        public ConnectionStatus? StatusAfter { get; internal init; }

        public IReadOnlyDictionary<string, string?> BeforeState { get; internal init; } = new Dictionary<string, string?>();

        public IReadOnlyDictionary<string, string?> AfterState { get; internal init; } = new Dictionary<string, string?>();

        public IReadOnlyList<string> ChangedProperties { get; internal init; } = Array.Empty<string>();

        /// <summary>The connection after the change, as Get-Connection shows it; null when it does not exist.</summary>
        public Connection? Connection { get; internal init; }

        public string? ErrorId { get; internal init; }

        public string? ErrorMessage { get; internal init; }

        public override string ToString() => Name;
    }

    /// <summary>What Export-ConnectionConfiguration made: the cmdlet writes its Text (no -Path) or the file it wrote (-Path).</summary>
    public sealed class ExportedConfiguration
    {
        internal ExportedConfiguration(string? path, int connectionCount, int skippedCount, string text)
        {
            Path = path;
            ConnectionCount = connectionCount;
            SkippedCount = skippedCount;
            Text = text;
        }

        /// <summary>The file written; null when the YAML was only returned.</summary>
        public string? Path { get; }

        public int ConnectionCount { get; }

        /// <summary>Connections that could not be described (system connections whose settings this node cannot read).</summary>
        public int SkippedCount { get; }

        public string Text { get; }

        public override string ToString() => Text;
    }
}
