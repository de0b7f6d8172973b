using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// The workers of one process (`worker start --count N`): they share one <see cref="JobIndex"/>
/// (one scan, one set of inotify watches, one copy of the backlog in memory) and take turns at
/// nothing else but recovery: only the first worker still running scans for dead workers
/// (<see cref="RecoveryWatchdog"/>), and never judges its siblings. Everything of the liveness
/// protocol stays per worker: registration, heartbeat, processing folder, guard.
/// </summary>
internal sealed class WorkerGroup
{
    private readonly object _lock = new();
    private readonly List<string> _running = [];
    private JobIndex? _index;

    /// <summary>A worker joins once it has registered: the index is made by the first one (its folders exist by then).</summary>
    public JobIndex Join(string workerId, QueueHome home, TimeProvider time)
    {
        lock (_lock)
        {
            _index ??= new JobIndex(home, time);
            _running.Add(workerId);
            return _index;
        }
    }

    /// <summary>A worker leaves as it stops; the last one disposes of the index.</summary>
    public void Leave(string workerId)
    {
        lock (_lock)
        {
            _running.Remove(workerId);
            if (_running.Count == 0)
            {
                _index?.Dispose();
                _index = null;
            }
        }
    }

    /// <summary>True for the worker that runs this process's recovery scans: the first one still running.</summary>
    public bool LeadsRecovery(string workerId)
    {
        lock (_lock)
        {
            return _running.Count > 0 && _running[0] == workerId;
        }
    }

    /// <summary>The workers of this process still running: alive as long as the scan that judges them runs.</summary>
    public IReadOnlyCollection<string> Members
    {
        get
        {
            lock (_lock)
            {
                return [.. _running];
            }
        }
    }
}
