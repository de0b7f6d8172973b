using System.Text.Json;
using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Retries;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>What recovery did with one job.</summary>
internal sealed record RecoveredJob(string JobId, string FromWorker, string State, string Reason, string Queue = Job.DefaultQueue);

/// <summary>
/// Moves on the job files of a dead worker's folder (Processing/WorkerRecovery judges which
/// workers are dead): each counts as a failed attempt with last_error naming the worker, then
/// retries with backoff or goes dead. A file whose state already names a finished state (a crash
/// between the rewrite and the rename of a finish) is only moved, not re-run; one still saying
/// pending goes back to pending/ unchanged. Safe to run from several processes at once: every
/// step is a rename that only one can win.
/// </summary>
internal static class Recovery
{
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
                if (JobMoves.Move(JobMove.Take, found, path) != MoveResult.Moved && !File.Exists(path))
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
            bytes = JobReader.ReadBytes(path, JobState.Processing);
            job = JobJson.Deserialize(bytes);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null; // RACE: another recoverer took it.
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotRegularFileException)
        {
            if (IsDroppedJob(path, bytes, now))
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
    private static bool IsDroppedJob(string path, byte[] bytes, DateTime now)
    {
        try
        {
            JobReader.ParseDropped(bytes, path, now);
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
        switch (JobMoves.Move(JobMove.Place, path, destination))
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
