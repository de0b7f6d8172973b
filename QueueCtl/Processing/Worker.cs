using Polly;
using Polly.Retry;
using QueueCtl.Jobs;
using QueueCtl.Retries;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// One worker: registers, keeps a heartbeat, claims the best due job, runs it, finishes it, and
/// returns dead workers' jobs. Graceful stop finishes the current job first; abort kills it and
/// leaves it claimed, for recovery.
/// </summary>
internal sealed class Worker(QueueHome home, string id, TextWriter log)
{
    /// <summary>The safety-net poll; inotify wakes the worker long before this in normal operation.</summary>
    private static readonly TimeSpan SafetyPoll = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a change of state (busy, idle) waits before workers/&lt;id&gt;.json is rewritten: a
    /// stream of short jobs then costs a few record writes a second instead of two per job (each
    /// write is a new file and a deleted one, see ARCHITECTURE.md "Performance choices").
    /// </summary>
    private static readonly TimeSpan RecordDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a fenced run's note is tried again while its job is running elsewhere.</summary>
    private static readonly TimeSpan FencedRetry = TimeSpan.FromSeconds(1);

    /// <summary>How long a fenced run's job must be found nowhere before its note is given up.</summary>
    private static readonly TimeSpan GoneAfter = TimeSpan.FromSeconds(5);

    private readonly WorkerRegistry _registry = new(home);
    private bool _checkOwnFolder;
    private readonly SettingsWatcher _settings = new(home);
    private readonly PauseState _pause = new(home);
    private readonly DateTime _startedAt = UtcTimestamp.Truncate(DateTime.UtcNow);
    private readonly object _recordLock = new();
    private readonly SemaphoreSlim _recordChanged = new(0);
    private readonly RepeatedFailure _finishTrouble = new();
    private readonly RepeatedFailure _loopTrouble = new();
    private readonly RepeatedFailure _heartbeatTrouble = new();
    private ResiliencePipeline? _ioRetry;
    private readonly List<FencedRun> _fenced = [];
    private DateTime _nextFencedTry;
    private string _state = "idle";
    private string? _currentJob;
    private RunGuard? _guard;
    private RunStopper? _running;
    private DateTime _renewedAt = DateTime.UtcNow;
    private long _renewedTicks = Environment.TickCount64;

    public string Id { get; } = id;

