using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Retries;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// Attempts that finished after their job had been taken back from this worker (its lease had
/// expired): the job's file belongs to another owner and is left alone. Each attempt's result
/// goes at once to the end of its own log, and later, once the job rests, into the recoverer's
/// history entry for the same attempt as late_finish (<see cref="FencedAttempts"/>).
/// </summary>
internal sealed class LateFinishes(QueueHome home, string id, Registration registration, Action<string> log, TimeProvider time)
{
    private readonly List<FencedAttempt> _pending = [];
    private DateTime _nextTry;

    public bool Any => _pending.Count > 0;

    public void Add(Job job, AttemptResult result, string wouldHaveBeen)
    {
        NoteInLog(job, result);
        _pending.Add(new FencedAttempt(job.Id, job.NextAttemptNumber, new LateFinish
        {
            Worker = id,
            FinishedAt = UtcTimestamp.Truncate(result.FinishedAt),
            ExitCode = result.ExitCode,
            Note = $"finished after the job had been taken back from this worker (lease expired); would have been {wouldHaveBeen}, not counted",
        }));
    }

    /// <summary>Tries to note each pending late finish, at most every <see cref="Timing.FencedRetry"/>.</summary>
    public void RecordDue(DateTime now)
    {
        if (_pending.Count == 0 || now < _nextTry)
        {
            return;
        }
        _nextTry = now + Timing.FencedRetry;
        // Register first: while this worker's record is missing or stale (it was judged dead), other
        // hosts' recovery would take the job back out of this worker's folder during the borrow.
        registration.Write();
        foreach (var fenced in _pending.ToList())
        {
            var outcome = FencedAttempts.TryRecord(home, id, fenced, time.UtcNow());
            // RACE: a recoverer moves the job through folders of its own, and a file between two
            // renames is briefly found nowhere: "gone" counts only once it has lasted a while.
            if (outcome == NoteOutcome.Later || outcome == NoteOutcome.Gone && time.UtcNow() - fenced.Finish.FinishedAt < Timing.GoneAfter)
            {
                continue;
            }
            _pending.Remove(fenced);
            log(outcome == NoteOutcome.Recorded
                ? $"{fenced.JobId}: noted this worker's late finish of attempt {fenced.Number} in its history"
                : $"{fenced.JobId}: the job or its attempt {fenced.Number} is gone; the late finish is only in its log");
        }
    }

    /// <summary>At stop: say which late finishes could not be noted.</summary>
    public void LogUnnoted()
    {
        foreach (var fenced in _pending)
        {
            log($"{fenced.JobId}: stopping before this worker's late finish of attempt {fenced.Number} could be noted in its history (see its log)");
        }
    }

    private void NoteInLog(Job job, AttemptResult result)
    {
        try
        {
            var path = CommandRunner.LogPath(home, job.Id, job.NextAttemptNumber);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.AppendAllText(path,
                $"\n[queuectl] worker {id} finished this attempt (exit code {result.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}) " +
                "after the job had been taken back from it (lease expired); the attempt was not counted again.\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log($"could not note the fenced attempt in {job.Id}'s log: {e.Message}");
        }
    }
}
