namespace QueueCtl.Processing;

/// <summary>
/// Keeps a failure that repeats (every heartbeat, every turn of the loop, every retry, for as long
/// as a network file system is away) from flooding the worker's log: its first occurrence is
/// logged, then at most one a minute while it lasts, and one line when the step works again.
/// </summary>
internal sealed class RepeatedFailure
{
    private readonly Lock _lock = new();
    private DateTime? _since;
    private DateTime _logged;

    /// <summary>Whether to log this occurrence; <paramref name="lasting"/> is "" the first time, else " (failing for 65 s)".</summary>
    public bool Occurred(DateTime now, out string lasting)
    {
        lock (_lock)
        {
            lasting = "";
            if (_since is not { } since)
            {
                _since = _logged = now;
                return true;
            }
            if (now - _logged < Timing.RepeatedFailureQuiet)
            {
                return false;
            }
            _logged = now;
            lasting = $" (failing for {(now - since).TotalSeconds:0} s; logged once a minute)";
            return true;
        }
    }

    /// <summary>How long the failure lasted, when the step has just worked again after failing; else null.</summary>
    public TimeSpan? Cleared(DateTime now)
    {
        lock (_lock)
        {
            if (_since is not { } since)
            {
                return null;
            }
            _since = null;
            return now - since;
        }
    }
}
