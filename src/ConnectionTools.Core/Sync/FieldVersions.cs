using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json.Nodes;
using ConnectionTools.SyncRules;

namespace ConnectionTools.Sync
{
    /// <summary>
    /// What one side knows of the changes to one field of a synced case: how many changes each side made to it (a version
    /// vector of two, counted from this side), and when and on which side its current value was made. A change that has seen
    /// every change the other knows of replaces it; two changes that have not seen each other conflict, and both sides settle
    /// the conflict alike, so they hold the same value whichever applies first.
    /// </summary>
    internal readonly struct FieldVersion : IEquatable<FieldVersion>
    {
        public FieldVersion(long ours, long theirs, long changedAt, bool byUs)
        {
            Ours = ours;
            Theirs = theirs;
            ChangedAt = changedAt;
            ByUs = byUs;
        }

        /// <summary>Changes this side made to the field.</summary>
        public long Ours { get; }

        /// <summary>Changes the other side made to the field, as far as this side knows.</summary>
        public long Theirs { get; }

        /// <summary>When the current value was made (Unix ms, the system's own modification time).</summary>
        public long ChangedAt { get; }

        /// <summary>Whether this side made the current value.</summary>
        public bool ByUs { get; }

        /// <summary>The same version as the other side counts it.</summary>
        public FieldVersion Flipped => new FieldVersion(Theirs, Ours, ChangedAt, !ByUs);

        /// <summary>Whether this version has seen every change <paramref name="other"/> has.</summary>
        public bool Covers(FieldVersion other) => Ours >= other.Ours && Theirs >= other.Theirs;

        /// <summary>This value, having seen every change of both.</summary>
        public FieldVersion JoinedWith(FieldVersion other) => new FieldVersion(Math.Max(Ours, other.Ours), Math.Max(Theirs, other.Theirs), ChangedAt, ByUs);

        public bool Equals(FieldVersion other) => Ours == other.Ours && Theirs == other.Theirs && ChangedAt == other.ChangedAt && ByUs == other.ByUs;

        public override bool Equals(object? obj) => obj is FieldVersion other && Equals(other);

        public override int GetHashCode() => ((Ours * 31 + Theirs) * 31 + ChangedAt).GetHashCode() ^ (ByUs ? 1 : 0);

        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "[{0},{1},{2},{3}]", Ours, Theirs, ChangedAt, ByUs ? 1 : 0);
    }

    /// <summary>
    /// The <see cref="FieldVersion"/> of each neutral field of one case, as stored with a twin (or with a case of this side's own
    /// that has no twin yet) and sent with each event: a JSON object of <c>"field": [ours, theirs, changedAt, byUs]</c>, counted
    /// from the side that holds it. A field not in it has no known change.
    /// </summary>
    internal sealed class FieldVersions
    {
        private readonly Dictionary<string, FieldVersion> _fields;

        private FieldVersions(Dictionary<string, FieldVersion> fields) => _fields = fields;

        public static FieldVersions None => new FieldVersions(new Dictionary<string, FieldVersion>(StringComparer.Ordinal));

        public FieldVersion this[string field] => _fields.TryGetValue(field, out var version) ? version : default;

        /// <summary>Reads stored or received versions; anything that is not a well-formed entry counts as no known change.</summary>
        public static FieldVersions Parse(string? json)
        {
            var versions = None;
            if (string.IsNullOrEmpty(json) || !(JsonNode.Parse(json!) is JsonObject fields))
            {
                return versions;
            }

            foreach (var field in fields)
            {
                if (field.Value is JsonArray entry && entry.Count == 4 && Long(entry[0]) is long ours && Long(entry[1]) is long theirs && Long(entry[2]) is long at && Long(entry[3]) is long byUs &&
                    ours >= 0 && theirs >= 0)
                {
                    versions._fields[field.Key] = new FieldVersion(ours, theirs, at, byUs != 0);
                }
            }

            return versions;
        }

        public string ToJson()
        {
            var json = new JsonObject();
            foreach (var field in _fields)
            {
                var v = field.Value;
                json[field.Key] = new JsonArray(v.Ours, v.Theirs, v.ChangedAt, v.ByUs ? 1 : 0);
            }

            return json.ToJsonString();
        }

        /// <summary>The versions as the other side counts them (what goes on the wire, and what comes off it).</summary>
        public FieldVersions Flipped()
        {
            var flipped = None;
            foreach (var field in _fields)
            {
                flipped._fields[field.Key] = field.Value.Flipped;
            }

            return flipped;
        }

        public FieldVersions With(string field, FieldVersion version)
        {
            var copy = new FieldVersions(new Dictionary<string, FieldVersion>(_fields, StringComparer.Ordinal));
            copy._fields[field] = version;
            return copy;
        }

        /// <summary>
        /// This side's own changes, as the retrieval job reads the case: each neutral field whose value differs from the state this
        /// side knew (<paramref name="known"/>, null when it knew none) is one more change of ours, made at <paramref name="changedAt"/>.
        /// </summary>
        public FieldVersions Stamp(JsonObject? known, JsonObject seen, long changedAt)
        {
            var stamped = this;
            foreach (var name in IncomingApply.NeutralFields)
            {
                var was = known is null ? null : CaseEntities.Text(known, name);
                var now = CaseEntities.Text(seen, name);
                if ((known is null && now != null) || (known != null && !string.Equals(was, now, StringComparison.Ordinal)))
                {
                    var v = this[name];
                    stamped = stamped.With(name, new FieldVersion(v.Ours + 1, v.Theirs, changedAt, byUs: true));
                }
            }

            return stamped;
        }

        /// <summary>
        /// Whether the partner's value of a field replaces this side's, and the version the field has after: a value that has seen
        /// every change of the other's wins; two changes that have not seen each other follow the rules: the summary stays with the
        /// side that made the case, any other field takes the later change, ties broken by the higher node id.
        /// </summary>
        public static (bool PartnerWins, FieldVersion Merged) Decide(string field, FieldVersion mine, FieldVersion theirs, bool weMadeTheCase, Guid ourNode, Guid partnerNode)
        {
            if (mine.Covers(theirs))
            {
                return (false, mine);
            }

            if (theirs.Covers(mine))
            {
                return (true, theirs);
            }

            bool partnerWins;
            if (field == "summary")
            {
                partnerWins = !weMadeTheCase;
            }
            else if (theirs.ChangedAt != mine.ChangedAt)
            {
                partnerWins = theirs.ChangedAt > mine.ChangedAt;
            }
            else
            {
                var theirNode = (theirs.ByUs ? ourNode : partnerNode).ToString("N");
                var myNode = (mine.ByUs ? ourNode : partnerNode).ToString("N");
                partnerWins = string.CompareOrdinal(theirNode, myNode) > 0;
            }

            return partnerWins ? (true, theirs.JoinedWith(mine)) : (false, mine.JoinedWith(theirs));
        }

        private static long? Long(JsonNode? node) => node is JsonValue value && value.TryGetValue<long>(out var number) ? number : (long?)null;
    }
}
