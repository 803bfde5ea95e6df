using System.Globalization;

namespace ConnectionTools.Emulators;

/// <summary>
/// What people do in the org besides the API: create a case and edit its fields (as in the Salesforce UI). Each moves the case's
/// SystemModstamp as a write does, so the retrieval sees it, and neither counts in <see cref="WritesApplied"/>.
/// </summary>
public sealed partial class SalesforceEmulator
{
    /// <summary>The fields a person sets: Subject, Description, Status, Priority.</summary>
    public static readonly IReadOnlyList<string> PersonFields = ["Subject", "Description", "Status", "Priority"];

    /// <summary>The values a person may give Status and Priority (both restricted picklists).</summary>
    public static IReadOnlyList<string> StatusValues => CaseStatuses;

    public static IReadOnlyList<string> PriorityValues => CasePriorities;

    /// <summary>A person creates a case with these fields; returns its Id.</summary>
    public string CreateCaseAsPerson(IReadOnlyDictionary<string, string?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        lock (_writeGate)
        {
            var fields = new Dictionary<string, string?> { ["Status"] = "New", ["Priority"] = "Medium", ["Origin"] = "Web" };
            Set(fields, values);
            var key = _cases.AppendWritten();
            _written[key.Number] = fields;
            return CaseId(key.Number);
        }
    }

    /// <summary>A person changes fields of a case (a case never written keeps its generated values for the others).</summary>
    public void EditCaseAsPerson(string id, IReadOnlyDictionary<string, string?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        lock (_writeGate)
        {
            if (!TryParseCaseId(id, out var number))
            {
                throw new KeyNotFoundException($"No case with Id {id}.");
            }

            var before = _cases.Get(number);
            var fields = WrittenFields(number) is { } written ? new Dictionary<string, string?>(written) : new Dictionary<string, string?>
            {
                ["Subject"] = CaseValue(before, "Subject", null),
                ["Status"] = CaseValue(before, "Status", null),
                ["Priority"] = CaseValue(before, "Priority", null),
                ["Origin"] = CaseValue(before, "Origin", null),
            };
            Set(fields, values);
            _cases.TouchWritten(number);
            _written[number] = fields;
        }
    }

    /// <summary>Every case: its Id, its external id (null for a case not made by a sync) and its <see cref="PersonFields"/>.</summary>
    public IReadOnlyList<(string Id, string? ExternalId, IReadOnlyDictionary<string, string?> Fields)> CasesWithFields()
    {
        var cases = new List<(string, string?, IReadOnlyDictionary<string, string?>)>();
        string field;
        lock (_writeGate)
        {
            field = _externalIdField;
        }

        for (var number = 1; number <= _cases.Count; number++)
        {
            var key = _cases.Get(number);
            var written = WrittenFields(number);
            cases.Add((CaseId(number), written?.GetValueOrDefault(field),
                PersonFields.ToDictionary(f => f, f => CaseValue(key, f, written), StringComparer.Ordinal)));
        }

        return cases;
    }

    private static void Set(Dictionary<string, string?> fields, IReadOnlyDictionary<string, string?> values)
    {
        foreach (var (name, value) in values)
        {
            if (!PersonFields.Contains(name))
            {
                throw new ArgumentException(string.Format(CultureInfo.InvariantCulture, "A person edits {0}, not {1}.", string.Join(", ", PersonFields), name), nameof(values));
            }

            fields[name] = value;
        }
    }
}
