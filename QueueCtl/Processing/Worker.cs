using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// One worker: registers (<see cref="Registration"/>), starts its guard (<see cref="RunGuard"/>),
/// keeps a heartbeat (<see cref="Heartbeat"/>) and a recovery watchdog (<see cref="RecoveryWatchdog"/>)
/// beside its loop, which claims the best due job and runs it (<see cref="AttemptRunner"/>), and
/// notes late finishes of runs taken back from it (<see cref="LateFinishes"/>). Graceful stop
/// finishes the current job first; abort kills it and leaves it claimed, for recovery.
/// The workers of one process share their index and take turns at recovery (<see cref="WorkerGroup"/>).
/// </summary>
internal sealed class Worker
{
    private readonly QueueHome _home;
    private readonly TextWriter _log;
    private readonly TimeProvider _time;
    private readonly SettingsWatcher _settings;
    private readonly PauseState _pause;
    private readonly Registration _registration;
    private readonly LateFinishes _lateFinishes;
    private readonly AttemptRunner _attempts;
    private readonly QueueAdmission _admission;
    private readonly WorkerCounters _counters;
    private readonly RepeatedFailure _loopTrouble = new();
    private readonly WorkerGroup _group;
    private readonly string? _guardLog;
    private bool _checkOwnFolder;

    /// <param name="group">The workers of this process (one shared index); null for a worker alone.</param>
    /// <param name="guardLog">Where the guard writes (its stderr), when not the process's own stderr.</param>
    public Worker(QueueHome home, string id, TextWriter log, TimeProvider time, WorkerGroup? group = null, string? guardLog = null)
    {
        _home = home;
        _log = log;
        _time = time;
        _group = group ?? new WorkerGroup();
        _guardLog = guardLog;
        Id = id;
        _settings = new SettingsWatcher(home, time);
        _pause = new PauseState(home);
        _registration = new Registration(home, id, _settings, time);
        _lateFinishes = new LateFinishes(home, id, _registration, Log, time);
        _counters = new WorkerCounters(home, id, Log, time);
        _attempts = new AttemptRunner(home, id, _settings, _registration, _lateFinishes, Log, time) { Counters = _counters };
        _admission = new QueueAdmission(home, id, _settings, Log);
    }

    public string Id { get; }

    public async Task RunAsync(CancellationToken graceful, CancellationToken abort)
    {
        RunGuard guard;
        try
        {
            _home.EnsureCreated();
            Directory.CreateDirectory(_home.Staging);
            guard = RunGuard.Start(Id, _time, _guardLog);
            _registration.Guard = guard;
            _attempts.Hooks.Guard = guard;
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
            WorkerRecovery.RemoveStaging(_home, Id);
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
        var index = _group.Join(Id, _home, _time);
        var signal = index.Subscribe();
        var heartbeat = new Heartbeat(_registration, _settings, () =>
        {
            _attempts.CheckFence();
            _attempts.CheckCancel();
        }, Log, _time).RunAsync(heartbeatStop.Token);
        var recovery = new RecoveryWatchdog(_home, Id, _settings, _registration, Log, _time) { Counters = _counters, Group = _group, Hooks = _attempts.Hooks }.RunAsync(index, heartbeatStop.Token);
        var counting = _counters.RunAsync(heartbeatStop.Token);
        var retention = new Retention(_home, _settings, Log, _time).RunAsync(heartbeatStop.Token);
        var indexUpkeep = new IndexUpkeep(_home, Log, _time).RunAsync(heartbeatStop.Token);
        try
        {
            await Loop(index, signal, graceful, abort);
        }
        finally
        {
            if (!abort.IsCancellationRequested)
            {
                // While the heartbeat and the guard still run, so a kill -9 in this wait still takes
                // the hooks with it. A hook is never waited for longer: it is not the job.
                _attempts.Hooks.WaitForRunning(Timing.KillWait);
                _attempts.Hooks.KillRemaining();
            }
            heartbeatStop.Cancel();
            await heartbeat;
            await recovery;
            await counting;
            await retention;
            await indexUpkeep;
            index.Unsubscribe(signal);
            _group.Leave(Id);
            _counters.Flush(_time.UtcNow(), final: true);
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
        WorkerRecovery.RemoveStaging(_home, Id);
        Log("stopped");
    }

    private async Task Loop(JobIndex index, SemaphoreSlim signal, CancellationToken graceful, CancellationToken abort)
    {
        var claims = new ClaimAndRun(_home, Id, _settings, _attempts, _admission, _time, Log);
        while (!graceful.IsCancellationRequested)
        {
            try
            {
                var now = _time.UtcNow();
                index.RequestRescanEvery(Timing.SafetyPoll, now); // once per period for the whole process
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
                _admission.RetryReleases();
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
                    await index.WaitAsync(signal, Timing.PausePoll, graceful);
                    continue;
                }
                claims.SettleInvalid(index, now, abort);

                if (_registration.Fenced(out _))
                {
                    // Not renewed for half a lease: another worker may soon judge this one dead. Claim
                    // nothing until the registration is renewed again.
                    await index.WaitAsync(signal, Timing.FencedRetry, graceful);
                    continue;
                }

                var candidate = index.TakeNext(now, _admission.Admit);
                var slot = _admission.TakeAdmitted();
                if (candidate is null)
                {
                    var due = index.NextDue();
                    var wait = due is { } at ? at - _time.UtcNow() : Timing.SafetyPoll;
                    wait = _lateFinishes.Any && wait > Timing.FencedRetry ? Timing.FencedRetry : wait;
                    TurnWorked();
                    await index.WaitAsync(signal, wait < Timing.SafetyPoll ? wait : Timing.SafetyPoll, graceful);
                    continue;
                }

                claims.Run(candidate, slot, abort);
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
                if (_loopTrouble.Occurred(_time.UtcNow(), out var lasting))
                {
                    Log($"{kind}, retrying every {Timing.SafetyPoll.TotalSeconds:0} s{lasting}: {e.Message}");
                }
                _checkOwnFolder = true;
                index.RequestRescan(restartWatchers: true);
                await index.WaitAsync(signal, Timing.SafetyPoll, graceful);
            }
        }
    }

    /// <summary>A turn of the loop went through without an error: after a run of errors, say so once.</summary>
    private void TurnWorked()
    {
        if (_loopTrouble.Cleared(_time.UtcNow()) is { } lasted)
        {
            Log($"working again after {lasted.TotalSeconds:0} s of errors");
        }
    }

    /// <summary>Writes a line to the worker's log; a log that cannot be written (a read-only disk) never stops the worker.</summary>
    private void Log(string message) => WorkerLog.WriteLine(_log, $"{Id} {message}", _time);
}
