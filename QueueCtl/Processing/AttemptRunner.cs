using Polly;
using Polly.Retry;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Retries;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// One attempt of a claimed job: run it (CommandRunner), choose its next state, and finish it
/// (ClaimedJob.Finish), retrying the finish until the disk takes it. The running attempt can be
/// stopped from the heartbeat: by the fence (<see cref="CheckFence"/>) or a cancel request
/// (<see cref="CheckCancel"/>).
/// </summary>
internal sealed class AttemptRunner(QueueHome home, string id, SettingsWatcher settings, Registration registration, LateFinishes lateFinishes, Action<string> log, TimeProvider time)
{
    private readonly RepeatedFailure _finishTrouble = new();
    private ResiliencePipeline? _ioRetry;
    private RunStopper? _running;

    /// <summary>Finish hooks (on-finish), started after a finish has committed.</summary>
    public FinishHooks Hooks { get; } = new(home, settings, log, time);

    /// <summary>Where finished attempts are counted (jobs completed, failed, dead).</summary>
    public WorkerCounters? Counters { get; init; }

    /// <summary>
    /// Finishing a job must not give up on a transient I/O error (a full disk, a read-only remount,
    /// a network file system hiccup): the result is kept in memory and written once the disk
    /// takes it, until an abort leaves the job to recovery.
    /// </summary>
    private ResiliencePipeline IoRetry => _ioRetry ??= new ResiliencePipelineBuilder { TimeProvider = time }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<IOException>().Handle<UnauthorizedAccessException>(),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            Delay = Timing.FinishRetryFirst,
            MaxDelay = Timing.FinishRetryMax,
            UseJitter = true,
            OnRetry = args =>
            {
                if (_finishTrouble.Occurred(time.UtcNow(), out var lasting))
                {
                    log($"could not record the result yet (retry {args.AttemptNumber + 1} in {args.RetryDelay.TotalSeconds:0.0} s){lasting}: {args.Outcome.Exception?.Message}");
                }
                return default;
            },
        })
        .Build();

    public void Run(ClaimedJob claimed, CancellationToken abort)
    {
        var job = claimed.Job;
        if (CancelRequests.Read(home, id, job.Id) is { } early)
        {
            FinishCancelledBeforeStart(claimed, early, abort);
            return;
        }
        registration.Set("busy", job.Id, log);
        log($"running {job.Id} (attempt {job.Attempts + 1} of {job.MaxRetries + 1}): {job.Command}");
        var current = settings.Current;
        var timeoutSeconds = job.TimeoutSeconds ?? (current.JobTimeoutSeconds > 0 ? current.JobTimeoutSeconds : null);
        // The parser and config refuse more than the maximum; a file written by hand into failed/ is not parsed.
        timeoutSeconds = timeoutSeconds is { } t ? Math.Clamp(t, 0.001, JobLimits.MaxTimeoutSeconds) : null;
        AttemptResult result;
        using (var stopper = new RunStopper())
        {
            Volatile.Write(ref _running, stopper);
            try
            {
                result = CommandRunner.Run(home, job, id, time, timeoutSeconds is { } s ? TimeSpan.FromSeconds(s) : null, current.LogMaxBytes, abort, registration.Guard, stopper);
            }
            finally
            {
                Volatile.Write(ref _running, null);
            }
        }
        if (result.ExitCode == 128 + 9 && !Registration.IsFenceReason(result.Error) && registration.Fenced(out var since))
        {
            // The guard was first to kill the attempt for the same reason (it does not wait for a heartbeat).
            result = result with { Error = registration.FenceReason(since) };
        }

        // A cancel request (ARCHITECTURE.md, "Cancel, remove, retry"): the attempt was killed for it, so the job goes dead, not failed.
        var final = !result.Succeeded && CancelRequests.Read(home, id, job.Id) is { } cancelled
            ? Transitions.CancelledRun(job, result, $"{cancelled}; its processes were killed while it ran on worker {id}", id, settings.Current)
            : Transitions.Finished(job, result, id, settings.Current);
        var outcome = IoRetry.Execute(_ => claimed.Finish(final, time.UtcNow()), abort);
        CancelRequests.Remove(home, id, job.Id);
        if (_finishTrouble.Cleared(time.UtcNow()) is { } tried)
        {
            log($"the file system answered again for {job.Id} after {tried.TotalSeconds:0} s of retries");
        }
        var detail = final.State switch
        {
            JobState.Completed => "completed",
            JobState.Failed => $"failed ({final.LastError}); retry at {UtcTimestamp.ToText(final.NotBefore!.Value)}",
            _ => $"dead after {final.Attempts} attempt{(final.Attempts == 1 ? "" : "s")} ({final.LastError})",
        };
        if (outcome == FinishOutcome.Finished)
        {
            Counters?.Add(final.QueueName, final.State, final.History?.LastOrDefault()?.DurationSeconds);
        }
        if (outcome == FinishOutcome.Fenced)
        {
            lateFinishes.Add(job, result, final.State); // noted in the job's history by the loop, once the job rests
        }
        if (outcome == FinishOutcome.Finished)
        {
            Hooks.Start(final);
        }
        log(outcome switch
        {
            FinishOutcome.Finished => $"{job.Id} {detail}",
            FinishOutcome.Fenced => $"{job.Id} was taken back by recovery while it ran; its newer state was left alone (this attempt: {detail})",
            _ => $"{job.Id} could not be moved to {final.State}/ (id taken); moved to rejected/",
        });
        registration.Set("idle", null, log);
    }

    /// <summary>At each heartbeat: an attempt whose registration is older than the fence is killed before another worker may judge this one dead.</summary>
    public void CheckFence()
    {
        if (registration.Fenced(out var since) && Volatile.Read(ref _running) is { } run && run.Reason is null)
        {
            var reason = registration.FenceReason(since);
            run.Stop(reason); // first: the log may be on the file system that hangs
            log($"{registration.CurrentJob}: {reason}");
        }
    }

    /// <summary>
    /// At each heartbeat: a cancel request for the running job stops it (the way a `cancel` on
    /// another host reaches it; on this host `cancel` has already killed its processes), and
    /// requests for jobs no longer here are removed.
    /// </summary>
    public void CheckCancel()
    {
        try
        {
            if (Volatile.Read(ref _running) is { } run && run.Reason is null && registration.CurrentJob is { } job
                && CancelRequests.Read(home, id, job) is { } reason)
            {
                run.Stop(reason);
                log($"{job}: stopping the attempt for a cancel request");
            }
            CancelRequests.RemoveStray(home, id);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The file system hiccups: the next heartbeat looks again (the fence handles a lasting outage).
        }
    }

    /// <summary>
    /// A job whose parent ended dead, was cancelled or is gone (enqueue --after), or whose parents
    /// wait for it (a cycle of dropped files; <paramref name="why"/> is the index's reason): it goes
    /// dead without running, last_error naming the parent or the cycle. Its parents are looked at
    /// again after the claim: a parent brought back meanwhile (dlq retry) sends it back to wait.
    /// </summary>
    public void FinishWithoutRunning(ClaimedJob claimed, string why, CancellationToken abort)
    {
        var job = claimed.Job;
        var check = Dependencies.Check(home, job.After);
        if (check.Outcome == ParentsOutcome.Waiting && Dependencies.WaitsForItself(home, job) is not null)
        {
            check = new ParentsCheck(ParentsOutcome.Doomed, check.Parent, why);
        }
        if (check.Outcome != ParentsOutcome.Doomed)
        {
            var back = job with { State = JobState.Pending, WorkerId = null, StartedAt = null };
            IoRetry.Execute(_ => ClaimedJob.FinishFile(home, claimed.Path, back, time.UtcNow()), abort);
            log($"{job.Id}: its parents are not dead any more; back to pending/");
            return;
        }
        var final = Transitions.Cancelled(job, check.Reason!, time.UtcNow());
        var outcome = IoRetry.Execute(_ => claimed.Finish(final, time.UtcNow()), abort);
        log($"{job.Id} {(outcome == FinishOutcome.Finished ? "dead" : outcome.ToString().ToLowerInvariant())} without running: {check.Reason}");
        if (outcome == FinishOutcome.Finished)
        {
            Counters?.Add(final.QueueName, final.State);
            Hooks.Start(final);
        }
    }

    /// <summary>A cancel request came between the claim and the start: the job goes dead without running.</summary>
    private void FinishCancelledBeforeStart(ClaimedJob claimed, string reason, CancellationToken abort)
    {
        var final = Transitions.Cancelled(claimed.Job, reason, time.UtcNow());
        var outcome = IoRetry.Execute(_ => claimed.Finish(final, time.UtcNow()), abort);
        CancelRequests.Remove(home, id, claimed.Job.Id);
        if (outcome == FinishOutcome.Finished)
        {
            Counters?.Add(final.QueueName, final.State);
        }
        log($"{claimed.Job.Id} {(outcome == FinishOutcome.Finished ? "dead" : outcome.ToString().ToLowerInvariant())} before it started ({reason})");
        if (outcome == FinishOutcome.Finished)
        {
            Hooks.Start(final);
        }
    }
}