    /// <summary>
    /// Finishing a job must not give up on a transient I/O error (a full disk, a read-only remount,
    /// a network file system hiccup): the result is kept in memory and written once the disk
    /// takes it, until an abort leaves the job to recovery.
    /// </summary>
    private ResiliencePipeline IoRetry => _ioRetry ??= new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<IOException>().Handle<UnauthorizedAccessException>(),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = TimeSpan.FromSeconds(5),
            UseJitter = true,
            OnRetry = args =>
            {
                if (_finishTrouble.Occurred(DateTime.UtcNow, out var lasting))
                {
                    Log($"could not record the result yet (retry {args.AttemptNumber + 1} in {args.RetryDelay.TotalSeconds:0.0} s){lasting}: {args.Outcome.Exception?.Message}");
                }
                return default;
            },
        })
        .Build();

    public async Task RunAsync(CancellationToken graceful, CancellationToken abort)
    {
        try
        {
            home.EnsureCreated();
            Directory.CreateDirectory(home.Staging);
            _guard = RunGuard.Start(Id);
            if (_guard.Missing is { } missing)
            {
                Log(missing);
            }
            WriteRecord();
            Directory.CreateDirectory(home.ProcessingFolder(Id));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full or read-only disk at start: say so and leave nothing behind.
            _guard?.Dispose();
            Recovery.RemoveStaging(home, Id);
            try
            {
                _registry.Remove(Id);
                Directory.Delete(home.ProcessingFolder(Id));
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Never made, or as unwritable as the rest: recovery removes what is left.
            }
            var message = $"Worker {Id} could not start: {e.Message.TrimEnd('.')}.";
            Log(message);
            throw Failure.Operation(message);
        }
        Log($"started (pid {Environment.ProcessId}, host {WorkerId.Host}, guard {_guard.Pid})");

        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        using var index = new JobIndex(home);
        var heartbeat = HeartbeatLoop(heartbeatStop.Token);
        var recovery = RecoveryLoop(index, heartbeatStop.Token);
        try
        {
            await Loop(index, graceful, abort);
        }
        finally
        {
            heartbeatStop.Cancel();
            await heartbeat;
            await recovery;
            // An abort leaves the jobs to recovery: the guard kills what is left of them first.
            _guard.Close(graceful: !abort.IsCancellationRequested);
        }

        abort.ThrowIfCancellationRequested();
        foreach (var fenced in _fenced)
        {
            Log($"{fenced.JobId}: stopping before this worker's late finish of run {fenced.Run} could be noted in its history (see its log)");
        }
        SetState("stopping", null, writeNow: true);
        CancelRequests.RemoveStray(home, Id);
        try
        {
            Directory.Delete(home.ProcessingFolder(Id));
        }
        catch (IOException e)
        {
            Log($"left processing/{Id}/ in place: {e.Message}");
        }
        _registry.Remove(Id);
        Recovery.RemoveStaging(home, Id);
        Log("stopped");
    }

    private async Task Loop(JobIndex index, CancellationToken graceful, CancellationToken abort)
    {
        var claimer = new Claimer(home, Id);
        var lastRescan = DateTime.UtcNow;
        while (!graceful.IsCancellationRequested)
        {
            try
            {
                var now = DateTime.UtcNow;
                if (now - lastRescan > SafetyPoll)
                {
                    index.RequestRescan();
                    lastRescan = now;
                }
                if (_checkOwnFolder)
                {
                    // An I/O error interrupted a claim: whatever is left in our folder is finished as a failed attempt.
                    foreach (var returned in Recovery.RecoverFolder(home, Id, $"worker {Id} hit an I/O error while claiming", _settings.Current, now))
                    {
                        Log($"returned {returned.JobId} after an interrupted claim: now {returned.State}");
                    }
                    _checkOwnFolder = false;
                }
                if (_fenced.Count > 0 && now >= _nextFencedTry)
                {
                    RecordFenced();
                    _nextFencedTry = now + FencedRetry;
                }
                index.Refresh();
                if (_pause.Check(PauseState.DefaultQueue) is { } change)
                {
                    SetState(change.Paused ? "paused" : "idle", null);
                    Log(change.Message);
                }
                if (_pause.Paused)
                {
                    // `queuectl pause`: take nothing new (not even a late-valid file) until resumed.
                    TurnWorked();
                    await index.WaitAsync(PauseState.Poll, graceful);
                    continue;
                }
                foreach (var (path, state) in index.TakeSettledInvalid(now))
                {
                    var settled = claimer.TryClaim(path, state, _settings.Current, DateTime.UtcNow);
                    if (settled.Outcome == ClaimOutcome.Rejected)
                    {
                        Log($"rejected {Path.GetFileName(path)}: {settled.Reason}");
                    }
                    if (settled.Job is { } late)
                    {
                        Run(late, abort); // it became valid at the last moment
                    }
                }

                if (Fenced(out _))
                {
                    // Not renewed for half a lease: another worker may soon judge this one dead. Claim
                    // nothing until the registration is renewed again.
                    await index.WaitAsync(FencedRetry, graceful);
                    continue;
                }

                var candidate = index.TakeNext(now);
                if (candidate is null)
                {
                    var due = index.NextDue();
                    var wait = due is { } at ? at - DateTime.UtcNow : SafetyPoll;
                    wait = _fenced.Count > 0 && wait > FencedRetry ? FencedRetry : wait;
                    TurnWorked();
                    await index.WaitAsync(wait < SafetyPoll ? wait : SafetyPoll, graceful);
                    continue;
                }

                var settings = _settings.Current;
                var claim = claimer.TryClaim(candidate.Path, candidate.State, settings, DateTime.UtcNow);
                if (claim.Outcome == ClaimOutcome.Rejected)
                {
                    Log($"rejected {Path.GetFileName(candidate.Path)}: {claim.Reason}");
                }
                if (claim.Job is { } job)
                {
                    Run(job, abort);
                }
                TurnWorked();
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The home is unreadable, a folder vanished, or something unforeseen: a worker never
                // dies of it. Every job stays where it is on disk, and the loop tries again later.
                var kind = e is IOException or UnauthorizedAccessException ? "I/O error" : $"unexpected {e.GetType().Name}";
                if (_loopTrouble.Occurred(DateTime.UtcNow, out var lasting))
                {
                    Log($"{kind}, retrying every {SafetyPoll.TotalSeconds:0} s{lasting}: {e.Message}");
                }
                _checkOwnFolder = true;
                index.RequestRescan(restartWatchers: true);
                await index.WaitAsync(SafetyPoll, graceful);
            }
        }
    }

    /// <summary>A turn of the loop went through without an error: after a run of errors, say so once.</summary>
    private void TurnWorked()
    {
        if (_loopTrouble.Cleared(DateTime.UtcNow) is { } lasted)
        {
            Log($"working again after {lasted.TotalSeconds:0} s of errors");
        }
    }

    private void Run(ClaimedJob claimed, CancellationToken abort)
    {
        var job = claimed.Job;
        if (CancelRequests.Read(home, Id, job.Id) is { } early)
        {
            FinishCancelledBeforeStart(claimed, early, abort);
            return;
        }
        var attempt = job.Attempts + 1;
        SetState("busy", job.Id);
        Log($"running {job.Id} (attempt {attempt} of {job.MaxRetries + 1}): {job.Command}");
        var settings = _settings.Current;
        var timeoutSeconds = job.TimeoutSeconds ?? (settings.JobTimeoutSeconds > 0 ? settings.JobTimeoutSeconds : null);
        // The parser and config refuse more than the maximum; a file written by hand into failed/ is not parsed.
        timeoutSeconds = timeoutSeconds is { } t ? Math.Clamp(t, 0.001, JobLimits.MaxTimeoutSeconds) : null;
        AttemptResult result;
        using (var stopper = new RunStopper())
        {
            Volatile.Write(ref _running, stopper);
            try
            {
                result = CommandRunner.Run(home, job, Id, timeoutSeconds is { } s ? TimeSpan.FromSeconds(s) : null, settings.LogMaxBytes, abort, _guard, stopper);
            }
            finally
            {
                Volatile.Write(ref _running, null);
            }
        }
        if (result.ExitCode == 128 + 9 && !IsFenceReason(result.Error) && Fenced(out var since))
        {
            // The guard was first to kill the run for the same reason (it does not wait for a heartbeat).
            result = result with { Error = FenceReason(since) };
        }

        // A cancel request (ARCHITECTURE.md, "Cancel"): the run was killed for it, so the job goes dead, not failed.
        var final = !result.Succeeded && CancelRequests.Read(home, Id, job.Id) is { } cancelled
            ? Transitions.CancelledRun(job, result, $"{cancelled}; its processes were killed while it ran on worker {Id}", Id, _settings.Current)
            : Transitions.Finished(job, result, Id, _settings.Current);
        var outcome = IoRetry.Execute(_ => claimed.Finish(final), abort);
        CancelRequests.Remove(home, Id, job.Id);
        if (_finishTrouble.Cleared(DateTime.UtcNow) is { } tried)
        {
            Log($"the file system answered again for {job.Id} after {tried.TotalSeconds:0} s of retries");
        }
        var detail = final.State switch
        {
            JobState.Completed => "completed",
            JobState.Failed => $"failed ({final.LastError}); retry at {UtcTimestamp.ToText(final.NotBefore!.Value)}",
            _ => $"dead after {final.Attempts} attempt{(final.Attempts == 1 ? "" : "s")} ({final.LastError})",
        };
        if (outcome == FinishOutcome.Fenced)
        {
            NoteFenced(job, result);
            _fenced.Add(new FencedRun(job.Id, job.NextRun, new LateFinish
            {
                Worker = Id,
                FinishedAt = UtcTimestamp.Truncate(result.FinishedAt),
                ExitCode = result.ExitCode,
                Note = $"finished after the job had been taken back from this worker (lease expired); would have been {final.State}, not counted",
            })); // noted in the job's history by the loop, once the job rests
        }
        Log(outcome switch
        {
            FinishOutcome.Finished => $"{job.Id} {detail}",
            FinishOutcome.Fenced => $"{job.Id} was taken back by recovery while it ran; its newer state was left alone (this run: {detail})",
            _ => $"{job.Id} could not be moved to {final.State}/ (id taken); moved to rejected/",
        });
        SetState("idle", null);
    }

    /// <summary>A cancel request came between the claim and the start: the job goes dead without running.</summary>
    private void FinishCancelledBeforeStart(ClaimedJob claimed, string reason, CancellationToken abort)
    {
        var final = Transitions.Cancelled(claimed.Job, reason, DateTime.UtcNow);
        var outcome = IoRetry.Execute(_ => claimed.Finish(final), abort);
        CancelRequests.Remove(home, Id, claimed.Job.Id);
        Log($"{claimed.Job.Id} {(outcome == FinishOutcome.Finished ? "dead" : outcome.ToString().ToLowerInvariant())} before it started ({reason})");
    }

    /// <summary>
    /// At each heartbeat: a cancel request for the running job stops it (the way a `cancel` on
    /// another host reaches it; on this host `cancel` has already killed its processes), and
    /// requests for jobs no longer here are removed.
    /// </summary>
    private void CheckCancel()
    {
        try
        {
            if (Volatile.Read(ref _running) is { } run && run.Reason is null && _currentJob is { } job
                && CancelRequests.Read(home, Id, job) is { } reason)
            {
                run.Stop(reason);
                Log($"{job}: stopping the run for a cancel request");
            }
            CancelRequests.RemoveStray(home, Id);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The file system hiccups: the next heartbeat looks again (the fence handles a lasting outage).
        }
    }

    /// <summary>
    /// The job was taken back while it ran (this worker's lease had expired): its file now belongs
    /// to another owner and is left alone. This run's result goes at once to the end of its own
    /// log, and later, by <see cref="RecordFenced"/>, into the recoverer's history entry for the
    /// same run ("worker … died") as late_finish.
    /// </summary>
    private void NoteFenced(Job job, AttemptResult result)
    {
        try
        {
            var path = CommandRunner.LogPath(home, job.Id, job.NextRun);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.AppendAllText(path,
                $"\n[queuectl] worker {Id} finished this run (exit code {result.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}) " +
                "after the job had been taken back from it (lease expired); this result was not counted as an attempt.\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log($"could not note the fenced run in {job.Id}'s log: {e.Message}");
        }
    }

    /// <summary>Notes fenced runs in their jobs' history once each job rests (see <see cref="FencedRuns"/>).</summary>
    private void RecordFenced()
    {
        // Register first: while this worker's record is missing or stale (it was judged dead), other
        // hosts' recovery would take the job back out of this worker's folder during the borrow.
        WriteRecord();
        foreach (var fenced in _fenced.ToList())
        {
            var outcome = FencedRuns.TryRecord(home, Id, fenced);
            // RACE: a recoverer moves the job through folders of its own, and a file between two
            // renames is briefly found nowhere: "gone" counts only once it has lasted a while.
            if (outcome == NoteOutcome.Later || outcome == NoteOutcome.Gone && DateTime.UtcNow - fenced.Finish.FinishedAt < GoneAfter)
            {
                continue;
            }
            _fenced.Remove(fenced);
            Log(outcome == NoteOutcome.Recorded
                ? $"{fenced.JobId}: noted this worker's late finish of run {fenced.Run} in its history"
                : $"{fenced.JobId}: the job or its run {fenced.Run} is gone; the late finish is only in its log");
        }
    }

    /// <summary>
    /// Rewrites workers/&lt;id&gt;.json at each heartbeat (lease / 4) and, <see cref="RecordDelay"/>
    /// after a change of state, in between. Before each, it checks the fence: when the last
    /// renewal is older than half the lease (the file system hangs, or this process was frozen
    /// and just woke up), the running job is killed before another worker may judge this one dead.
    /// </summary>
    private async Task HeartbeatLoop(CancellationToken stop)
    {
        DateTime beatDue = default;
        while (!stop.IsCancellationRequested)
        {
            var interval = Timing.HeartbeatInterval(_settings.Current.WorkerLeaseSeconds);
            if (beatDue == default || beatDue > DateTime.UtcNow + interval)
            {
                beatDue = DateTime.UtcNow + interval; // first round, or the lease was shortened
            }
            try
            {
                var wait = beatDue - DateTime.UtcNow;
                if (await _recordChanged.WaitAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, stop))
                {
                    await Task.Delay(RecordDelay, stop);
                    CheckFence();
                    CheckCancel();
                    if (DateTime.UtcNow < beatDue)
                    {
                        TryWriteRecord();
                        continue;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            CheckFence();
            CheckCancel();
            beatDue = DateTime.UtcNow + interval;
            try
            {
                WriteRecord();
                if (_heartbeatTrouble.Cleared(DateTime.UtcNow) is { } lasted)
                {
                    Log($"heartbeat works again after {lasted.TotalSeconds:0} s of failures");
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Like the main loop, the heartbeat never dies of an error: a silent heartbeat
                // would let other workers take this worker's jobs while it still runs them.
                var kind = e is IOException or UnauthorizedAccessException ? "" : $" (unexpected {e.GetType().Name})";
                if (_heartbeatTrouble.Occurred(DateTime.UtcNow, out var lasting))
                {
                    Log($"heartbeat failed{kind}{lasting}: {e.Message}");
                }
            }
        }
    }

    /// <summary>Every heartbeat interval, returns dead workers' jobs (apart from the heartbeat, so that a slow recovery never delays a renewal).</summary>
    private async Task RecoveryLoop(JobIndex index, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var settings = _settings.Current;
            try
            {
                await Task.Delay(Timing.HeartbeatInterval(settings.WorkerLeaseSeconds), stop);
                if (Fenced(out _))
                {
                    continue; // judged by a worker that may itself be judged dead: wait for a renewal
                }
                var recovered = Recovery.RecoverDeadWorkers(home, settings, Id, DateTime.UtcNow);
                StaleFiles.CleanNowAndThen(home, DateTime.UtcNow);
                foreach (var job in recovered)
                {
                    Log($"recovered {job.JobId} from {job.FromWorker}: now {job.State} ({job.Reason})");
                }
                if (recovered.Count > 0)
                {
                    index.Wake();
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                var kind = e is IOException or UnauthorizedAccessException ? "" : $" (unexpected {e.GetType().Name})";
                if (_heartbeatTrouble.Occurred(DateTime.UtcNow, out var lasting))
                {
                    Log($"recovery failed{kind}{lasting}: {e.Message}");
                }
            }
        }
    }

    /// <summary>
    /// True when the last renewal of the registration is older than the fence (half the lease):
    /// by wall clock or by the monotonic clock, whichever says longer (a frozen process sees both
    /// jump; a paused VM may see only the wall clock move).
    /// </summary>
    private bool Fenced(out TimeSpan since)
    {
        long ticks;
        DateTime at;
        lock (_recordLock)
        {
            ticks = _renewedTicks;
            at = _renewedAt;
        }
        var wall = DateTime.UtcNow - at;
        var monotonic = TimeSpan.FromMilliseconds(Environment.TickCount64 - ticks);
        since = wall > monotonic ? wall : monotonic;
        return since > Timing.Fence(_settings.Current.WorkerLeaseSeconds);
    }

    private void CheckFence()
    {
        if (Fenced(out var since) && Volatile.Read(ref _running) is { } run && run.Reason is null)
        {
            var reason = FenceReason(since);
            run.Stop(reason); // first: the log may be on the file system that hangs
            Log($"{_currentJob}: {reason}");
        }
    }

    private const string FenceReasonStart = "killed: worker ";

    private string FenceReason(TimeSpan since)
    {
        var lease = _settings.Current.WorkerLeaseSeconds;
        return $"{FenceReasonStart}{Id} could not renew its registration for {since.TotalSeconds:0.0} s " +
            $"(fence {Timing.Fence(lease).TotalSeconds:0.#} s = half the {lease:0.#} s lease), so it stopped its job before another worker could start it again";
    }

    private static bool IsFenceReason(string? error) => error?.StartsWith(FenceReasonStart, StringComparison.Ordinal) == true;

    /// <summary>
    /// Records the worker's state; workers/&lt;id&gt;.json follows within <see cref="RecordDelay"/>
    /// (the heartbeat loop writes it), or at once with <paramref name="writeNow"/>.
    /// </summary>
    private void SetState(string state, string? job, bool writeNow = false)
    {
        lock (_recordLock)
        {
            _state = state;
            _currentJob = job;
        }
        if (writeNow)
        {
            TryWriteRecord();
        }
        else if (_recordChanged.CurrentCount == 0)
        {
            _recordChanged.Release();
        }
    }

    private void TryWriteRecord()
    {
        try
        {
            WriteRecord();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log($"could not update workers/{Id}.json: {e.Message}");
        }
    }

    private void WriteRecord()
    {
        lock (_recordLock)
        {
            var startedWall = DateTime.UtcNow;
            var startedTicks = Environment.TickCount64;
            try
            {
                _registry.Write(new WorkerRecord
                {
                    Id = Id,
                    Pid = Environment.ProcessId,
                    Host = WorkerId.Host,
                    StartedAt = _startedAt,
                    State = _state,
                    CurrentJob = _currentJob,
                    HeartbeatAt = UtcTimestamp.Truncate(DateTime.UtcNow),
                });
            }
            catch (IOException) when (_registry.Touch(Id))
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

    /// <summary>
    /// Notes a renewal (under the record lock). It counts from when it started: the file's mtime,
    /// by which other workers judge this one, is no earlier than that.
    /// </summary>
    private void Renewed(DateTime startedWall, long startedTicks)
    {
        _renewedAt = startedWall;
        _renewedTicks = startedTicks;
        _guard?.Renewed(Timing.Fence(_settings.Current.WorkerLeaseSeconds) - TimeSpan.FromMilliseconds(Environment.TickCount64 - startedTicks));
    }

    /// <summary>Writes a line to the worker's log; a log that cannot be written (a read-only disk) never stops the worker.</summary>
    private void Log(string message) => WriteLog(log, $"{Id} {message}");

    public static void WriteLog(TextWriter log, string message)
    {
        lock (log)
        {
            try
            {
                log.WriteLine($"{UtcTimestamp.ToText(DateTime.UtcNow)} {LogText.Escape(message)}");
                log.Flush();
            }
            catch (IOException)
            {
                // Nowhere to report it: the job files carry every outcome anyway.
            }
        }
    }
}
