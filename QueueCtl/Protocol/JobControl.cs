using QueueCtl.Retries;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

internal enum TakeOutcome
{
    Done,
    /// <summary>The file moved before it could be taken (a worker claimed it, another command took it): look again.</summary>
    Moved,
}

/// <summary>
/// `cancel` and `remove` of a job that is not running. Each first takes the job file into a
/// folder of its own with one plain rename, exactly like a claim: a worker claiming the same file
/// at the same moment either gets the job (the rename here finds nothing, and the caller looks
/// again) or does not — never half. ARCHITECTURE.md, "Cancel, remove, retry".
/// </summary>
internal static class JobControl
{
    /// <summary>
    /// Moves a pending, scheduled or failed job to dead/ with <paramref name="reason"/>, through
    /// processing/cancel-&lt;host&gt;-&lt;pid&gt;/: a crash there leaves an unregistered processing
    /// folder, which recovery treats as a dead worker's (a file still saying pending or failed goes
    /// back unchanged; one already saying dead finishes its move).
    /// </summary>
    /// <param name="cancelled">Called with the job as it rests in dead/ (its finish hook runs for it).</param>
    public static TakeOutcome CancelResting(QueueHome home, StoredJob stored, string reason, DateTime now, Action<Jobs.Job>? cancelled = null)
    {
        var folder = home.ProcessingFolder($"cancel-{Environment.MachineName}-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            var taken = Path.Combine(folder, stored.Id + ".json");
            if (JobMoves.Move(JobMove.Take, stored.Path, taken) != MoveResult.Moved)
            {
                return TakeOutcome.Moved; // RACE: a worker claimed it (or another cancel took it) first.
            }
            var read = new JobStore(home).ReadFile(stored.State, taken);
            if (read?.Job is not { } job)
            {
                // Not a valid job (a dropped file a worker would reject): put it back untouched.
                JobMoves.Move(JobMove.Place, taken, stored.Path);
                throw Failure.Operation($"Job '{stored.Id}' is not a valid job file ({read?.Error ?? "unreadable"}); nothing was changed.");
            }
            var final = Transitions.Cancelled(job with { Id = stored.Id }, reason, now);
            var outcome = ClaimedJob.FinishFile(home, taken, final, now);
            if (outcome == FinishOutcome.Finished)
            {
                cancelled?.Invoke(final);
            }
            return outcome switch
            {
                FinishOutcome.Finished => TakeOutcome.Done,
                FinishOutcome.Fenced => TakeOutcome.Moved, // RACE: a worker's recovery took it out of our folder: look again.
                _ => throw Failure.Operation($"Job '{stored.Id}' could not be moved to dead/ (a job with that id is already there); it went to rejected/."),
            };
        }
        finally
        {
            try
            {
                Directory.Delete(folder);
            }
            catch (IOException)
            {
                // RACE: another cancel of this process's folder is impossible; a file left here means a
                // failed step above, and recovery returns it.
            }
        }
    }

    /// <summary>
    /// Deletes a job that is not running, and its logs: the file is first renamed into
    /// tmp/remove-&lt;pid&gt;/ (never read as a job), then deleted.
    /// </summary>
    public static TakeOutcome Remove(QueueHome home, StoredJob stored)
    {
        var folder = Path.Combine(home.Tmp, $"remove-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            var taken = Path.Combine(folder, Path.GetFileName(stored.Path));
            if (JobMoves.Move(JobMove.Discard, stored.Path, taken) != MoveResult.Moved)
            {
                return TakeOutcome.Moved; // RACE: a worker claimed it (or another command took it) first.
            }
            File.Delete(taken);
            try
            {
                Directory.Delete(Path.Combine(home.Logs, stored.Id), recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
                // A job that never ran has no logs.
            }
            return TakeOutcome.Done;
        }
        finally
        {
            try
            {
                Directory.Delete(folder);
            }
            catch (IOException)
            {
                // Not empty only after a failed delete above, which was reported.
            }
        }
    }
}
