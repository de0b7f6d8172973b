namespace QueueCtl.Processing;

/// <summary>Ends a running attempt from another thread, with the reason that goes into its history (fencing).</summary>
internal sealed class RunStopper : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private string? _reason;

    public CancellationToken Token => _source.Token;

    public string? Reason => Volatile.Read(ref _reason);

    public void Stop(string reason)
    {
        Interlocked.CompareExchange(ref _reason, reason, null);
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // RACE: the attempt ended and its stopper was disposed meanwhile: nothing to stop.
        }
    }

    public void Dispose() => _source.Dispose();
}
