using System.Collections.Concurrent;
using System.Text.Json;
using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Retries;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>A dead worker's job file taken aside by a recoverer, with the cancel request it had, if any.</summary>
internal sealed record TakenJob(string Path, string? Cancel);

/// <summary>What recovery did with one job.</summary>
/// <param name="Final">The job as it now rests, when recovery finished it (its finish hook runs for it).</param>
internal sealed record RecoveredJob(string JobId, string FromWorker, string State, string Reason, string Queue = Job.DefaultQueue, Job? Final = null);

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
    /// Finishes every job file in one worker's own processing folder, in place, as a failed
    /// attempt with <paramref name="reason"/> (a worker's own folder after a claim error).
    /// </summary>
    public static List<RecoveredJob> RecoverFolder(QueueHome home, string workerId, string reason, Settings settings, DateTime now) =>
        RecoverTaken(home, JobsIn(home, workerId).ToList(), workerId, reason, settings, now);

    /// <summary>
    /// Step 1 of recovering another (dead) worker's folder: takes each file into
    /// <paramref name="taker"/>'s folder with the claim's plain rename, so of several recoverers
    /// one wins, and from then on the dead worker's own finish finds its file gone (a late finish,
    /// never a commit). Its attempts are killed after this and before <see cref="RecoverTaken"/>.
    /// </summary>
    public static List<TakenJob> TakeFolder(QueueHome home, string workerId, string taker)
    {
        var taken = new List<TakenJob>();
        foreach (var found in JobsIn(home, workerId))
        {
            var path = Path.Combine(home.ProcessingFolder(taker), Path.GetFileName(found.Path));
            if (JobMoves.Move(JobMove.Take, found.Path, path) != MoveResult.Moved && !File.Exists(path))
            {
                continue; // RACE: another recoverer took it first.
            }
            taken.Add(found with { Path = path });
        }
        return taken;
    }

    /// <summary>
    /// The job files in a worker's folder, each with its cancel request (ARCHITECTURE.md,
    /// "Cancel, remove, retry"): a cancelled job ends dead, not retried.
    /// </summary>
    private static IEnumerable<TakenJob> JobsIn(QueueHome home, string workerId) =>
        SafeFiles(home.ProcessingFolder(workerId))
            .Select(found => new TakenJob(found, CancelRequests.Read(home, workerId, Path.GetFileNameWithoutExtension(found))));

    /// <summary>When the attempts could not be killed: the taken files go back to the dead worker's folder for the next round.</summary>
    public static void PutBack(QueueHome home, IEnumerable<TakenJob> taken, string workerId)
    {
        foreach (var job in taken)
        {
            PutBack(home, job.Path, workerId);
        }
    }

    /// <summary>One taken file back into the dead worker's folder, for the next round.</summary>
    private static void PutBack(QueueHome home, string path, string workerId) =>
        // RACE: a name taken (or the folder gone) meanwhile leaves the file in the taker's folder, which recovery moves on.
        JobMoves.Move(JobMove.Place, path, Path.Combine(home.ProcessingFolder(workerId), Path.GetFileName(path)));

    /// <summary>Step 2: each taken file counts a failed attempt, goes back to pending/ unchanged, or finishes its move.</summary>
    public static List<RecoveredJob> RecoverTaken(QueueHome home, IEnumerable<TakenJob> taken, string workerId, string reason, Settings settings, DateTime now)
    {
        var recovered = new List<RecoveredJob>();
        foreach (var job in taken)
        {
            var done = RecoverFile(home, job.Path, workerId, reason, settings, now, job.Cancel);
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
                return ReturnToPending(home, path, Path.GetFileNameWithoutExtension(path), workerId, now);
            }
            Rejection.Reject(home, path, $"Found corrupt in processing/{workerId}/ during recovery: {e.Message}", now);
            return new RecoveredJob(Path.GetFileNameWithoutExtension(path), workerId, "rejected", reason);
        }

        if (cancel is not null && job.State is JobState.Pending or JobState.Processing)
        {
            // Cancelled while it ran (or between its claim and its start): dead, whatever retries are left.
            var cancelled = job.State == JobState.Pending
                ? Transitions.Cancelled(job, cancel, now)
                : Transitions.CancelledRun(job, new AttemptResult(null, reason, job.StartedAt ?? now, now),
                    $"{cancel}; its worker {workerId} died before it ended ({reason})", workerId, settings);
            return ClaimedJob.FinishFile(home, path, cancelled, now) == FinishOutcome.Finished
                ? new RecoveredJob(job.Id, workerId, JobState.Dead, cancel, job.QueueName, cancelled)
                : null;
        }

        if (job.State == JobState.Pending)
        {
            // A claim that never started (the worker died between the rename and the rewrite), or
            // a resting job borrowed to note a fenced attempt (FencedAttempts): back to pending/ unchanged.
            return ReturnToPending(home, path, job.Id, workerId, now);
        }

        if (job.State is JobState.Completed or JobState.Failed or JobState.Dead)
        {
            // The worker had written the final state and died before the rename: finish its move.
            return ClaimedJob.MoveToState(home, path, job, now) == FinishOutcome.Finished
                ? new RecoveredJob(job.Id, workerId, job.State, "finished before the worker died", job.QueueName, job)
                : null;
        }

        var result = new AttemptResult(null, reason, job.StartedAt ?? now, now);
        var final = Transitions.Finished(job, result, workerId, settings);
        return ClaimedJob.FinishFile(home, path, final, now) == FinishOutcome.Finished
            ? new RecoveredJob(job.Id, workerId, final.State, reason, job.QueueName, final)
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

    /// <summary>When this process first found each pending/ name taken for a job it recovers.</summary>
    private static readonly ConcurrentDictionary<string, DateTime> NameTakenSince = new(StringComparer.Ordinal);

    private static RecoveredJob? ReturnToPending(QueueHome home, string path, string id, string workerId, DateTime now)
    {
        var destination = Path.Combine(home.StateFolder(JobState.Pending), Path.GetFileName(path));
        switch (JobMoves.Move(JobMove.Place, path, destination))
        {
            case MoveResult.Moved:
                NameTakenSince.TryRemove(destination, out _);
                return new RecoveredJob(id, workerId, JobState.Pending, "claimed but never started");
            case MoveResult.SourceMissing:
                return null; // RACE: another recoverer took it.
        }
        // The name is taken in pending/: by a new file of that name, or only in this client's cache.
        // A FUSE client (GlusterFS) keeps the entry of the very file the dead worker claimed from
        // there for a while after another host renamed it away, and the kernel refuses a no-replace
        // rename onto a cached entry without asking the server. So the file goes back to the dead
        // worker's folder and the next round tries again; only a name taken for a minute rejects it.
        var since = NameTakenSince.GetOrAdd(destination, now);
        if (now - since < Timing.NameTakenPatience)
        {
            PutBack(home, path, workerId);
            return null;
        }
        NameTakenSince.TryRemove(destination, out _);
        Rejection.Reject(home, path, $"Could not return to pending/: a file named {Path.GetFileName(path)} is already there.", now);
        return new RecoveredJob(id, workerId, "rejected", "claimed but never started; its name was taken in pending/");
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
