using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// One turn's job for a worker's loop: claim the candidate the index chose (with the slot its
/// queue's limit took), run it or finish it unrun, and free the slot afterwards; the same for a
/// dropped file that became valid at the last moment.
/// </summary>
internal sealed class ClaimAndRun(QueueHome home, string id, SettingsWatcher settings, AttemptRunner attempts, QueueAdmission admission, TimeProvider time, Action<string> log)
{
    private readonly Claimer _claimer = new(home, id);

    /// <summary>Claims and runs a candidate of <see cref="JobIndex.TakeNext"/>; the slot is freed after the finish, or at once when the claim was lost.</summary>
    public void Run(Candidate candidate, HeldSlot? slot, CancellationToken abort)
    {
        try
        {
            var claim = _claimer.TryClaim(candidate.Path, candidate.State, settings.Current, time.UtcNow());
            if (claim.Outcome == ClaimOutcome.Rejected)
            {
                log($"rejected {Path.GetFileName(candidate.Path)}: {claim.Reason}");
            }
            if (claim.Job is { } job && candidate.Doomed is not null)
            {
                attempts.FinishWithoutRunning(job, candidate.Doomed, abort); // a parent ended dead, or the parents form a cycle (enqueue --after)
            }
            else if (claim.Job is { } runnable)
            {
                attempts.Run(runnable, abort);
            }
        }
        finally
        {
            // An abort leaves the slot to recovery, with the job: it comes back when the job does.
            if (!abort.IsCancellationRequested)
            {
                admission.Release(slot);
            }
        }
    }

    /// <summary>Files the index put aside as invalid and left alone long enough: claimed to be rejected (or run, if valid now).</summary>
    public void SettleInvalid(JobIndex index, DateTime now, CancellationToken abort)
    {
        foreach (var (path, state) in index.TakeSettledInvalid(now))
        {
            var settled = _claimer.TryClaim(path, state, settings.Current, time.UtcNow());
            if (settled.Outcome == ClaimOutcome.Rejected)
            {
                log($"rejected {Path.GetFileName(path)}: {settled.Reason}");
            }
            if (settled.Job is { } late)
            {
                RunLate(index, late, abort); // it became valid at the last moment
            }
        }
    }

    /// <summary>
    /// A dropped file that became valid between its last look and its claim: it runs only when
    /// this worker serves its queue, that queue is not paused and has a free slot; otherwise it
    /// goes back to pending/ under its id, unchanged but for the defaults, for the right worker.
    /// </summary>
    private void RunLate(JobIndex index, ClaimedJob late, CancellationToken abort)
    {
        var queue = late.Job.QueueName;
        if (index.Serves(queue) && !PauseState.QueueHeld(home, queue) && admission.Admit(queue, late.Job.Id))
        {
            var slot = admission.TakeAdmitted();
            try
            {
                attempts.Run(late, abort);
            }
            finally
            {
                if (!abort.IsCancellationRequested)
                {
                    admission.Release(slot);
                }
            }
            return;
        }
        var now = time.UtcNow();
        var back = late.Job with { State = JobState.Pending, WorkerId = null, StartedAt = null, UpdatedAt = UtcTimestamp.Truncate(now) };
        var outcome = ClaimedJob.FinishFile(home, late.Path, back, now);
        log($"returned {late.Job.Id} to pending/ (queue {queue} is not served, paused or full here): {outcome}");
    }
}
