using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Retries;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/*
 * The claim and finish, step by step (Protocol.cs states the whole protocol; ARCHITECTURE.md has the crash table):
 *  1. Claim: rename(pending/<name> or failed/<id>.json -> processing/<worker>/<name>). The rename is
 *     the commit: of two workers renaming the same file, exactly one succeeds, the other gets ENOENT.
 *     It is a plain rename: the link + unlink fallback of a no-replace move would let two win.
 *  2. The claimed file is read and validated; a dropped file gets its defaults and the name <id>.json.
 *  3. Its state is rewritten in place (state processing, worker_id, started_at): a copy in tmp/,
 *     fsync of that copy, exchange. The folder is not fsync'd: a lost exchange leaves the old file
 *     (state pending) in the worker's folder, which recovery returns to pending/; the copy's fsync
 *     is what keeps a power cut from leaving an empty file under the job's name instead.
 *  4. Finish: rewrite in place with the final state, then rename into completed/, failed/ or dead/
 *     without replace. A crash between leaves a file whose state names its destination; recovery
 *     completes the move without running the job again.
 *  5. A rewrite uses RENAME_EXCHANGE, so it fails instead of re-creating a file that recovery moved
 *     away meanwhile (fencing): the newer owner's state is never overwritten.
 */

internal enum ClaimOutcome
{
    Claimed,
    /// <summary>Another worker renamed the file first (or it vanished): a normal outcome.</summary>
    Lost,
    /// <summary>The file was not a valid job and went to rejected/.</summary>
    Rejected,
}

internal sealed record ClaimResult(ClaimOutcome Outcome, ClaimedJob? Job, string? Reason = null);

/// <summary>Takes jobs into one worker's processing folder.</summary>
internal sealed class Claimer(QueueHome home, string workerId)
{
    public string Folder { get; } = home.ProcessingFolder(workerId);

    public ClaimResult TryClaim(string sourcePath, string sourceState, Settings settings, DateTime now)
    {
        var name = Path.GetFileName(sourcePath);
        var claimedPath = Path.Combine(Folder, name);
        // A plain rename(2), never the no-replace fallback (link + unlink): link leaves the source in
        // place, so two workers could each link it into their own folder. rename removes the source
        // atomically, which is the whole claim; the destination is our own folder, so nothing is
        // overwritten there.
        var moved = JobMoves.Move(JobMove.Take, sourcePath, claimedPath);
        if (moved == MoveResult.SourceMissing && !Directory.Exists(Folder))
        {
            // Recovery removed our folder while we were cut off from the file system (our lease
            // had expired): make it again and try once more.
            Directory.CreateDirectory(Folder);
            moved = JobMoves.Move(JobMove.Take, sourcePath, claimedPath);
        }
        if (moved == MoveResult.SourceMissing && File.Exists(claimedPath))
        {
            // RACE: on a network file system the reply to a rename that succeeded can be lost and the
            // retried request then finds no source: the file in our own folder says who won.
            moved = MoveResult.Moved;
        }
        if (moved != MoveResult.Moved)
        {
            // RACE: SourceMissing is another worker's claim winning; DestinationExists cannot happen in our own folder
            // unless a previous claim of the same name is still here, and then this copy waits in its folder.
            return new ClaimResult(ClaimOutcome.Lost, null);
        }

        Job job;
        try
        {
            job = Parse(claimedPath, sourceState, settings);
        }
        catch (Failure failure)
        {
            Rejection.Reject(home, claimedPath, failure.Message, now);
            return new ClaimResult(ClaimOutcome.Rejected, null, failure.Message);
        }

        if (sourceState == JobState.Pending)
        {
            // One id, one job: a dropped file whose id another job already has (waiting, running
            // in any worker's folder, finished) is never run. The check comes after the claim
            // rename, and again after the move to the canonical name, so a job moving between
            // folders while we look is seen by one of the two scans (see FindDuplicate); the
            // finish's rename without replace is the last guard.
            var duplicate = FindDuplicate(job.Id, claimedPath);
            if (duplicate is not null)
            {
                return RejectDuplicate(claimedPath, job.Id, duplicate, now);
            }
            var canonical = Path.Combine(Folder, job.Id + ".json");
            if (canonical != claimedPath)
            {
                if (JobMoves.Move(JobMove.Place, claimedPath, canonical) != MoveResult.Moved)
                {
                    return RejectDuplicate(claimedPath, job.Id, $"processing/{workerId}/", now);
                }
                claimedPath = canonical;
                duplicate = FindDuplicate(job.Id, claimedPath);
                if (duplicate is not null)
                {
                    // Two dropped files with one id, claimed at once by two workers under different
                    // names: each may see the other, and then both are rejected (never run twice).
                    return RejectDuplicate(claimedPath, job.Id, duplicate, now);
                }
            }
        }

        var running = Transitions.Claimed(job, workerId, now);
        if (!AtomicFile.Replace(home, claimedPath, JobJson.Serialize(running), flushFolder: false))
        {
            return new ClaimResult(ClaimOutcome.Lost, null);
        }
        return new ClaimResult(ClaimOutcome.Claimed, new ClaimedJob(home, running, claimedPath));
    }

