namespace ConnectionTools.Node;

/// <summary>
/// Lets one of a node host's loops work on the store's sync at a time: the job poll (retrieval, which turns the bound system's
/// changed cases into outgoing events, then the public side's apply) and the private side's sync round (which applies what it
/// received). Run side by side, a retrieval could read a case the round's apply had just written into the system before the
/// apply stored its twin, and send that case to the partner as a new one, which the partner then created a second time.
/// </summary>
internal sealed class NodeWorkGate : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        return new Release(_gate);
    }

    public void Dispose() => _gate.Dispose();

    private sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}
