using System.Text.Json;
using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Retries;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>What recovery did with one job.</summary>
internal sealed record RecoveredJob(string JobId, string FromWorker, string State, string Reason, string Queue = Job.DefaultQueue);

/// <summary>
/// Returns the jobs of dead workers: each counts as a failed attempt with last_error naming the
/// worker, then retries with backoff or goes dead. A file whose state already names a finished
/// state (a crash between the rewrite and the rename of a finish) is only moved, not re-run.
/// Safe to run from several processes at once: every step is a rename that only one can win.
/// </summary>
internal static class Recovery
{

    public static List<RecoveredJob> RecoverDeadWorkers(QueueHome home, Settings settings, string? selfId, DateTime now)
    {
        var registry = new WorkerRegistry(home);
        var recovered = new List<RecoveredJob>();
        var live = new HashSet<string>(StringComparer.Ordinal);
        var dead = new Dictionary<string, string>(StringComparer.Ordinal);
        var liveness = registry.Judge(settings);
        foreach (var record in registry.ReadAll())
        {
            var reason = record.Id == selfId ? null : liveness.DeathReason(record);
            if (reason is null)
            {
                live.Add(record.Id);
            }
            else
            {
                dead[record.Id] = reason;
            }
        }

        var processing = home.StateFolder(JobState.Processing);
        var folders = Directory.Exists(processing) ? Directory.GetDirectories(processing) : [];
        // A recoverer first takes each file into a folder of its own, with the same single rename
        // as a claim: of several recoverers (every worker runs recovery) exactly one gets it, also
        // where the file system has no RENAME_EXCHANGE to fence the rewrite (GlusterFS).
        var taker = selfId ?? $"recover-{WorkerId.Host}-{Environment.ProcessId}";
        foreach (var folder in folders)
        {
            var workerId = Path.GetFileName(folder);
            if (workerId == selfId || live.Contains(workerId) || File.Exists(registry.PathOf(workerId)) && !dead.ContainsKey(workerId))
            {
                continue; // alive, or registered between our listing and now
            }
            var reason = dead.GetValueOrDefault(workerId) ?? $"worker {workerId} died (not registered)";
            // Never twice at once: what is left on this host of the dead (or frozen) worker's runs
            // dies before its jobs can run again. Its guard normally killed them already; on another
            // host the worker's own fence did (ARCHITECTURE.md, "Liveness and fencing").
            if (!JobProcesses.KillAll(workerId, null, Timing.RecoveryKillWait))
            {
                continue; // a process that does not die (uninterruptible sleep): its jobs wait for the next round
            }
            Directory.CreateDirectory(home.ProcessingFolder(taker));
            recovered.AddRange(RecoverFolder(home, workerId, reason, settings, now, taker));
            try
            {
                Directory.Delete(folder);
            }
            catch (IOException)
            {
                // RACE: not empty (a file arrived or could not be moved) or already gone: next round.
            }
            RemoveStaging(home, workerId);
        }
        if (selfId is null)
        {
            try
            {
                Directory.Delete(home.ProcessingFolder(taker));
            }
            catch (IOException)
            {
                // Never made (nothing to recover), or a file could not be moved on: the next recovery finishes it.
            }
        }
        foreach (var workerId in dead.Keys)
        {
            if (!Directory.Exists(home.ProcessingFolder(workerId)))
            {
                registry.Remove(workerId);
                RemoveStaging(home, workerId);
            }
        }
        return recovered;
    }

