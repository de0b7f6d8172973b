using System.Runtime.InteropServices;
using QueueCtl.Jobs;

using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>
/// `enqueue -` / `--file`: many jobs with one durable point per batch instead of two fsyncs per
/// job (docs/decisions.md, "Composition and scale", item "Bulk enqueue"). Each job is staged in tmp/ without an fsync; at
/// <see cref="Commit"/> one syncfs(2) makes every staged file durable, then each is renamed into
/// pending/ (no-replace, so a taken id refuses its line alone) and pending/ is fsync'd once.
/// Nothing is reported enqueued before that fsync. A crash before it leaves stray files in tmp/
/// (removed by age) and perhaps some jobs in pending/, whole, never half-written.
/// </summary>
internal sealed partial class BulkEnqueue(QueueHome home, DateTime now)
{
    private readonly JobStore _store = new(home);
    private readonly List<(int Line, string Id, string Staged)> _staged = [];
    private readonly Dictionary<string, Job> _ids = new(StringComparer.Ordinal);

    public int Count => _staged.Count;

    /// <summary>A job of an earlier line, staged and not yet committed (for Dependencies.CheckNewJob), or null.</summary>
    public Job? StagedJob(string id) => _ids.GetValueOrDefault(id);

    /// <summary>Checks the id like JobStore.Enqueue and stages the file; a refusal throws a Failure and stages nothing.</summary>
    public void Stage(Job job, int line)
    {
        if (_ids.ContainsKey(job.Id))
        {
            throw Failure.Operation($"A job with id '{job.Id}' already exists (state pending).");
        }
        if (_store.Locate(job.Id) is { } existing)
        {
            throw Failure.Operation($"A job with id '{job.Id}' already exists (state {existing.State}).");
        }
        var staged = AtomicFile.StageInTmp(home, job.Id + ".json", JobJson.Serialize(job), durable: false);
        if (job.NotBefore > now)
        {
            File.SetLastWriteTimeUtc(staged, job.NotBefore.Value); // as JobStore.Enqueue: mtime = not_before
        }
        _ids.Add(job.Id, job);
        _staged.Add((line, job.Id, staged));
    }

    /// <summary>The durable point of the batch: the lines enqueued, and those refused at the rename (their id was taken meanwhile).</summary>
    public (List<(int Line, string Id)> Added, List<(int Line, Failure Error)> Refused) Commit()
    {
        var added = new List<(int, string)>();
        var refused = new List<(int, Failure)>();
        if (_staged.Count == 0)
        {
            return (added, refused);
        }
        using (var any = File.OpenHandle(_staged[0].Staged))
        {
            if (SyncFs(any.DangerousGetHandle().ToInt32()) != 0)
            {
                throw new IOException($"syncfs failed (errno {Marshal.GetLastPInvokeError()}); nothing was enqueued.");
            }
        }
        // Renamed in line order, so a parent of the same batch is in pending/ before its children
        // (a child whose parent is nowhere would be sent dead by a worker).
        var lost = new HashSet<string>(StringComparer.Ordinal); // ids of this batch refused at the rename
        foreach (var (line, id, staged) in _staged)
        {
            if (_ids[id].After?.FirstOrDefault(lost.Contains) is { } parent)
            {
                File.Delete(staged);
                lost.Add(id);
                refused.Add((line, Failure.Operation($"Its parent '{parent}' (an earlier line) was refused: another job took its id meanwhile.")));
                continue;
            }
            switch (JobMoves.Move(JobMove.Place, staged, home.JobPath(JobState.Pending, id)))
            {
                case MoveResult.Moved:
                    added.Add((line, id));
                    break;
                case MoveResult.DestinationExists:
                    File.Delete(staged);
                    lost.Add(id);
                    refused.Add((line, Failure.Operation($"A job with id '{id}' already exists (state pending).")));
                    break;
                default:
                    throw new IOException($"The staged file of '{id}' vanished from {home.Staging}.");
            }
        }
        Native.FsyncDirectory(home.StateFolder(JobState.Pending));
        _staged.Clear();
        _ids.Clear();
        return (added, refused);
    }

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFs(int fd);
}
