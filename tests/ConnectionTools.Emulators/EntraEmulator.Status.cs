using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ConnectionTools.Emulators;

/// <summary>
/// An incident's state as Dataverse keeps it: statecode 0 Active (statuscode 1 In Progress, 2 On Hold, 3 Waiting for Details,
/// 4 Researching), 1 Resolved (5 Problem Solved, 1000 Information Provided), 2 Canceled (6 Canceled, 2000 Merged). An update may
/// reactivate a case (statecode 0) or cancel an active one (statecode 2); resolving takes the CloseIncident action with an
/// incidentresolution; a resolved or canceled incident takes no other update (<see cref="ClosedCaseCode"/>). Refusals use
/// Dataverse's error shape; a Resolved statecode by update answers 0x80040203 (invalid argument).
/// </summary>
public sealed partial class EntraEmulator
{
    /// <summary>The error of an update of a resolved or canceled incident.</summary>
    public const string ClosedCaseCode = "0x80040227";

    private static readonly Dictionary<int, int[]> IncidentStatusCodes = new() { [0] = [1, 2, 3, 4], [1] = [5, 1000], [2] = [6, 2000] };
    private static readonly string[] StateLabels = ["Active", "Resolved", "Canceled"];

    private static readonly Regex IncidentBind = new(@"^/?incidents\((?<key>[^)]+)\)$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, EmulatorHost.RegexTimeout);

    private readonly List<(string IncidentId, string? Subject)> _resolutions = [];

    /// <summary>The incidentresolution rows CloseIncident made, oldest first: the incident and the resolution's subject.</summary>
    public IReadOnlyList<(string IncidentId, string? Subject)> Resolutions
    {
        get { lock (_incidentWriteGate) { return [.. _resolutions]; } }
    }

    /// <summary>An incident's statecode and statuscode, or null when there is no such incident.</summary>
    public (int State, int Status)? IncidentState(string id)
    {
        if (!TryParseCaseNumber(id, out var number) || !_incidents.Contains(number))
        {
            return null;
        }
        lock (_incidentWriteGate)
        {
            var key = _incidents.Get(number);
            var written = WrittenIncident(number);
            return ((int)IncidentValue(key, "statecode", written)!, (int)IncidentValue(key, "statuscode", written)!);
        }
    }

    private static int DefaultStatus(int state) => IncidentStatusCodes[state][0];

    /// <summary>What the operations of a change set checked so far will have done, so later ones are checked against it.</summary>
    private sealed class ChangeSetState
    {
        /// <summary>Alternate key values of incidents the change set creates.</summary>
        public HashSet<string> Created { get; } = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>statecode per incident ("#number" or "key:value") after the change set's earlier operations.</summary>
        public Dictionary<string, int> States { get; } = new(StringComparer.OrdinalIgnoreCase);

        public void Record(int? existing, string? alternateValue, Dictionary<string, object?> values)
        {
            if (existing is null && alternateValue is not null)
            {
                Created.Add(alternateValue);
                States[Identity(existing, alternateValue)] = 0;
            }
            if (values.GetValueOrDefault("statecode") is int state)
            {
                States[Identity(existing, alternateValue)] = state;
            }
        }
    }

    private static string Identity(int? existing, string? alternateValue) =>
        existing is > 0 ? "#" + existing.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : "key:" + alternateValue;

    /// <summary>The statecode an operation sees; caller holds _incidentWriteGate. existing 0: created earlier in the change set.</summary>
    private int CurrentState(int? existing, string? alternateValue, ChangeSetState? pending)
    {
        if (pending is not null && pending.States.TryGetValue(Identity(existing, alternateValue), out var state))
        {
            return state;
        }
        return existing is int n and > 0 ? (int)IncidentValue(_incidents.Get(n), "statecode", WrittenIncident(n))! : 0;
    }

    private static DataverseResult ClosedCase(int state) => Error(400, ClosedCaseCode, state == 1
        ? "This case has already been resolved. Close and reopen the case, and then try again."
        : "This case has already been canceled. Close and reopen the case, and then try again.");

    /// <summary>The state rules on a valid create or update; null when they allow it. Adds the default statuscode of a new statecode.</summary>
    private static DataverseResult? StateProblem(bool creating, int current, Dictionary<string, object?> values)
    {
        var state = values.GetValueOrDefault("statecode") as int?;
        if (!creating && current != 0 && state != 0)
        {
            return ClosedCase(current);
        }
        if (state == 1)
        {
            return Error(400, "0x80040203", "A case is resolved through the CloseIncident message with an incidentresolution; statecode Resolved cannot be set by an update.");
        }
        if (creating && state is > 0)
        {
            return Error(400, "0x80040203", $"A case is created Active; statecode {state} cannot be set on create.");
        }
        var effective = state ?? (creating ? 0 : current);
        if (values.GetValueOrDefault("statuscode") is int status)
        {
            if (!IncidentStatusCodes[effective].Contains(status))
            {
                return Error(400, "0x8004431A", $"{status} is not a valid status code for state code IncidentState.{StateLabels[effective]} on incident.");
            }
        }
        else if (state is int set)
        {
            values["statuscode"] = DefaultStatus(set);
        }
        return null;
    }

    /// <summary>
    /// POST CloseIncident {"IncidentResolution": {"subject", "incidentid@odata.bind"}, "Status": 5 | 1000 | -1}: resolves an active
    /// incident and records the resolution; caller holds _incidentWriteGate.
    /// </summary>
    private DataverseResult CloseIncident(string body, bool dryRun, ChangeSetState? pending)
    {
        JsonObject? json;
        try
        {
            json = JsonNode.Parse(body.Length == 0 ? "{}" : body) as JsonObject;
        }
        catch (JsonException)
        {
            json = null;
        }
        if (json is null || json["IncidentResolution"] is not JsonObject resolution)
        {
            return Error(400, "0x80040203", "Required parameter 'IncidentResolution' is missing for the CloseIncident action.");
        }
        if (json["Status"] is not JsonValue statusNode || statusNode.GetValueKind() != JsonValueKind.Number || !statusNode.TryGetValue<int>(out var status))
        {
            return Error(400, "0x80040203", "Required parameter 'Status' is missing for the CloseIncident action.");
        }
        string? subject = null, bind = null;
        foreach (var (name, node) in resolution)
        {
            var kind = node?.GetValueKind() ?? JsonValueKind.Null;
            switch (name)
            {
                case "@odata.type" when kind == JsonValueKind.String && node!.GetValue<string>().TrimStart('#') == "Microsoft.Dynamics.CRM.incidentresolution":
                    break;
                case "subject" or "description" when kind is JsonValueKind.String or JsonValueKind.Null:
                    var text = node?.GetValue<string>();
                    if (text is { Length: > 200 } && name == "subject")
                    {
                        return Error(400, "0x80044331",
                            "A validation error occurred. The length of the 'subject' attribute of the 'incidentresolution' entity exceeded the maximum allowed length of '200'.");
                    }
                    subject = name == "subject" ? text : subject;
                    break;
                case "incidentid@odata.bind" when kind == JsonValueKind.String:
                    bind = node!.GetValue<string>();
                    break;
                default:
                    return Error(400, "0x80060888",
                        $"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.incidentresolution' or its value is not valid.");
            }
        }
        if (bind is null || IncidentBind.Match(Uri.UnescapeDataString(bind)) is not { Success: true } match)
        {
            return Error(400, "0x80040203", "The incidentresolution needs incidentid@odata.bind naming the incident: /incidents(id) or /incidents(key='value').");
        }
        int? existing;
        string? alternateValue = null;
        var keyText = match.Groups["key"].Value;
        if (Guid.TryParse(keyText, out var guid))
        {
            existing = TryParseCaseNumber(guid.ToString("D"), out var n) && _incidents.Contains(n) ? n : null;
        }
        else if (AlternateKeyText.Match(keyText) is { Success: true } alternate && !_omitAlternateKey && alternate.Groups["name"].Value == _alternateKey)
        {
            alternateValue = alternate.Groups["value"].Value.Replace("''", "'", StringComparison.Ordinal);
            existing = _byAlternateKey.TryGetValue(alternateValue, out var n) ? n : pending?.Created.Contains(alternateValue) == true ? 0 : null;
        }
        else
        {
            return Error(400, "0x80060888", $"The key in '{bind}' is not an id or an alternate key of entity 'incident'.");
        }
        if (existing is null)
        {
            return Error(404, "0x80040217", $"incident With Id = {keyText} Does Not Exist");
        }
        var resolved = status == -1 ? 5 : status;
        if (!IncidentStatusCodes[1].Contains(resolved))
        {
            return Error(400, "0x8004431A", $"{status} is not a valid status code for state code IncidentState.Resolved on incident.");
        }
        var current = CurrentState(existing, alternateValue, pending);
        if (current != 0)
        {
            return ClosedCase(current);
        }
        if (dryRun)
        {
            pending?.Record(existing, alternateValue, new Dictionary<string, object?> { ["statecode"] = 1 });
            return new DataverseResult(204, [], null);
        }
        var number = existing.Value;
        ApplyIncidentUnlocked(number, new Dictionary<string, object?> { ["statecode"] = 1, ["statuscode"] = resolved });
        _resolutions.Add((CaseId(number), subject));
        return new DataverseResult(204, [("OData-Version", "4.0")], null);
    }
}
