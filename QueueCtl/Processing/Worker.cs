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

    private readonly WorkerRegistry _registry = new(home);
    private readonly SettingsWatcher _settings = new(home);
    private readonly DateTime _startedAt = UtcTimestamp.Truncate(DateTime.UtcNow);
    private readonly object _recordLock = new();
    private string _state = "idle";
    private string? _currentJob;

    public string Id { get; } = id;

    public async Task RunAsync(CancellationToken graceful, CancellationToken abort)
    {
        home.EnsureCreated();
        WriteRecord();
        Directory.CreateDirectory(home.ProcessingFolder(Id));
        Log($"started (pid {Environment.ProcessId}, host {WorkerId.Host})");

        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        using var index = new JobIndex(home);
        var heartbeat = HeartbeatLoop(index, heartbeatStop.Token);
        try
        {
            await Loop(index, graceful, abort);
        }
        finally
        {
            heartbeatStop.Cancel();
            await heartbeat;
        }

        abort.ThrowIfCancellationRequested();
        SetState("stopping", null);
        try
        {
            Directory.Delete(home.ProcessingFolder(Id));
        }
        catch (IOException e)
        {
            Log($"left processing/{Id}/ in place: {e.Message}");
        }
        _registry.Remove(Id);
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
                index.Refresh();
                foreach (var (path, state) in index.TakeSettledInvalid(now))
                {
                    RejectInvalid(claimer, path, state);
                }

                var candidate = index.TakeNext(now);
                if (candidate is null)
                {
                    var due = index.NextDue();
                    var wait = due is { } at ? at - DateTime.UtcNow : SafetyPoll;
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
                    await Run(job, abort);
                }
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The home is unreadable or a folder vanished: keep every job where it is and try again later.
                Log($"I/O error, retrying in {SafetyPoll.TotalSeconds:0} s: {e.Message}");
                index.RequestRescan();
                await index.WaitAsync(SafetyPoll, graceful);
            }
        }
    }

    private void RejectInvalid(Claimer claimer, string path, string state)
    {
        // Claim first, so that only one worker quarantines it; the claim's parse rejects it.
        var claim = claimer.TryClaim(path, state, _settings.Current, DateTime.UtcNow);
        if (claim.Outcome == ClaimOutcome.Rejected)
        {
            Log($"rejected {Path.GetFileName(path)}: {claim.Reason}");
        }
        else if (claim.Job is not null)
        {
            // It became valid at the last moment: put it back where it came from.
            Native.Move(claim.Job.Path, home.JobPath(state, claim.Job.Job.Id), noReplace: true);
        }
    }

    private async Task Run(ClaimedJob claimed, CancellationToken abort)
    {
        var job = claimed.Job;
        var attempt = job.Attempts + 1;
        SetState("busy", job.Id);
        Log($"running {job.Id} (attempt {attempt} of {job.MaxRetries + 1}): {job.Command}");
        var settings = _settings.Current;
        var timeoutSeconds = job.TimeoutSeconds ?? (settings.JobTimeoutSeconds > 0 ? settings.JobTimeoutSeconds : null);
        var result = await CommandRunner.RunAsync(home, job, timeoutSeconds is { } s ? TimeSpan.FromSeconds(s) : null, abort);

        var final = Transitions.Finished(job, result, Id, _settings.Current);
        var outcome = claimed.Finish(final);
        var detail = final.State switch
        {
            JobState.Completed => "completed",
            JobState.Failed => $"failed ({final.LastError}); retry at {UtcTimestamp.ToText(final.NotBefore!.Value)}",
            _ => $"dead after {final.Attempts} attempt{(final.Attempts == 1 ? "" : "s")} ({final.LastError})",
        };
        Log(outcome switch
        {
            FinishOutcome.Finished => $"{job.Id} {detail}",
            FinishOutcome.Fenced => $"{job.Id} was taken back by recovery while it ran; its newer state was left alone (this run: {detail})",
            _ => $"{job.Id} could not be moved to {final.State}/ (id taken); moved to rejected/",
        });
        SetState("idle", null);
    }

    private async Task HeartbeatLoop(JobIndex index, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var settings = _settings.Current;
            var interval = TimeSpan.FromSeconds(Math.Clamp(settings.WorkerLeaseSeconds / 3, 0.2, 5));
            try
            {
                await Task.Delay(interval, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                WriteRecord();
                var recovered = Recovery.RecoverDeadWorkers(home, settings, Id, DateTime.UtcNow);
                foreach (var job in recovered)
                {
                    Log($"recovered {job.JobId} from {job.FromWorker}: now {job.State} ({job.Reason})");
                }
                if (recovered.Count > 0)
                {
                    index.Wake();
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log($"heartbeat failed: {e.Message}");
            }
        }
    }

    private void SetState(string state, string? job)
    {
        lock (_recordLock)
        {
            _state = state;
            _currentJob = job;
        }
        try
        {
            WriteRecord();
        }
        catch (IOException e)
        {
            Log($"could not update workers/{Id}.json: {e.Message}");
        }
    }

    private void WriteRecord()
    {
        lock (_recordLock)
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
    }

    private void Log(string message)
    {
        lock (log)
        {
            log.WriteLine($"{UtcTimestamp.ToText(DateTime.UtcNow)} {Id} {message}");
            log.Flush();
        }
    }
}
