using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// A worker's registration, workers/&lt;id&gt;.json, and its lease: the state and job it shows,
/// each renewal (the record rewritten, or on a full disk only its mtime touched), and the fence,
/// which says when the last renewal is so old that other workers may soon judge this one dead
/// (ARCHITECTURE.md, "Liveness and fencing"). Every renewal is also told to the worker's guard.
/// </summary>
internal sealed class Registration(QueueHome home, string id, SettingsWatcher settings, TimeProvider time)
{
    private const string FenceReasonStart = "killed: worker ";

    private readonly WorkerRegistry _registry = new(home);
    private readonly DateTime _startedAt = UtcTimestamp.Truncate(time.UtcNow());
    private readonly object _lock = new();
    private string _state = "idle";
    private string? _currentJob;
    private DateTime _renewedAt = time.UtcNow();
    private long _renewedTicks = time.GetTimestamp();

    /// <summary>Released when the state changes: the heartbeat writes the record soon after.</summary>
    public SemaphoreSlim Changed { get; } = new(0);

    /// <summary>The guard that hears of every renewal; set once it has started.</summary>
    public RunGuard? Guard { get; set; }

    public string? CurrentJob
    {
        get
        {
            lock (_lock)
            {
                return _currentJob;
            }
        }
    }

    /// <summary>
    /// Records the worker's state; the record follows within <see cref="Timing.RecordDelay"/> (the
    /// heartbeat writes it), or at once with <paramref name="writeNow"/>.
    /// </summary>
    public void Set(string state, string? job, Action<string> log, bool writeNow = false)
    {
        lock (_lock)
        {
            _state = state;
            _currentJob = job;
        }
        if (writeNow)
        {
            TryWrite(log);
        }
        else if (Changed.CurrentCount == 0)
        {
            Changed.Release();
        }
    }

    public void TryWrite(Action<string> log)
    {
        try
        {
            Write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log($"could not update workers/{id}.json: {e.Message}");
        }
    }

    /// <summary>Rewrites the record: a renewal of the lease. Throws when the record cannot be rewritten.</summary>
    public void Write()
    {
        lock (_lock)
        {
            var startedWall = time.UtcNow();
            var startedTicks = time.GetTimestamp();
            try
            {
                _registry.Write(new WorkerRecord
                {
                    Id = id,
                    Pid = Environment.ProcessId,
                    Host = WorkerId.Host,
                    StartedAt = _startedAt,
                    State = _state,
                    CurrentJob = _currentJob,
                    HeartbeatAt = UtcTimestamp.Truncate(time.UtcNow()),
                });
            }
            catch (IOException) when (_registry.Touch(id))
            {
                // A full disk (or no inodes left) cannot take a new copy of the record, but its
                // mtime, by which liveness is judged, can still be renewed: the lease holds, and
                // running jobs are not fenced for a disk that is only full. The failure is still
                // reported (the caller logs it) since the record's contents are stale.
                Renewed(startedWall, startedTicks);
                throw;
            }
            Renewed(startedWall, startedTicks);
        }
    }

    public void Remove() => _registry.Remove(id);

    /// <summary>
    /// True when the last renewal is older than the fence (half the lease): by wall clock or by the
    /// monotonic clock, whichever says longer (a frozen process sees both jump; a paused VM may see
    /// only the wall clock move).
    /// </summary>
    public bool Fenced(out TimeSpan since)
    {
        long ticks;
        DateTime at;
        lock (_lock)
        {
            ticks = _renewedTicks;
            at = _renewedAt;
        }
        var wall = time.UtcNow() - at;
        var monotonic = time.GetElapsedTime(ticks);
        since = wall > monotonic ? wall : monotonic;
        return since > Timing.Fence(settings.Current.WorkerLeaseSeconds);
    }

    /// <summary>The last_error of an attempt killed by the fence.</summary>
    public string FenceReason(TimeSpan since)
    {
        var lease = settings.Current.WorkerLeaseSeconds;
        return $"{FenceReasonStart}{id} could not renew its registration for {since.TotalSeconds:0.0} s " +
            $"(fence {Timing.Fence(lease).TotalSeconds:0.#} s = half the {lease:0.#} s lease), so it stopped its job before another worker could start it again";
    }

    public static bool IsFenceReason(string? error) => error?.StartsWith(FenceReasonStart, StringComparison.Ordinal) == true;

    /// <summary>
    /// Notes a renewal (under the lock). It counts from when it started: the file's mtime, by which
    /// other workers judge this one, is no earlier than that.
    /// </summary>
    private void Renewed(DateTime startedWall, long startedTicks)
    {
        _renewedAt = startedWall;
        _renewedTicks = startedTicks;
        Guard?.Renewed(Timing.Fence(settings.Current.WorkerLeaseSeconds) - time.GetElapsedTime(startedTicks));
    }
}
