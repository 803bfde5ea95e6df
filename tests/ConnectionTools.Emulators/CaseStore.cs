using System.Globalization;

namespace ConnectionTools.Emulators;

/// <summary>Where a case sits in a query's order: (ModifiedMs, Number); Revision counts the case's changes.</summary>
internal readonly record struct CaseKey(long ModifiedMs, int Number, int Revision) : IComparable<CaseKey>
{
    public int CompareTo(CaseKey other)
    {
        var c = ModifiedMs.CompareTo(other.ModifiedMs);
        return c != 0 ? c : Number.CompareTo(other.Number);
    }

    public DateTimeOffset ModifiedAt => DateTimeOffset.FromUnixTimeMilliseconds(ModifiedMs);
}

/// <summary>
/// The emulators' cases: 16 bytes per case (a number, a modification time in Unix milliseconds, a revision), everything else
/// derived from the number, so 50,000+ cases cost under a megabyte. Ids are assigned so that ordinal id order is number order,
/// which makes (ModifiedMs, Number) the same order as the APIs' (timestamp, id). Thread-safe.
/// </summary>
internal sealed class CaseStore
{
    private static readonly string[] Subjects =
    [
        "Cannot sign in", "Invoice missing", "Shipment delayed", "Password reset", "Data export fails",
        "Printer offline", "Refund request", "Wrong item delivered", "Feature request", "Order stuck in processing",
    ];

    private readonly object _gate = new();
    private readonly List<long> _modified = [];
    private readonly List<int> _revisions = [];
    private CaseKey[]? _sorted;
    private long _latestMs = long.MinValue;

    public int Count
    {
        get { lock (_gate) { return _modified.Count; } }
    }

    /// <summary>
    /// Adds <paramref name="count"/> cases numbered after the existing ones. Case k (0-based within the call) is modified at
    /// start + step × (k − k / 4): every fourth case shares its predecessor's timestamp, so page boundaries can split a group.
    /// </summary>
    public void Add(int count, DateTimeOffset start, TimeSpan step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, TimeSpan.Zero);
        var startMs = start.ToUnixTimeMilliseconds();
        var stepMs = (long)step.TotalMilliseconds;
        lock (_gate)
        {
            _modified.Capacity = Math.Max(_modified.Capacity, _modified.Count + count);
            _revisions.Capacity = Math.Max(_revisions.Capacity, _revisions.Count + count);
            for (var k = 0; k < count; k++)
            {
                var ms = startMs + (stepMs * (k - (k / 4)));
                _modified.Add(ms);
                _revisions.Add(0);
                _latestMs = Math.Max(_latestMs, ms);
            }
            _sorted = null;
        }
    }

    /// <summary>Marks case <paramref name="number"/> changed at <paramref name="at"/> (its revision goes up, so its fields change).</summary>
    public void Touch(int number, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (number < 1 || number > _modified.Count)
            {
                throw new KeyNotFoundException($"No case number {number}.");
            }
            _modified[number - 1] = at.ToUnixTimeMilliseconds();
            _revisions[number - 1]++;
            _latestMs = Math.Max(_latestMs, _modified[number - 1]);
            _sorted = null;
        }
    }

    public bool Contains(int number)
    {
        lock (_gate) { return number >= 1 && number <= _modified.Count; }
    }

    /// <summary>Adds one case changed by a write (see <see cref="TouchWritten"/> for its time) and returns its key.</summary>
    public CaseKey AppendWritten()
    {
        lock (_gate)
        {
            var ms = NextWriteMs();
            _modified.Add(ms);
            _revisions.Add(0);
            _sorted = null;
            return new CaseKey(ms, _modified.Count, 0);
        }
    }

    /// <summary>
    /// Marks case <paramref name="number"/> changed by a write: now, or 1 ms after the latest change when the generated cases lie
    /// in the future, so a write always sorts after every change before it and a retrieval from its last high-water mark sees it.
    /// </summary>
    public CaseKey TouchWritten(int number)
    {
        lock (_gate)
        {
            if (number < 1 || number > _modified.Count)
            {
                throw new KeyNotFoundException($"No case number {number}.");
            }
            var ms = NextWriteMs();
            _modified[number - 1] = ms;
            _revisions[number - 1]++;
            _sorted = null;
            return new CaseKey(ms, number, _revisions[number - 1]);
        }
    }

    private long NextWriteMs()
    {
        _latestMs = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), _latestMs == long.MinValue ? long.MinValue : _latestMs + 1);
        return _latestMs;
    }

    public CaseKey Get(int number)
    {
        lock (_gate)
        {
            return new CaseKey(_modified[number - 1], number, _revisions[number - 1]);
        }
    }

    /// <summary>Every case in query order. The array is never changed afterwards, so a cursor may keep it as its snapshot.</summary>
    public CaseKey[] Sorted()
    {
        lock (_gate)
        {
            if (_sorted is null)
            {
                var sorted = new CaseKey[_modified.Count];
                for (var i = 0; i < sorted.Length; i++)
                {
                    sorted[i] = new CaseKey(_modified[i], i + 1, _revisions[i]);
                }
                Array.Sort(sorted);
                _sorted = sorted;
            }
            return _sorted;
        }
    }

    /// <summary>First index whose key is at or after <paramref name="key"/> in query order.</summary>
    public static int LowerBound(CaseKey[] sorted, long modifiedMs, int number)
    {
        int lo = 0, hi = sorted.Length;
        var key = new CaseKey(modifiedMs, number, 0);
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid].CompareTo(key) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    /// <summary>First index a "timestamp &gt;= since" (or "&gt;") filter keeps.</summary>
    public static int FilterStart(CaseKey[] sorted, DateTimeOffset? since, bool inclusive) =>
        since is not { } s ? 0 : LowerBound(sorted, s.ToUnixTimeMilliseconds(), inclusive ? 0 : int.MaxValue);

    public static string Subject(CaseKey key) =>
        $"{Subjects[key.Number % Subjects.Length]} #{key.Number}" + (key.Revision > 0 ? $" (update {key.Revision})" : "");

    /// <summary>SOQL and OData datetime literals: 2026-11-21T10:00:00Z, 2026-11-21T10:00:00.000Z, or with an offset (+01:00).</summary>
    public static bool TryParseLiteral(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParseExact(text,
            ["yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz"],
            CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
}
