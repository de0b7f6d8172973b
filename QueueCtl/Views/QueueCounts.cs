using QueueCtl.Jobs;
using QueueCtl.Processing;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Views;

/// <summary>
/// One queue's unfinished jobs. Finished jobs (completed/, dead/) are not split by queue: that
/// would read every finished file, and status must cost the same with a million of them.
/// </summary>
internal sealed class PerQueue
{
    public int Ready { get; set; }
    public int Scheduled { get; set; }
    public int Processing { get; set; }
    public int Failed { get; set; }
    /// <summary>Pending jobs waiting for their parents (enqueue --after).</summary>
    public int Waiting { get; set; }
    /// <summary>The mtime of the oldest ready job (its latency: how long it has been runnable), null when none.</summary>
    public DateTime? OldestReady { get; set; }
    public int Pending => Ready + Scheduled + Waiting;
    /// <summary>`queue.Q.concurrency`, or null when the queue has no limit.</summary>
    public int? Limit { get; set; }
    /// <summary>Its held concurrency slots (QueueSlots): jobs admitted and not yet released; 0 without a limit.</summary>
    public int Running { get; set; }

    /// <summary>The counts as JSON properties (status --json's queues, the dashboard's /api/queues).</summary>
    public void WriteCounts(System.Text.Json.Utf8JsonWriter w)
    {
        w.WriteNumber("pending", Pending);
        w.WriteNumber("ready", Ready);
        w.WriteNumber("scheduled", Scheduled);
        w.WriteNumber("waiting", Waiting);
        w.WriteNumber("processing", Processing);
        w.WriteNumber("failed", Failed);
    }
}

