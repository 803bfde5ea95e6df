using System.Text.Json;

namespace ConnectionTools.Emulators;

/// <summary>
/// What a person does in the org, outside the API the product calls: creates a case, edits one, looks at one. For end-to-end
/// tests (tests/ConnectionTools.EmulatorHost's control endpoints): each change is checked as an API write would be and moves
/// the case's SystemModstamp, so the org's retrieval sees it like any other change.
/// </summary>
public sealed partial class SalesforceEmulator
{
    /// <summary>Creates a case with these fields (Subject, Description, Status, Priority, Origin) and returns its Id.</summary>
    public string CreateCaseAsUser(IReadOnlyDictionary<string, string?> fields) => CaseId(ChangeAsUser(null, fields));

    /// <summary>Changes these fields of a case, as a person editing it in the org.</summary>
    public void UpdateCaseAsUser(string id, IReadOnlyDictionary<string, string?> fields)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (!TryParseCaseId(id, out var number))
        {
            throw new KeyNotFoundException($"No case with Id {id}.");
        }
        ChangeAsUser(number, fields);
    }

    /// <summary>Every field of a case as GET sobjects/Case/{id} answers it (the external id field included when the org has it).</summary>
    public IReadOnlyDictionary<string, string?> ReadCase(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (!TryParseCaseId(id, out var number))
        {
            throw new KeyNotFoundException($"No case with Id {id}.");
        }
        var key = _cases.Get(number);
        var written = WrittenFields(number);
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var field in new[] { "Id", "CaseNumber" }.Concat(CaseFieldDefinitions().Select(f => f.Name)).Concat(["LastModifiedDate", "SystemModstamp"]))
        {
            result[field] = CaseValue(key, field, written);
        }
        return result;
    }

    private int ChangeAsUser(int? number, IReadOnlyDictionary<string, string?> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        using var record = JsonDocument.Parse(JsonSerializer.Serialize(fields));
        lock (_writeGate)
        {
            var errors = ValidateUnlocked(record.RootElement, creating: number is null, out var values);
            if (errors.Count > 0)
            {
                throw new ArgumentException(string.Join("; ", errors.Select(e => $"{e.Code}: {e.Message}")));
            }
            return ApplyUnlocked(number, values);
        }
    }
}
