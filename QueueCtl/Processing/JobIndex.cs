using System.Collections.Concurrent;
using System.Text.Json;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>A job a worker could claim: where it is and how it sorts.</summary>
/// <remarks>
/// <see cref="After"/>: the job's parents (enqueue --after); <see cref="Doomed"/>: set when a parent
/// ended dead or is gone, the reason the job goes dead without running.
/// </remarks>
internal sealed record Candidate(string Path, string State, int Priority, DateTime CreatedAt, DateTime? NotBefore, string Queue = Job.DefaultQueue,
    IReadOnlyList<string>? After = null, string? Doomed = null);

/// <summary>
/// One worker's view of the claimable jobs in pending/ and failed/, so that claiming does not
/// re-read the folders for every job. Filled by one scan at start, then kept current by inotify
/// (FileSystemWatcher) events; a slow rescan is only a safety net. The index is a hint: the rename
/// of the claim decides, and a candidate that is gone is simply dropped.
/// Ready jobs sort by priority (higher first), then age (older first); scheduled ones by not_before.
/// Ready jobs are kept per queue: a worker started with --queue takes only from its queues, and a
/// queue whose pause switch (paused.d/&lt;queue&gt;) is on is passed over, its jobs left in place.
/// A pending job waiting for its parents (enqueue --after) is held aside, keyed by the parent it
/// waits for, and placed again only when that parent's file lands in completed/ or dead/ (watched
/// too) or at the slow rescan: waiting children cost nothing per claim.
/// One index serves every worker of a process (<see cref="WorkerGroup"/>): its methods take a lock,
/// <see cref="TakeNext"/> hands a candidate to one worker only, and each worker waits on a signal
/// of its own (<see cref="Subscribe"/>) that every change wakes.
/// </summary>
internal sealed class JobIndex : IDisposable
{
    private static readonly Comparer<Candidate> ReadyOrder = Comparer<Candidate>.Create((a, b) =>
    {
        var byPriority = b.Priority.CompareTo(a.Priority);
        if (byPriority != 0)
        {
            return byPriority;
        }
        var byAge = a.CreatedAt.CompareTo(b.CreatedAt);
        return byAge != 0 ? byAge : string.CompareOrdinal(a.Path, b.Path);
    });

    /// <summary>The folders the index holds: where a worker claims from.</summary>
    private static readonly string[] ClaimableStates = [JobState.Pending, JobState.Failed];

    /// <summary>A first load of more jobs than this compacts the heap once (Rescan).</summary>
    private const int LargeBacklog = 10_000;

