using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>What a fenced attempt (Number: its entry in the job's history) did: it finished after its job had been taken back from its worker.</summary>
internal sealed record FencedAttempt(string JobId, int Number, LateFinish Finish);

internal enum NoteOutcome
{
    Recorded,
    /// <summary>The job is running or being moved right now: try again later.</summary>
    Later,
    /// <summary>The job is gone (purged) or has no entry for the attempt: nothing to write into.</summary>
    Gone,
}

/// <summary>
/// Writes a fenced attempt's result into its job's history, beside the entry that recovery wrote
/// for the same attempt ("worker … died"). The job belongs to whoever holds it now, so the note is only
/// written while the job rests in pending/, failed/, completed/ or dead/, and by the claim protocol
/// itself: rename the file into this worker's processing folder (the rename is the lock), add the
/// note, rename it back without replace. A crash in between leaves a file whose state names its
/// folder, which recovery puts back unchanged (docs/decisions.md, "Several hosts", item "Fencing").
/// </summary>
internal static class FencedAttempts
{
    private static readonly string[] Resting = [JobState.Failed, JobState.Completed, JobState.Dead, JobState.Pending];

    public static NoteOutcome TryRecord(QueueHome home, string workerId, FencedAttempt fenced, DateTime now)
    {
        var folder = home.ProcessingFolder(workerId);
        var borrowed = Path.Combine(folder, fenced.JobId + ".json");
        foreach (var state in Resting)
        {
            var source = home.JobPath(state, fenced.JobId);
            if (!File.Exists(source))
            {
                continue;
            }
            Directory.CreateDirectory(folder); // recovery removed it while this worker was cut off
            if (File.Exists(borrowed))
            {
                return NoteOutcome.Later; // this worker runs the job again right now
            }
            var moved = JobMoves.Move(JobMove.Take, source, borrowed);
            if (moved != MoveResult.Moved && !File.Exists(borrowed))
            {
                return NoteOutcome.Later; // RACE: a worker claimed it first; it will rest again
            }
            Job job;
            try
            {
                job = JobJson.Deserialize(JobReader.ReadBytes(borrowed, JobState.Processing));
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
            {
                JobMoves.Move(JobMove.Place, borrowed, source); // not ours to judge: back as it was
                return NoteOutcome.Gone;
            }
            var history = job.History ?? [];
            var index = history.FindIndex(a => a.Number == fenced.Number && a.Worker == workerId);
            var noted = job;
            if (index >= 0)
            {
                var entries = new List<Attempt>(history);
                entries[index] = entries[index] with { LateFinish = fenced.Finish };
                noted = job with { History = entries };
                if (!AtomicFile.Replace(home, borrowed, JobJson.Serialize(noted), flushFolder: false))
                {
                    return NoteOutcome.Later;
                }
            }
            ClaimedJob.MoveToState(home, borrowed, noted, now);
            return index >= 0 ? NoteOutcome.Recorded : NoteOutcome.Gone;
        }
        return new JobStore(home).Locate(fenced.JobId) is null ? NoteOutcome.Gone : NoteOutcome.Later;
    }
}