    /// <summary>Reads a claimed file: a dropped file is validated and given defaults; a retry is read as written.</summary>
    private Job Parse(string path, string sourceState, Settings settings)
    {
        byte[] bytes;
        try
        {
            bytes = JobReader.ReadBytes(path, sourceState);
        }
        catch (NotRegularFileException e)
        {
            throw Failure.Usage(e.Message);
        }
        return JobReader.Parse(bytes, path, sourceState, sourceState == JobState.Pending ? File.GetLastWriteTimeUtc(path) : default, settings.MaxRetries);
    }

    private ClaimResult RejectDuplicate(string path, string id, string existing, DateTime now)
    {
        var reason = $"A job with id '{id}' already exists in {existing}; this dropped file was not run.";
        Rejection.Reject(home, path, reason, now);
        return new ClaimResult(ClaimOutcome.Rejected, null, reason);
    }

    /// <summary>
    /// The folder ("processing/w-…/", "completed/" …) of another job file with this id, or null.
    /// The folders are listed in the order a job moves through them (processing, then finished,
    /// then pending again by a retry), and the whole scan is made twice: a job that moves while
    /// we look escapes one scan only by moving against that order, and both scans only by doing
    /// so twice within them.
    /// </summary>
    private string? FindDuplicate(string id, string claimedPath)
    {
        for (var scan = 0; scan < 2; scan++)
        {
            foreach (var folder in PlacesOf())
            {
                var path = Path.Combine(folder, id + ".json");
                if (path != claimedPath && File.Exists(path))
                {
                    return Path.GetRelativePath(home.Root, folder) + "/";
                }
            }
        }
        return null;
    }

    private IEnumerable<string> PlacesOf()
    {
        string[] workers;
        try
        {
            workers = Directory.GetDirectories(home.StateFolder(JobState.Processing));
        }
        catch (DirectoryNotFoundException)
        {
            workers = []; // RACE: only while the home is being made or removed.
        }
        foreach (var folder in workers)
        {
            yield return folder;
        }
        foreach (var state in new[] { JobState.Failed, JobState.Completed, JobState.Dead, JobState.Pending })
        {
            yield return home.StateFolder(state);
        }
    }
}

internal enum FinishOutcome
{
    Finished,
    /// <summary>The job was taken from this worker (its lease expired): its newer state was left alone.</summary>
    Fenced,
    /// <summary>The destination already held a job with this id; this one went to rejected/.</summary>
    Rejected,
}

/// <summary>A job held in a worker's processing folder: it can only be finished.</summary>
internal sealed class ClaimedJob(QueueHome home, Job job, string path)
{
    public Job Job { get; } = job;
    public string Path { get; } = path;

    /// <summary>
    /// Rewrites the file with its final state, then renames it into that state's folder;
    /// <paramref name="now"/> names it in rejected/ if that folder already has the id.
    /// </summary>
    public FinishOutcome Finish(Job final, DateTime now) => FinishFile(home, Path, final, now);

    public static FinishOutcome FinishFile(QueueHome home, string path, Job final, DateTime now)
    {
        // No folder fsync here: the rename below and its folder fsync commit the same journal.
        if (!AtomicFile.Replace(home, path, JobJson.Serialize(final), flushFolder: false))
        {
            return FinishOutcome.Fenced;
        }
        return MoveToState(home, path, final, now);
    }

    /// <summary>The rename that commits a finished job to its folder.</summary>
    public static FinishOutcome MoveToState(QueueHome home, string path, Job final, DateTime now)
    {
        var destination = home.JobPath(final.State, final.Id);
        switch (JobMoves.Move(JobMove.Commit, path, destination))
        {
            case MoveResult.Moved:
                return FinishOutcome.Finished;
            case MoveResult.SourceMissing:
                return FinishOutcome.Fenced;
            default:
                Rejection.Reject(home, path, $"Could not move to {final.State}/: a job with id '{final.Id}' is already there.", now);
                return FinishOutcome.Rejected;
        }
    }
}