    private readonly QueueHome _home;
    private readonly TimeProvider _time;
    private bool _loadedOnce;
    private readonly Dictionary<string, Candidate> _byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<Candidate>> _ready = new(StringComparer.Ordinal);
    private readonly HashSet<string>? _served;
    private bool _heldByPause;
    private readonly PriorityQueue<Candidate, DateTime> _scheduled = new();
    private readonly Dictionary<string, (DateTime RecheckAt, string State)> _unsettled = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Path, string State, bool Gone)> _changes = new();
    private readonly object _gate = new();
    private readonly List<SemaphoreSlim> _signals = [];
    private DateTime _rescanAskedAt = DateTime.MinValue;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Dictionary<string, HashSet<string>> _waiting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _waitingOn = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _parentOf = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _watchedParents = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _parentsLanded = new();
    private volatile bool _rescanNeeded = true;
    private volatile bool _watchersBroken;

    public JobIndex(QueueHome home, TimeProvider time)
    {
        _home = home;
        _time = time;
        _served = home.WorkerQueues is { } queues ? new HashSet<string>(queues, StringComparer.Ordinal) : null;
        StartWatchers();
    }

    /// <summary>
    /// (Re)creates the inotify watches. After an overflow or a folder that was deleted and made
    /// again, the old watches are useless: the next rescan calls this again.
    /// </summary>
    private void StartWatchers()
    {
        foreach (var old in _watchers)
        {
            old.Dispose();
        }
        _watchers.Clear();
        _watchersBroken = false;
        foreach (var state in ClaimableStates)
        {
            var folder = _home.StateFolder(state);
            if (!Directory.Exists(folder))
            {
                _watchersBroken = true;
                throw new DirectoryNotFoundException($"The folder '{folder}' is missing.");
            }
            var watcher = new FileSystemWatcher(folder)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                InternalBufferSize = 64 * 1024,
            };
            // Handlers stay tiny: the kernel queue must never back up (an overflow loses events).
            watcher.Created += (_, e) => Changed(e.FullPath, state, gone: false);
            watcher.Changed += (_, e) => Changed(e.FullPath, state, gone: false);
            watcher.Renamed += (_, e) =>
            {
                Changed(e.OldFullPath, state, gone: true);
                Changed(e.FullPath, state, gone: false);
            };
            // A file moved out (claimed by any worker) is just dropped: no read, no exception.
            watcher.Deleted += (_, e) => Changed(e.FullPath, state, gone: true);
            watcher.Error += (_, _) =>
            {
                _watchersBroken = true;
                _rescanNeeded = true;
                Wake();
            };
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
        foreach (var state in new[] { JobState.Completed, JobState.Dead })
        {
            var folder = _home.StateFolder(state);
            if (!Directory.Exists(folder))
            {
                _watchersBroken = true;
                throw new DirectoryNotFoundException($"The folder '{folder}' is missing.");
            }
            // Only a parent that a waiting child names is queued: a finished job costs one lookup.
            var watcher = new FileSystemWatcher(folder) { NotifyFilter = NotifyFilters.FileName, InternalBufferSize = 64 * 1024 };
            watcher.Created += (_, e) => ParentLanded(e.Name);
            watcher.Renamed += (_, e) => ParentLanded(e.Name);
            watcher.Error += (_, _) =>
            {
                _watchersBroken = true;
                _rescanNeeded = true;
                Wake();
            };
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
    }

    private void ParentLanded(string? name)
    {
        var id = name is null ? null : Path.GetFileNameWithoutExtension(name);
        if (id is not null && _watchedParents.ContainsKey(id))
        {
            _parentsLanded.Enqueue(id);
            Wake();
        }
    }

    /// <summary>How many pending jobs wait for their parents.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waitingOn.Count;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byPath.Count;
            }
        }
    }

    /// <summary>True when this worker takes jobs of <paramref name="queue"/> (started without --queue, or with it).</summary>
    public bool Serves(string queue) => _served is null || _served.Contains(queue);

    /// <summary>Brings the index up to date: a rescan if one is due, then every queued change.</summary>
    public void Refresh()
    {
        lock (_gate)
        {
            RefreshLocked();
        }
    }

    private void RefreshLocked()
    {
        if (_rescanNeeded)
        {
            Rescan();
            _rescanNeeded = false;
        }
        while (_changes.TryDequeue(out var change))
        {
            // RACE: a removal event can arrive after the same name was written again (a failed
            // job claimed, then finished back into failed/) and after a rescan loaded the new
            // file: the event is stale when the file is there, so it is loaded, not dropped.
            if (change.Gone && !File.Exists(change.Path))
            {
                Remove(change.Path);
                _unsettled.Remove(change.Path);
            }
            else
            {
                Load(change.Path, change.State);
            }
        }
        while (_parentsLanded.TryDequeue(out var parent))
        {
            if (_waiting.TryGetValue(parent, out var children))
            {
                foreach (var child in children.ToList())
                {
                    Replace(child);
                }
            }
        }
    }

    /// <summary>A waiting child placed again (its parent moved): no read of its file, a few stats.</summary>
    private void Replace(string child)
    {
        if (_byPath.TryGetValue(child, out var candidate))
        {
            _waitingOn.TryGetValue(child, out var before);
            Remove(child);
            _byPath[child] = candidate;
            Place(candidate, before);
        }
    }

    /// <summary>Asks for a full rescan at the next refresh (the slow safety net), optionally with new watches.</summary>
    public void RequestRescan(bool restartWatchers = false)
    {
        _watchersBroken |= restartWatchers;
        _rescanNeeded = true;
    }

    /// <summary>
    /// Asks for the slow rescan when none was asked for <paramref name="every"/>: the workers that
    /// share the index each call this, and the folders are still listed once per period.
    /// </summary>
    public void RequestRescanEvery(TimeSpan every, DateTime now)
    {
        lock (_gate)
        {
            if (now - _rescanAskedAt > every)
            {
                _rescanAskedAt = now;
                _rescanNeeded = true;
            }
        }
    }

    /// <summary>
    /// The best ready candidate of a queue this worker serves and that is not paused, removed from
    /// the index; null when nothing is due. Costs one stat per queue with ready jobs while
    /// paused.d/ exists, none otherwise. <paramref name="admit"/> is asked about the head of each
    /// queue, best first, until it says yes (it takes a concurrency slot, QueueSlots).
    /// </summary>
    public Candidate? TakeNext(DateTime now, Func<Candidate, bool>? admit = null)
    {
        lock (_gate)
        {
            return TakeNextLocked(now, admit);
        }
    }

    private Candidate? TakeNextLocked(DateTime now, Func<Candidate, bool>? admit)
    {
        PromoteDue(now);
        _heldByPause = false;
        var anyQueuePaused = Directory.Exists(PauseState.QueueFolder(_home));
        var heads = new List<(Candidate Head, SortedSet<Candidate> From)>();
        foreach (var (queue, ready) in _ready)
        {
            if (ready.Min is not { } head || _served is not null && !_served.Contains(queue))
            {
                continue;
            }
            if (anyQueuePaused && PauseState.QueueHeld(_home, queue))
            {
                _heldByPause = true; // left pending; NextDue makes the worker look again soon
                continue;
            }
            heads.Add((head, ready));
        }
        heads.Sort((a, b) => ReadyOrder.Compare(a.Head, b.Head));
        foreach (var (head, from) in heads)
        {
            if (admit is not null && !admit(head))
            {
                _heldByPause = true; // a queue at its concurrency limit: passed over, looked at again soon
                continue;
            }
            from.Remove(head);
            _byPath.Remove(head.Path);
            return head;
        }
        return null;
    }

    /// <summary>Unparseable files that have stopped changing (path and folder state): they go to rejected/.</summary>
    public List<(string Path, string State)> TakeSettledInvalid(DateTime now)
    {
        lock (_gate)
        {
            return TakeSettledInvalidLocked(now);
        }
    }

    private List<(string Path, string State)> TakeSettledInvalidLocked(DateTime now)
    {
        var settled = new List<(string Path, string State)>();
        foreach (var (path, (recheckAt, state)) in _unsettled.ToList())
        {
            if (recheckAt > now)
            {
                continue;
            }
            _unsettled.Remove(path);
            Load(path, state, rejectIfInvalid: true, settled);
        }
        return settled;
    }

    /// <summary>When the next scheduled job or unsettled file is due, if any.</summary>
    public DateTime? NextDue()
    {
        lock (_gate)
        {
            return NextDueLocked();
        }
    }

    private DateTime? NextDueLocked()
    {
        DateTime? next = null;
        while (_scheduled.TryPeek(out var candidate, out var at))
        {
            if (_byPath.TryGetValue(candidate.Path, out var current) && ReferenceEquals(current, candidate))
            {
                next = at;
                break;
            }
            _scheduled.Dequeue(); // superseded or removed
        }
        if (_heldByPause)
        {
            // A resume deletes a file nobody watches: look again within the paused worker's poll.
            var resumeCheck = _time.UtcNow() + Timing.PausePoll;
            next = next is null || resumeCheck < next ? resumeCheck : next;
        }
        foreach (var (at, _) in _unsettled.Values)
        {
            next = next is null || at < next ? at : next;
        }
        return next;
    }

    /// <summary>A worker's own wake-up signal: every change releases each one, so no worker of the process sleeps through it.</summary>
    public SemaphoreSlim Subscribe()
    {
        var signal = new SemaphoreSlim(0);
        lock (_signals)
        {
            _signals.Add(signal);
        }
        return signal;
    }

    public void Unsubscribe(SemaphoreSlim signal)
    {
        lock (_signals)
        {
            _signals.Remove(signal);
        }
        signal.Dispose();
    }

    /// <summary>Waits on a worker's signal (<see cref="Subscribe"/>) for a file-system change, <paramref name="timeout"/>, or cancellation.</summary>
    public async Task WaitAsync(SemaphoreSlim signal, TimeSpan timeout, CancellationToken cancel)
    {
        try
        {
            await signal.WaitAsync(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout, _time, cancel);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Wake()
    {
        lock (_signals)
        {
            foreach (var signal in _signals)
            {
                if (signal.CurrentCount == 0)
                {
                    signal.Release();
                }
            }
        }
    }

    public void Dispose()
    {
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }
    }

    private void Changed(string path, string state, bool gone)
    {
        _changes.Enqueue((path, state, gone));
        if (!gone)
        {
            Wake();
        }
    }

    private void Rescan()
    {
        if (_watchersBroken)
        {
            StartWatchers();
        }
        // Removals are found by counting, not by a set of every name: with 200,000 pending jobs a
        // set of paths is ~40 MB of garbage every rescan. Only when a removal event was missed
        // (fewer known paths listed than the index holds) is the folder listed again into a set.
        var expected = _byPath.Count + _unsettled.Count;
        var known = 0;
        foreach (var state in ClaimableStates)
        {
            foreach (var path in Directory.EnumerateFiles(_home.StateFolder(state)))
            {
                if (_byPath.ContainsKey(path) || _unsettled.ContainsKey(path))
                {
                    known++;
                }
                else
                {
                    Load(path, state);
                }
            }
        }
        if (known < expected)
        {
            var seen = new HashSet<string>(ClaimableStates.SelectMany(state => Directory.EnumerateFiles(_home.StateFolder(state))), StringComparer.Ordinal);
            foreach (var path in _byPath.Keys.Where(p => !seen.Contains(p)).ToList())
            {
                Remove(path);
            }
            foreach (var path in _unsettled.Keys.Where(p => !seen.Contains(p)).ToList())
            {
                _unsettled.Remove(path);
            }
        }
        if (!_loadedOnce)
        {
            _loadedOnce = true;
            if (_byPath.Count > LargeBacklog)
            {
                // The first load of a large backlog leaves its parse garbage in the heap: give it
                // back to the system once, instead of holding the peak for the worker's life.
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }
        }
        foreach (var child in _waitingOn.Keys.ToList())
        {
            Replace(child); // the safety net for a parent event that was missed, or a parent removed
        }
    }

    private void Load(string path, string state, bool rejectIfInvalid = false, List<(string Path, string State)>? invalid = null)
    {
        Remove(path);
        if (!QueueHome.IsJobFileName(Path.GetFileName(path)))
        {
            return;
        }
        byte[]? bytes;
        DateTime modified;
        if (!File.Exists(path))
        {
            return; // RACE: claimed or moved since the event (checked first: exceptions are slow).
        }
        try
        {
            modified = File.GetLastWriteTimeUtc(path);
            bytes = JobReader.ReadBytes(path, state);
        }
        catch (Failure)
        {
            bytes = null; // over the size limit, left unread: rejected once it has settled
            modified = File.GetLastWriteTimeUtc(path);
        }
        catch (NotRegularFileException)
        {
            // A FIFO or a device is never a job, and nothing will finish writing it: it is settled
            // at once, and its claim moves it to rejected/ with the reason.
            bytes = [];
            modified = DateTime.MinValue;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return; // RACE: claimed or moved since the event.
        }
        catch (IOException)
        {
            _unsettled[path] = (_time.UtcNow() + Timing.DroppedFileSettle, state); // e.g. ESTALE on a network file system: look again later
            return;
        }

        var candidate = bytes is null ? null : Parse(path, state, bytes, modified);
        if (candidate is null)
        {
            var settledAt = modified + Timing.DroppedFileSettle;
            if (rejectIfInvalid && settledAt <= _time.UtcNow())
            {
                invalid?.Add((path, state));
            }
            else
            {
                _unsettled[path] = (settledAt > _time.UtcNow() ? settledAt : _time.UtcNow() + Timing.DroppedFileSettle, state);
            }
            return;
        }
        _unsettled.Remove(path);
        _byPath[path] = candidate;
        Place(candidate);
    }

    /// <summary>
    /// Puts a known candidate where it belongs: held aside for a parent, scheduled, or ready.
    /// <paramref name="before"/>: the parent it waited for until now. Only a new wait can close a
    /// cycle, so only then is the chain of waits followed (a rescan places every waiting child again).
    /// </summary>
    private void Place(Candidate candidate, string? before = null)
    {
        if (candidate.After is { Count: > 0 } && candidate.Doomed is null)
        {
            // failed/ too: a child claimed to go dead whose worker died is a failed attempt, never run.
            var check = Dependencies.Check(_home, candidate.After, hasRun: candidate.State == JobState.Failed);
            (string Id, string Reason)? doomInCycle = null;
            if (check.Outcome == ParentsOutcome.Waiting && check.Parent != before && CycleThrough(candidate.Path, check.Parent!) is { } cycle)
            {
                // Only files dropped into pending/ can close a cycle (enqueue refuses one): nothing
                // would ever finish it, so one member goes dead, and the others after it as waiters
                // of a dead parent. The member is the smallest id, whatever the order the files
                // were loaded in, so that every process (each may serve other queues) dooms the same.
                var first = cycle.IndexOf(cycle.Min(StringComparer.Ordinal)!);
                var members = cycle.Skip(first).Concat(cycle.Take(first + 1));
                var reason = $"its parents form a cycle ({string.Join(" -> ", members)}); it was not run";
                if (first == 0)
                {
                    check = new ParentsCheck(ParentsOutcome.Doomed, check.Parent, reason);
                }
                else
                {
                    doomInCycle = (cycle[first], reason);
                }
            }
            if (check.Outcome == ParentsOutcome.Waiting)
            {
                var parent = check.Parent!;
                _watchedParents[parent] = 0;
                if (!_waiting.TryGetValue(parent, out var children))
                {
                    _waiting[parent] = children = new HashSet<string>(StringComparer.Ordinal);
                }
                children.Add(candidate.Path);
                _waitingOn[candidate.Path] = parent;
                _parentOf[IdOf(candidate.Path)] = parent;
                if (doomInCycle is { } doom && _byPath.TryGetValue(_home.JobPath(JobState.Pending, doom.Id), out var member))
                {
                    Remove(member.Path);
                    Doom(member, doom.Reason);
                }
                return;
            }
            if (check.Outcome == ParentsOutcome.Doomed)
            {
                Doom(candidate, check.Reason!);
                return;
            }
        }
        if (candidate.NotBefore is { } notBefore && notBefore > _time.UtcNow())
        {
            _scheduled.Enqueue(candidate, notBefore);
        }
        else
        {
            AddReady(candidate);
        }
    }

    /// <summary>
    /// The cycle a waiting child would close by waiting for <paramref name="parent"/>: its members,
    /// the child first, each waiting for the next (the last for the child); null when there is
    /// none. Each held-aside job waits for one parent at a time (the first that has not completed),
    /// so the chase follows one pointer per step, in memory, and ends within as many steps as there
    /// are waiting jobs.
    /// </summary>
    private List<string>? CycleThrough(string childPath, string parent)
    {
        var child = IdOf(childPath);
        var next = parent;
        for (var steps = 1; steps <= _parentOf.Count + 1; steps++)
        {
            if (next == child)
            {
                var members = new List<string> { child };
                for (var link = parent; link != child; link = _parentOf[link])
                {
                    members.Add(link);
                }
                return members;
            }
            if (!_parentOf.TryGetValue(next, out var grand))
            {
                return null;
            }
            next = grand;
        }
        return null;
    }

    private static string IdOf(string path) => Path.GetFileNameWithoutExtension(path);

    /// <summary>A candidate that goes dead without running: ready at once, whatever its not_before.</summary>
    private void Doom(Candidate candidate, string reason)
    {
        var doomed = candidate with { Doomed = reason };
        _byPath[doomed.Path] = doomed;
        AddReady(doomed);
    }

    private void AddReady(Candidate candidate)
    {
        if (!_ready.TryGetValue(candidate.Queue, out var ready))
        {
            _ready[candidate.Queue] = ready = new SortedSet<Candidate>(ReadyOrder);
        }
        ready.Add(candidate);
    }

    private static Candidate? Parse(string path, string state, byte[] bytes, DateTime modified)
    {
        try
        {
            var job = JobReader.Parse(bytes, path, state, modified);
            // One string per queue name, not one per job (200,000 copies of "default" otherwise).
            var queue = job.QueueName == Job.DefaultQueue ? Job.DefaultQueue : string.Intern(job.QueueName);
            return new Candidate(path, state, job.EffectivePriority, job.CreatedAt, job.NotBefore, queue, job.After);
        }
        catch (Exception e) when (e is Failure or JsonException)
        {
            return null;
        }
    }

    private void Remove(string path)
    {
        if (_waitingOn.Remove(path, out var parent))
        {
            if (_parentOf.TryGetValue(IdOf(path), out var waitedFor) && waitedFor == parent)
            {
                _parentOf.Remove(IdOf(path)); // (another file of the same id, a hand copy, may wait too)
            }
            if (_waiting.TryGetValue(parent, out var children))
            {
                children.Remove(path);
                if (children.Count == 0)
                {
                    _waiting.Remove(parent);
                    _watchedParents.TryRemove(parent, out _);
                }
            }
        }
        if (_byPath.Remove(path, out var old) && _ready.TryGetValue(old.Queue, out var ready))
        {
            ready.Remove(old);
        }
    }

    private void PromoteDue(DateTime now)
    {
        while (_scheduled.TryPeek(out var candidate, out var at) && at <= now)
        {
            _scheduled.Dequeue();
            if (_byPath.TryGetValue(candidate.Path, out var current) && ReferenceEquals(current, candidate))
            {
                AddReady(candidate);
            }
        }
    }
}
