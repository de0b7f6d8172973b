using System.Text.Json;
using QueueCtl.Jobs;
using QueueCtl.Retries;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>dead/ → pending/: the one way a dead job comes back (CLI `dlq retry` and the dashboard).</summary>
internal static class DeadLetterQueue
{
    /// <summary>
    /// Rewrites dead/&lt;id&gt;.json (or, for `retry`, completed/&lt;id&gt;.json) as pending
    /// (attempts 0, history kept), then renames it into pending/ without replace. False when there
    /// is no such job, or another retry took it meanwhile (it vanished: a normal outcome when two
    /// callers retry at once). A different job already pending under this id is a conflict
    /// (Failure), and changes nothing.
    /// </summary>
    public static bool Revive(QueueHome home, string id, DateTime now, string from = JobState.Dead)
    {
        var path = home.JobPath(from, id);
        Job job;
        try
        {
            job = JobJson.Deserialize(JobReader.ReadBytes(path, from));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        catch (JsonException e)
        {
            throw Failure.Operation($"The {from} job file '{path}' is corrupt: {e.Message}");
        }
        if (File.Exists(home.JobPath(JobState.Pending, id)))
        {
            if (!File.Exists(path))
            {
                return false; // RACE: another dlq retry moved it into pending/ since we read it.
            }
            throw Failure.Operation($"A job with id '{id}' is already pending.");
        }
        var revived = Transitions.Revived(job, now);
        if (!AtomicFile.Replace(home, path, JobJson.Serialize(revived)))
        {
            return false; // RACE: another dlq retry took it.
        }
        var moved = JobMoves.Move(JobMove.Commit, path, home.JobPath(JobState.Pending, id));
        if (moved == MoveResult.DestinationExists)
        {
            // Put the dead file back as it was; if another retry took it meanwhile, that one won.
            AtomicFile.Replace(home, path, JobJson.Serialize(job));
            throw Failure.Operation($"A job with id '{id}' is already pending.");
        }
        return moved == MoveResult.Moved;
    }
}
