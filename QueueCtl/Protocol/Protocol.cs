using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/*
 * The job protocol. A job is one file, <id>.json; its state is the folder it is in. Every move
 * of a job file is in this folder (Protocol/): JobMoves below (which rename, replace or not, what
 * is fsync'd) and AtomicFile (whole-file writes and rewrites). Nothing else renames or links.
 *
 * States (folders of the home):
 *   pending/<id>.json            waiting (not_before in the future: scheduled); anyone may drop a file here
 *   processing/<worker>/<id>.json claimed by one worker (or by cancel-…/recover-… taking it aside)
 *   failed/<id>.json             waiting for a retry at not_before
 *   completed/, dead/            finished; dead/ is the dead-letter queue
 *   rejected/<name> + .reason    not a job (never deleted); tmp/ staged copies, never read as jobs
 *
 * Commit instants (what a crash just before leaves):
 *   enqueue  rename of a fsync'd copy from tmp/ into pending/ without replace (JobStore.Enqueue);
 *            before it, a stray copy in tmp/ and no job.
 *   claim    the plain rename pending/ or failed/ -> processing/<worker>/ (Claimer.TryClaim): of
 *            two claimers exactly one wins. The state is then rewritten in place (fsync'd copy,
 *            RENAME_EXCHANGE); a crash between leaves a file still saying pending in a worker's
 *            folder, which recovery puts back in pending/ unchanged.
 *   finish   rewrite in place with the final state, then the rename without replace into
 *            completed/, failed/ or dead/ and a fsync of that folder (ClaimedJob.Finish). A crash
 *            between leaves a file whose state names its folder: recovery only moves it.
 *   retry    the same rename, into failed/ with not_before; the next claim takes it from there.
 *            dlq retry / retry: rewrite dead/ or completed/<id>.json as pending, then rename into
 *            pending/ without replace (DeadLetterQueue.Revive).
 *   recover  a dead worker's file is taken into the recoverer's own folder with a plain rename
 *            (the claim's rule: one recoverer wins), then finished as a failed attempt, put back
 *            in pending/, or moved on to the folder its state names (Recovery.TakeFolder,
 *            RecoverTaken). The dead worker's attempts on this host are killed between the take and
 *            the move, so its own finish of a killed attempt always finds its file gone (a late finish).
 *   cancel   a resting job: taken into processing/cancel-<host>-<pid>/ like a claim, then finished
 *            as dead (JobControl.CancelResting). A running job: processing/<worker>/<id>.cancel is
 *            written beside it; its worker (or recovery) finishes it as dead (CancelRequests).
 *   remove   plain rename into tmp/remove-<pid>/ (the commit), fsync of the folder it left, delete.
 *   ledger   after every move into or out of completed/ or dead/, one line in the mover's ledger
 *            (FinishedLedger), read by the finished index (FinishedIndex: counts and pages without
 *            listing those folders). A crash between the move and the line leaves the index short
 *            of one change until its doubt rule or a rebuild finds it; the folders stay the truth.
 *
 * Tolerated races (each marked `// RACE:` where it is caught; every other errno is fatal):
 *   ENOENT   the source was renamed first by another claimer, recoverer, cancel or retry: "lost".
 *   ESTALE   the same on a network file system (a handle to a file another host moved); reads of
 *            job files are retried for ~2 s (JobReader) and then read as "moved".
 *   EEXIST   a no-replace move found its name taken: the file goes to rejected/ with the reason
 *            (a duplicate id, a name taken in pending/), or a put-back leaves it where it is for
 *            recovery to move on.
 *   EINVAL/ENOSYS  no RENAME_NOREPLACE or RENAME_EXCHANGE (GlusterFS): link + unlink, and
 *            check-then-rename for a rewrite (a short window: docs/decisions.md, "Several hosts").
 */

/// <summary>The kinds of job-file move: each decides replace-or-not and what is fsync'd.</summary>
internal enum JobMove
{
    /// <summary>
    /// Into a folder of the mover's own (a claim, a recoverer's, cancel's or a fenced note's
    /// borrow): a plain rename, never link + unlink, which would leave the source for a second
    /// taker. Not fsync'd: after a power cut the file is in one folder or the other, both handled.
    /// </summary>
    Take,
    /// <summary>
    /// To a name that must not be taken (the canonical &lt;id&gt;.json, back to where it came from,
    /// back to pending/ by recovery, a corrupt config.json aside): without replace, not fsync'd
    /// (losing it leaves the file where recovery, or the next try, finds it).
    /// </summary>
    Place,
    /// <summary>The rename that commits a transition (finish, revive, reject): without replace, then a fsync of the destination folder.</summary>
    Commit,
    /// <summary>Out of the queue into tmp/ (remove): a plain rename, then a fsync of the folder it left.</summary>
    Discard,
}

/// <summary>The one helper that moves job files (and the home's other protocol files).</summary>
internal static class JobMoves
{
    public static MoveResult Move(JobMove kind, string source, string destination)
    {
        var result = Renames.Move(source, destination, noReplace: kind is JobMove.Place or JobMove.Commit);
        if (result == MoveResult.Moved)
        {
            FinishedLedger.Moved(source, destination); // after the move: every ledger line is a real change
            if (kind == JobMove.Commit)
            {
                Native.FsyncDirectory(Path.GetDirectoryName(destination)!);
            }
            else if (kind == JobMove.Discard)
            {
                Native.FsyncDirectory(Path.GetDirectoryName(source)!);
            }
        }
        return result;
    }
}