/// <summary>
/// A snapshot of the queue's counts. Workers are judged the way recovery judges them (process
/// gone on this host, or heartbeat older than worker-lease): <see cref="Workers"/> counts the live
/// ones, <see cref="DeadWorkers"/> those still registered whose jobs the next recovery returns.
/// </summary>
internal sealed record QueueCounts(
    int Ready, int Scheduled, int Processing, int Completed, int Failed, int Dead, int Rejected, int Workers, DateTime? NextRun,
    IReadOnlyList<WorkerRecord> LiveWorkers, IReadOnlyList<WorkerRecord> DeadWorkerRecords,
    SortedDictionary<string, PerQueue> Queues)
{
    /// <summary>More than one queue has unfinished jobs or a limit, or the only one is not "default", or it has a limit.</summary>
    public bool SeveralQueues => Queues.Count > 1 || Queues.Count == 1 && (!Queues.ContainsKey(Job.DefaultQueue) || Queues.Values.Single().Limit is not null);
    public int DeadWorkers => DeadWorkerRecords.Count;

    /// <summary>Pending jobs waiting for their parents (enqueue --after): neither ready nor scheduled.</summary>
    public int Waiting { get; init; }

    public int Pending => Ready + Scheduled + Waiting;

    /// <summary>The counts as JSON properties (for `status --json` and the dashboard's /api/status).</summary>
    public void WriteProperties(System.Text.Json.Utf8JsonWriter w)
    {
        w.WriteNumber("pending", Pending);
        w.WriteNumber("ready", Ready);
        w.WriteNumber("scheduled", Scheduled);
        w.WriteNumber("waiting", Waiting);
        w.WriteNumber("processing", Processing);
        w.WriteNumber("completed", Completed);
        w.WriteNumber("failed", Failed);
        w.WriteNumber("dead", Dead);
        w.WriteNumber("rejected", Rejected);
        w.WriteNumber("workers", Workers);
        w.WriteNumber("workers_dead", DeadWorkers);
        if (NextRun is { } next)
        {
            w.WriteString("next_run", UtcTimestamp.ToText(next));
        }
        else
        {
            w.WriteNull("next_run");
        }
        w.WriteStartObject("queues");
        foreach (var (name, counts) in Queues)
        {
            w.WriteStartObject(name);
            counts.WriteCounts(w);
            if (counts.Limit is { } limit)
            {
                w.WriteNumber("limit", limit);
                w.WriteNumber("running", counts.Running);
            }
            else
            {
                w.WriteNull("limit");
                w.WriteNull("running");
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    public static QueueCounts Take(QueueHome home, DateTime now)
    {
        var store = new JobStore(home);
        int ready = 0, scheduled = 0, waiting = 0;
        DateTime? next = null;
        var queues = new SortedDictionary<string, PerQueue>(StringComparer.Ordinal);
        PerQueue Of(string? queue)
        {
            queue ??= Job.DefaultQueue;
            if (!queues.TryGetValue(queue, out var counts))
            {
                queues[queue] = counts = new PerQueue();
            }
            return counts;
        }
        // Scheduled pending files carry not_before as their mtime (JobStore.Enqueue): one stat each,
        // no read, so status stays fast with 100,000 pending jobs. A file dropped by another program
        // with a future not_before counts as ready here until a worker takes it.
        var pending = new DirectoryInfo(home.StateFolder(JobState.Pending));
        if (pending.Exists)
        {
            var prefixes = PendingQueues.Load(home);
            foreach (var file in pending.EnumerateFiles())
            {
                if (!QueueHome.IsJobFileName(file.Name))
                {
                    continue;
                }
                var notBefore = file.LastWriteTimeUtc;
                // The first bytes of the file name its queue and parents (JobPrefix, remembered
                // per mtime and size by PendingQueues); a file gone meanwhile is left out.
                var prefix = prefixes.Of(file);
                var queue = prefix?.Queue;
                if (prefix?.After is { Count: > 0 } parents && Dependencies.Check(home, parents).Outcome == ParentsOutcome.Waiting)
                {
                    waiting++; // a few stats, only for jobs enqueued with --after
                    Of(queue).Waiting++;
                }
                else if (notBefore > now)
                {
                    scheduled++;
                    next = next is null || notBefore < next ? notBefore : next;
                    if (queue is not null)
                    {
                        Of(queue).Scheduled++;
                    }
                }
                else
                {
                    ready++;
                    if (queue is not null)
                    {
                        var counts = Of(queue);
                        counts.Ready++;
                        counts.OldestReady = counts.OldestReady is { } o && o <= notBefore ? o : notBefore;
                    }
                }
            }
            prefixes.Save();
        }
        foreach (var path in store.Files(JobState.Processing))
        {
            if (JobPrefix.Read(path) is { Queue: var queue })
            {
                Of(queue).Processing++;
            }
        }
        var failed = 0;
        foreach (var stored in store.ReadAll(JobState.Failed))
        {
            failed++;
            Of(stored.Job?.QueueName).Failed++;
            if (stored.Job?.NotBefore is { } notBefore)
            {
                next = next is null || notBefore < next ? notBefore : next;
            }
        }
        // A queue with a concurrency limit is listed even with no unfinished job, with its held
        // slots: one directory listing per limited queue.
        var settings = ConfigStore.Load(home);
        foreach (var (queue, limit) in settings.QueueConcurrency ?? [])
        {
            var counts = Of(queue);
            counts.Limit = limit;
            counts.Running = QueueSlots.Held(home, queue).Count;
        }
        var registry = new WorkerRegistry(home);
        var records = registry.ReadAll();
        // Judging writes a probe file to read the file system's clock: only when there is someone to judge.
        var liveness = records.Count > 0 ? registry.Judge(settings, now) : null;
        var dead = records.Where(r => liveness!.DeathReason(r) is not null).ToList();
        var live = records.Except(dead).ToList();
        return new QueueCounts(
            ready,
            scheduled,
            store.Count(JobState.Processing),
            FinishedCount(home, JobState.Completed, now),
            failed,
            FinishedCount(home, JobState.Dead, now),
            CountFiles(home.Rejected, f => !f.EndsWith(".reason", StringComparison.Ordinal)),
            live.Count,
            next,
            live,
            dead,
            queues)
        {
            Waiting = waiting,
        };
    }

    /// <summary>The jobs in completed/ or dead/: from the finished index, or by listing the folder when the index cannot answer.</summary>
    public static int FinishedCount(QueueHome home, string state, DateTime now)
    {
        using var view = new FinishedIndex(home).Open(state, now);
        return view?.Count ?? new JobStore(home).Count(state);
    }

    private static int CountFiles(string folder, Func<string, bool> keep) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder).Count(f => keep(Path.GetFileName(f))) : 0;
}