    /// <summary>
    /// Deletes a worker's staging folder tmp/&lt;workerId&gt;/ and what a crash left in it: staged
    /// copies that were never renamed into place, or old contents left by an exchange. Never a job.
    /// </summary>
    public static void RemoveStaging(QueueHome home, string workerId)
    {
        try
        {
            Directory.Delete(home.StagingOf(workerId), recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // RACE: already gone, or the worker staged a file again (it was only cut off): next round.
        }
    }

    /// <summary>
    /// Finishes every job file in one worker's processing folder as a failed attempt with
    /// <paramref name="reason"/>, each first taken into <paramref name="taker"/>'s folder when
    /// given (recovery of another worker), or in place (a worker's own folder).
    /// </summary>
    public static List<RecoveredJob> RecoverFolder(QueueHome home, string workerId, string reason, Settings settings, DateTime now, string? taker = null)
    {
        var recovered = new List<RecoveredJob>();
        foreach (var found in SafeFiles(home.ProcessingFolder(workerId)))
        {
            var path = found;
            // A cancel request for this job (ARCHITECTURE.md, "Cancel"): it ends dead, not retried.
            var cancel = CancelRequests.Read(home, workerId, Path.GetFileNameWithoutExtension(found));
            if (taker is not null && taker != workerId)
            {
                path = Path.Combine(home.ProcessingFolder(taker), Path.GetFileName(found));
                if (Native.Move(found, path, noReplace: false) != MoveResult.Moved && !File.Exists(path))
                {
                    continue; // RACE: another recoverer took it first.
                }
            }
            var done = RecoverFile(home, path, workerId, reason, settings, now, cancel);
            if (done is not null)
            {
                recovered.Add(done);
            }
        }
        CancelRequests.RemoveStray(home, workerId);
        return recovered;
    }

    private static RecoveredJob? RecoverFile(QueueHome home, string path, string workerId, string reason, Settings settings, DateTime now, string? cancel)
    {
        Job job;
        byte[] bytes = [];
        try
        {
            bytes = RegularFile.ReadAllBytes(path);
            job = JobJson.Deserialize(bytes);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null; // RACE: another recoverer took it.
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotRegularFileException)
        {
            if (IsDroppedJob(path, bytes))
            {
                // Claimed from pending/ and the worker died before it rewrote the file: it never ran.
                return ReturnToPending(home, path, Path.GetFileNameWithoutExtension(path), workerId);
            }
            Rejection.Reject(home, path, $"Found corrupt in processing/{workerId}/ during recovery: {e.Message}");
            return new RecoveredJob(Path.GetFileNameWithoutExtension(path), workerId, "rejected", reason);
        }

        if (cancel is not null && job.State is JobState.Pending or JobState.Processing)
        {
            // Cancelled while it ran (or between its claim and its start): dead, whatever retries are left.
            var cancelled = job.State == JobState.Pending
                ? Transitions.Cancelled(job, cancel, now)
                : Transitions.CancelledRun(job, new AttemptResult(null, reason, job.StartedAt ?? now, now),
                    $"{cancel}; its worker {workerId} died before it ended ({reason})", workerId, settings);
            return ClaimedJob.FinishFile(home, path, cancelled) == FinishOutcome.Finished
                ? new RecoveredJob(job.Id, workerId, JobState.Dead, cancel, job.QueueName)
                : null;
        }

        if (job.State == JobState.Pending)
        {
            // A claim that never started (the worker died between the rename and the rewrite), or
            // a resting job borrowed to note a fenced run (FencedRuns): back to pending/ unchanged.
            return ReturnToPending(home, path, job.Id, workerId);
        }

        if (job.State is JobState.Completed or JobState.Failed or JobState.Dead)
        {
            // The worker had written the final state and died before the rename: finish its move.
            return ClaimedJob.MoveToState(home, path, job) == FinishOutcome.Finished
                ? new RecoveredJob(job.Id, workerId, job.State, "finished before the worker died", job.QueueName)
                : null;
        }

        var result = new AttemptResult(null, reason, job.StartedAt ?? now, now);
        var final = Transitions.Finished(job, result, workerId, settings);
        return ClaimedJob.FinishFile(home, path, final) == FinishOutcome.Finished
            ? new RecoveredJob(job.Id, workerId, final.State, reason, job.QueueName)
            : null;
    }

    /// <summary>A file as dropped into pending/ (only `command` required): valid, but not yet normalised by a claim.</summary>
    private static bool IsDroppedJob(string path, byte[] bytes)
    {
        try
        {
            JobParser.Parse(bytes, new JobDefaults(0, null, DateTime.UtcNow), Path.GetFileNameWithoutExtension(path));
            return true;
        }
        catch (Failure)
        {
            return false;
        }
    }

    private static RecoveredJob? ReturnToPending(QueueHome home, string path, string id, string workerId)
    {
        var destination = Path.Combine(home.StateFolder(JobState.Pending), Path.GetFileName(path));
        switch (Native.Move(path, destination, noReplace: true))
        {
            case MoveResult.Moved:
                return new RecoveredJob(id, workerId, JobState.Pending, "claimed but never started");
            case MoveResult.SourceMissing:
                return null; // RACE: another recoverer took it.
            default:
                Rejection.Reject(home, path, $"Could not return to pending/: a file named {Path.GetFileName(path)} is already there.");
                return new RecoveredJob(id, workerId, "rejected", "claimed but never started; its name was taken in pending/");
        }
    }

    private static IEnumerable<string> SafeFiles(string folder)
    {
        try
        {
            return Directory.GetFiles(folder).Where(p => QueueHome.IsJobFileName(Path.GetFileName(p)));
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }
}
