using QueueCtl.Jobs;

using QueueCtl.Storage;

namespace QueueCtl.Protocol;

internal enum ParentsOutcome
{
    /// <summary>Every parent has completed: the job may run.</summary>
    Ready,
    /// <summary>A parent is pending, scheduled, failed (retrying) or running: the job is held aside.</summary>
    Waiting,
    /// <summary>A parent ended dead (or was cancelled, or is gone): the job goes dead without running.</summary>
    Doomed,
}

/// <summary>What the parents of a job (its "after") say about it; <see cref="Parent"/> is the one that decided.</summary>
internal sealed record ParentsCheck(ParentsOutcome Outcome, string? Parent = null, string? Reason = null);

/// <summary>
/// `enqueue --after`: a pending job with an "after" list waits, in pending/, until every parent
/// has completed. The parents' state is where their files are: completed/ (done), dead/ (the
/// child goes dead too), anywhere else (still waiting), nowhere (removed: the child goes dead).
/// Workers hold waiting children aside in their index and look again only when a parent lands
/// in completed/ or dead/ (and at the slow safety rescan), so waiting costs nothing per claim.
/// </summary>
internal static class Dependencies
{
    /// <summary>How many ancestors a cycle check (at enqueue, or at the claim of a dropped file) follows at most.</summary>
    private const int MaxAncestors = 10_000;

    /// <summary>
    /// The parents' verdict. A parent found nowhere dooms a job that has not run yet; for one
    /// that is retrying (<paramref name="hasRun"/>: in failed/, so its parents had completed) it
    /// was only purged or removed after it completed, and does not count.
    /// </summary>
    public static ParentsCheck Check(QueueHome home, IReadOnlyList<string>? parents, bool hasRun = false)
    {
        if (parents is null || parents.Count == 0)
        {
            return new ParentsCheck(ParentsOutcome.Ready);
        }
        ParentsCheck? waiting = null;
        foreach (var parent in parents)
        {
            switch (StateOf(home, parent))
            {
                case JobState.Completed:
                    continue;
                case JobState.Dead:
                    return new ParentsCheck(ParentsOutcome.Doomed, parent, DeadReason(home, parent));
                case null when hasRun:
                    continue;
                case null:
                    return new ParentsCheck(ParentsOutcome.Doomed, parent, $"its parent job {parent} does not exist (removed?); it was not run");
                default:
                    waiting ??= new ParentsCheck(ParentsOutcome.Waiting, parent);
                    break;
            }
        }
        return waiting ?? new ParentsCheck(ParentsOutcome.Ready);
    }

    /// <summary>
    /// The state folder a job is in, or null when it is in none. Finished states first, then the
    /// rest in the order a job moves back through them; the scan is made twice when it finds
    /// nothing, so a job moving while we look is seen by one of the two (as Claimer.FindDuplicate).
    /// </summary>
    public static string? StateOf(QueueHome home, string id)
    {
        for (var scan = 0; scan < 2; scan++)
        {
            foreach (var state in new[] { JobState.Completed, JobState.Dead, JobState.Pending, JobState.Failed })
            {
                if (File.Exists(home.JobPath(state, id)))
                {
                    return state;
                }
            }
            string[] workers;
            try
            {
                workers = Directory.GetDirectories(home.StateFolder(JobState.Processing));
            }
            catch (DirectoryNotFoundException)
            {
                workers = []; // RACE: only while the home is being made
            }
            if (workers.Any(w => File.Exists(Path.Combine(w, id + ".json"))))
            {
                return JobState.Processing;
            }
        }
        return null;
    }

