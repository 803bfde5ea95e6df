using System.Text.Json;

namespace ConnectionTools.Emulators;

/// <summary>
/// What a person does in the Dataverse environment, outside the Web API calls the product makes: edits an incident, looks at
/// one. For end-to-end tests (tests/ConnectionTools.EmulatorHost's control endpoints): each change is checked as a Web API write
/// would be and moves the incident's modifiedon, so the environment's retrieval sees it like any other change.
/// </summary>
public sealed partial class EntraEmulator
{
    /// <summary>Changes these attributes of an incident (title, description, prioritycode, caseorigincode), as a person would.</summary>
    public void UpdateIncidentAsUser(string id, IReadOnlyDictionary<string, object?> attributes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(attributes);
        if (!TryParseCaseNumber(id, out var number) || !_incidents.Contains(number))
        {
            throw new KeyNotFoundException($"No incident with id {id}.");
        }
        var body = JsonSerializer.Serialize(attributes);
        lock (_incidentWriteGate)
        {
            if (ValidateIncident(body, creating: false, alternateValue: null, out var values) is { } refused)
            {
                throw new ArgumentException($"{refused.Status}: {refused.Json}");
            }
            ApplyIncidentUnlocked(number, values);
        }
    }

    /// <summary>Every attribute of an incident as GET incidents(id) answers it (the alternate key's column included when the environment has it).</summary>
    public IReadOnlyDictionary<string, object?> ReadIncident(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (!TryParseCaseNumber(id, out var number) || !_incidents.Contains(number))
        {
            throw new KeyNotFoundException($"No incident with id {id}.");
        }
        var key = _incidents.Get(number);
        var written = WrittenIncident(number);
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var field in SelectableIncidentFields())
        {
            result[field] = IncidentValue(key, field, written);
        }
        return result;
    }
}
