namespace ConnectionTools.Emulators;

/// <summary>
/// Write faults at random moments: one write (each PATCH or POST, a collection counting once) in every 1/ratio fails, at a
/// random place within each run of 1/ratio writes, answering 429 REQUEST_LIMIT_EXCEEDED with Retry-After or 500
/// UNKNOWN_EXCEPTION (drawn half and half), unapplied. So a run of ten writes at one in ten always meets one fault, and where
/// it falls is random; seeded, so a run can be repeated. On top of <see cref="FailNextWrites"/> and
/// <see cref="ThrottleNextWrites"/>, which are taken first.
/// </summary>
public sealed partial class SalesforceEmulator
{
    private Random? _writeFaultRandom;
    private int _writeFaultBlock;
    private int _writeFaultAt;
    private int _writeDraws;
    private int _randomThrottles;
    private int _randomFailures;

    /// <summary>Share (0..1) of writes that fail at random from now on; 0 turns it off.</summary>
    public void FailWritesAtRandom(double ratio, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ratio, 0d);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ratio, 1d);
        lock (_writeGate)
        {
            _writeFaultRandom = ratio > 0 ? new Random(seed) : null;
            _writeFaultBlock = ratio > 0 ? Math.Max(1, (int)Math.Round(1 / ratio)) : 0;
            _writeDraws = 0;
        }
    }

    /// <summary>Writes that <see cref="FailWritesAtRandom"/> drew for (failed or not).</summary>
    public int RandomWriteDraws
    {
        get { lock (_writeGate) { return _writeDraws; } }
    }

    /// <summary>Writes answered 429 by <see cref="FailWritesAtRandom"/>.</summary>
    public int RandomWriteThrottles => Volatile.Read(ref _randomThrottles);

    /// <summary>Writes answered 500 by <see cref="FailWritesAtRandom"/>.</summary>
    public int RandomWriteFailures => Volatile.Read(ref _randomFailures);

    /// <summary>Draws the fault of one write, if any; the caller holds _writeGate.</summary>
    private (bool Throttle, bool Fail) NextRandomWriteFault()
    {
        if (_writeFaultRandom is null)
        {
            return (false, false);
        }

        var place = _writeDraws++ % _writeFaultBlock;
        if (place == 0)
        {
            _writeFaultAt = _writeFaultRandom.Next(_writeFaultBlock);
        }

        if (place != _writeFaultAt)
        {
            return (false, false);
        }

        if (_writeFaultRandom.Next(2) == 0)
        {
            Interlocked.Increment(ref _randomThrottles);
            return (true, false);
        }

        Interlocked.Increment(ref _randomFailures);
        return (false, true);
    }
}
