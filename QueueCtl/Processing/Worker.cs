using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// One worker: registers (<see cref="Registration"/>), starts its guard (<see cref="RunGuard"/>),
/// keeps a heartbeat (<see cref="Heartbeat"/>) and a recovery watchdog (<see cref="RecoveryWatchdog"/>)
/// beside its loop, which claims the best due job and runs it (<see cref="AttemptRunner"/>), and
/// notes late finishes of runs taken back from it (<see cref="LateFinishes"/>). Graceful stop
/// finishes the current job first; abort kills it and leaves it claimed, for recovery.
/// </summary>
internal sealed class Worker
{
    private readonly QueueHome _home;
    private readonly TextWriter _log;
    private readonly SettingsWatcher _settings;
    private readonly PauseState _pause;
    private readonly Registration _registration;
    private readonly LateFinishes _lateFinishes;
    private readonly AttemptRunner _attempts;
    private readonly WorkerCounters _counters;
    private readonly RepeatedFailure _loopTrouble = new();
    private bool _checkOwnFolder;

    public Worker(QueueHome home, string id, TextWriter log)
    {
        _home = home;
        _log = log;
        Id = id;
        _settings = new SettingsWatcher(home);
        _pause = new PauseState(home);
        _registration = new Registration(home, id, _settings);
        _lateFinishes = new LateFinishes(home, id, _registration, Log);
        _counters = new WorkerCounters(home, id, Log);
        _attempts = new AttemptRunner(home, id, _settings, _registration, _lateFinishes, Log) { Counters = _counters };
    }

    public string Id { get; }

    public async Task RunAsync(CancellationToken graceful, CancellationToken abort)
    {
        RunGuard guard;
        try
        {
            _home.EnsureCreated();
            Directory.CreateDirectory(_home.Staging);
            guard = RunGuard.Start(Id);
            _registration.Guard = guard;
            if (guard.Missing is { } missing)
            {
                Log(missing);
            }
            _registration.Write();
            Directory.CreateDirectory(_home.ProcessingFolder(Id));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full or read-only disk at start: say so and leave nothing behind.
            _registration.Guard?.Dispose();
            Recovery.RemoveStaging(_home, Id);
            try
            {
                _registration.Remove();
                Directory.Delete(_home.ProcessingFolder(Id));
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Never made, or as unwritable as the rest: recovery removes what is left.
            }
            var message = $"Worker {Id} could not start: {e.Message.TrimEnd('.')}.";
            Log(message);
            throw Failure.Operation(message);
        }
        Log($"started (pid {Environment.ProcessId}, host {WorkerId.Host}, guard {guard.Pid})");

        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        using var index = new JobIndex(_home);
        var heartbeat = new Heartbeat(_registration, _settings, () =>
        {
            _attempts.CheckFence();
            _attempts.CheckCancel();
        }, Log).RunAsync(heartbeatStop.Token);
        var recovery = new RecoveryWatchdog(_home, Id, _settings, _registration, Log) { Counters = _counters }.RunAsync(index, heartbeatStop.Token);
        var counting = _counters.RunAsync(heartbeatStop.Token);
        var retention = new Retention(_home, _settings, Log).RunAsync(heartbeatStop.Token);
        try
        {
            await Loop(index, graceful, abort);
        }
        finally
        {
            heartbeatStop.Cancel();
            await heartbeat;
            await recovery;
            await counting;
            await retention;
            _counters.Flush(DateTime.UtcNow, final: true);
            // An abort leaves the jobs to recovery: the guard kills what is left of them first.
            guard.Close(graceful: !abort.IsCancellationRequested);
        }

        abort.ThrowIfCancellationRequested();
        _lateFinishes.LogUnnoted();
        _registration.Set("stopping", null, Log, writeNow: true);
        CancelRequests.RemoveStray(_home, Id);
        try
        {
            Directory.Delete(_home.ProcessingFolder(Id));
        }
        catch (IOException e)
        {
            Log($"left processing/{Id}/ in place: {e.Message}");
        }
        _registration.Remove();
        Recovery.RemoveStaging(_home, Id);
        Log("stopped");
    }

    private async Task Loop(JobIndex index, CancellationToken graceful, CancellationToken abort)
    {
        var claimer = new Claimer(_home, Id);
        var lastRescan = DateTime.UtcNow;
        while (!graceful.IsCancellationRequested)
        {
            try
            {
                var now = DateTime.UtcNow;
                if (now - lastRescan > Timing.SafetyPoll)
                {
                    index.RequestRescan();
                    lastRescan = now;
                }
                if (_checkOwnFolder)
                {
                    // An I/O error interrupted a claim: whatever is left in our folder is finished as a failed attempt.
                    foreach (var returned in Recovery.RecoverFolder(_home, Id, $"worker {Id} hit an I/O error while claiming", _settings.Current, now))
                    {
                        _counters.Add(returned.Queue, returned.State);
                        Log($"returned {returned.JobId} after an interrupted claim: now {returned.State}");
                    }
                    _checkOwnFolder = false;
                }
                _lateFinishes.RecordDue(now);
                index.Refresh();
                if (_pause.Check(null) is { } change)
                {
                    _registration.Set(change.Paused ? "paused" : "idle", null, Log);
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
                        _attempts.Run(late, abort); // it became valid at the last moment
                    }
                }

                if (_registration.Fenced(out _))
                {
                    // Not renewed for half a lease: another worker may soon judge this one dead. Claim
                    // nothing until the registration is renewed again.
                    await index.WaitAsync(Timing.FencedRetry, graceful);
                    continue;
                }

                var candidate = index.TakeNext(now);
                if (candidate is null)
                {
                    var due = index.NextDue();
                    var wait = due is { } at ? at - DateTime.UtcNow : Timing.SafetyPoll;
                    wait = _lateFinishes.Any && wait > Timing.FencedRetry ? Timing.FencedRetry : wait;
                    TurnWorked();
                    await index.WaitAsync(wait < Timing.SafetyPoll ? wait : Timing.SafetyPoll, graceful);
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
                    _attempts.Run(job, abort);
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
                    Log($"{kind}, retrying every {Timing.SafetyPoll.TotalSeconds:0} s{lasting}: {e.Message}");
                }
                _checkOwnFolder = true;
                index.RequestRescan(restartWatchers: true);
                await index.WaitAsync(Timing.SafetyPoll, graceful);
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

    /// <summary>Writes a line to the worker's log; a log that cannot be written (a read-only disk) never stops the worker.</summary>
    private void Log(string message) => WriteLog(_log, $"{Id} {message}");

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