    /// <summary>
    /// `enqueue --after` (or "after" in a JSON job given to enqueue): every parent must exist, and
    /// the new job must not be an ancestor of its parents. Ids are unique while a job exists and
    /// "after" never changes, so only a job that was removed and enqueued again under its old id
    /// could close a cycle: the walk over the parents' own "after" lists refuses that.
    /// <paramref name="staged"/> (bulk enqueue) gives the jobs of earlier lines of the same input,
    /// staged but not yet in pending/: they count as existing parents, and their own "after" is
    /// walked like a stored job's. A parent can only be an earlier line, so a batch cannot close a
    /// cycle among its own lines either.
    /// </summary>
    public static void CheckNewJob(QueueHome home, Job job, Func<string, Job?>? staged = null)
    {
        if (job.After is not { Count: > 0 })
        {
            return;
        }
        var store = new JobStore(home);
        var closer = AncestorWaitingFor(job,
            id => staged?.Invoke(id) is { } early ? (true, early.After) : Find(store, id),
            parent => throw Failure.Usage($"Job '{parent}' named in --after (\"after\") does not exist; nothing was enqueued."));
        if (closer is not null)
        {
            throw Failure.Usage($"Job '{closer}' already waits for '{job.Id}' (through \"after\"): waiting for it would make a cycle; nothing was enqueued.");
        }
    }

    /// <summary>
    /// The ancestor whose "after" names <paramref name="job"/> itself (its parents wait for it: a
    /// cycle, which only files dropped into pending/ can make), or null. Reads the ancestors' files:
    /// only for a job the index already found in a cycle.
    /// </summary>
    public static string? WaitsForItself(QueueHome home, Job job)
    {
        var store = new JobStore(home);
        return AncestorWaitingFor(job, id => Find(store, id));
    }

    /// <summary>Whether a job exists in any state, and what it waits for.</summary>
    private static (bool Exists, IReadOnlyList<string>? After) Find(JobStore store, string id) =>
        store.Locate(id) is { } found ? (true, found.Job?.After) : (false, null);

    /// <summary>
    /// Walks the ancestors of <paramref name="job"/>, its parents first (in order; <paramref name="missingParent"/>
    /// is told of one that does not exist), then their "after" lists breadth first, at most
    /// <see cref="MaxAncestors"/>; returns the first ancestor whose "after" names the job itself (a
    /// cycle), or null. <paramref name="find"/> says whether a job exists and what it waits for.
    /// </summary>
    private static string? AncestorWaitingFor(Job job, Func<string, (bool Exists, IReadOnlyList<string>? After)> find, Action<string>? missingParent = null)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var next = new Queue<string>();
        foreach (var parent in job.After ?? [])
        {
            var (exists, after) = find(parent);
            if (!exists)
            {
                missingParent?.Invoke(parent);
            }
            if (Follow(parent, after) is { } closer)
            {
                return closer;
            }
        }
        while (next.TryDequeue(out var ancestor) && seen.Count < MaxAncestors)
        {
            if (Follow(ancestor, find(ancestor).After) is { } closer)
            {
                return closer;
            }
        }
        return null;

        // Queues the ancestors one job waits for; that job's id when it waits for the walked job itself.
        string? Follow(string id, IReadOnlyList<string>? after)
        {
            foreach (var grand in after ?? [])
            {
                if (grand == job.Id)
                {
                    return id;
                }
                if (seen.Add(grand))
                {
                    next.Enqueue(grand);
                }
            }
            return null;
        }
    }

    private static string DeadReason(QueueHome home, string parent)
    {
        string? error = null;
        try
        {
            error = JobJson.Deserialize(JobReader.ReadBytes(home.JobPath(JobState.Dead, parent), JobState.Dead)).LastError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or NotRegularFileException)
        {
            // RACE: retried (dlq retry) since it was seen, or unreadable: the reason stays short.
        }
        var cancelled = error?.StartsWith("cancelled", StringComparison.OrdinalIgnoreCase) == true;
        return $"its parent job {parent} {(cancelled ? "was cancelled" : "ended dead")}{(error is null ? "" : $" ({Shorten(error)})")}; it was not run";
    }

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..117] + "...";
}
