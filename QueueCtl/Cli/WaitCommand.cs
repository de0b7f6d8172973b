using System.Collections.Concurrent;
using QueueCtl.Config;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Cli;

[CommandLine.Verb("wait", HelpText = "Block until jobs are completed or dead: exit 0 all completed, 1 any dead, 124 on timeout.")]
internal sealed class WaitOptions : DataOptions
{
    [CommandLine.Value(0, MetaName = "id", HelpText = "The jobs to wait for.")]
    public IEnumerable<string> Ids { get; set; } = [];

    [CommandLine.Option("all", HelpText = "Every job not yet finished when wait starts.")]
    public bool All { get; set; }

    [CommandLine.Option("timeout", MetaValue = "DURATION", HelpText = "Give up after this long (30s, 5m, 1h): exit 124.")]
    public string? Timeout { get; set; }

    [CommandLine.Option("queue", MetaValue = "Q", HelpText = "Every job of queue Q not yet finished when wait starts.")]
    public string? Queue { get; set; }
}

/// <summary>
/// Waits on inotify (a FileSystemWatcher on completed/ and dead/), as the workers do, with a slow
/// full re-check in case the kernel's event queue overflowed. docs/decisions.md, "Cancel, remove,
/// retry, wait".
/// </summary>
internal static class WaitCommand
{
    public const int TimedOut = 124;

    private sealed record Outcome(string Id, string State, string? LastError);

    public static int Run(WaitOptions options, CliConsole console)
    {
        var ids = options.Ids.ToList();
        if (options.Queue is { } queue && !JobId.IsValid(queue))
        {
            throw Failure.Usage($"Invalid queue name '{queue}': a queue name is {JobId.Rule}.");
        }
        var everyUnfinished = options.All || options.Queue is not null;
        if (everyUnfinished == (ids.Count > 0))
        {
            throw Failure.Usage("Give the ids of the jobs to wait for, or --all, or --queue Q.");
        }
        foreach (var id in ids.Where(i => !JobId.IsValid(i)))
        {
            throw Failure.Usage($"Invalid id '{id}': an id is {JobId.Rule}.");
        }
        TimeSpan? timeout = options.Timeout is null ? null : Duration.Parse(options.Timeout, "timeout");
        var home = options.ResolveHome();
        if (!home.Exists)
        {
            throw Failure.Operation($"No queue home at '{home.Root}'; run 'queuectl init' first.");
        }
        var store = new JobStore(home);
        var started = console.Clock.GetTimestamp();
        var deadline = timeout ?? TimeSpan.MaxValue;

        using var watcher = new Watch(home);
        if (options.Queue is { } named)
        {
            // The queue is a field of the file: read the unfinished ones (a file that does not parse is in no queue).
            ids = [.. new[] { JobState.Pending, JobState.Processing, JobState.Failed }
                .SelectMany(store.ReadAll)
                .Where(s => s.Job?.QueueName == named)
                .Select(s => s.Id)
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)];
        }
        else if (everyUnfinished)
        {
            ids = [.. new[] { JobState.Pending, JobState.Processing, JobState.Failed }
                .SelectMany(store.Files)
                .Select(p => Path.GetFileNameWithoutExtension(p)!)
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)];
        }
        else
        {
            ids = [.. ids.Distinct(StringComparer.Ordinal)];
            // Twice: a job moving from failed/ to processing/ can be missed by one look through the folders.
            var unknown = ids.FirstOrDefault(id => store.Locate(id) is null && store.Locate(id) is null);
            if (unknown is not null)
            {
                throw Failure.Operation($"No job with id '{unknown}'; nothing was waited for.");
            }
        }

        var waiting = new HashSet<string>(ids, StringComparer.Ordinal);
        var missing = new Dictionary<string, int>(StringComparer.Ordinal);
        var done = new List<Outcome>();
        void Report(Outcome outcome)
        {
            waiting.Remove(outcome.Id);
            done.Add(outcome);
            if (!options.Json)
            {
                console.Out.WriteLine(outcome.State == JobState.Completed ? $"{outcome.Id} completed"
                    : outcome.State == JobState.Dead ? $"{outcome.Id} dead: {outcome.LastError ?? "no error recorded"}"
                    : $"{outcome.Id} is gone (removed while waited for)");
                console.Out.Flush();
            }
        }
        void Check(IEnumerable<string> candidates, bool full)
        {
            foreach (var id in candidates.Where(waiting.Contains).ToList())
            {
                if (Finished(home, id) is { } outcome)
                {
                    Report(outcome);
                }
                else if (full && store.Locate(id) is null)
                {
                    // Found nowhere: between two renames for a moment, or removed. Gone only when it lasts.
                    missing[id] = missing.GetValueOrDefault(id) + 1;
                    if (missing[id] >= 2)
                    {
                        Report(new Outcome(id, "gone", null));
                    }
                }
                else if (full)
                {
                    missing.Remove(id);
                }
            }
        }

        Check(ids, full: true);
        var nextFull = console.Clock.GetElapsedTime(started) + Timing.WaitSafetyCheck;
        while (waiting.Count > 0)
        {
            var now = console.Clock.GetElapsedTime(started);
            if (now >= deadline)
            {
                break;
            }
            if (now >= nextFull || watcher.Overflowed)
            {
                Check([.. waiting], full: true);
                nextFull = now + Timing.WaitSafetyCheck;
                continue;
            }
            watcher.WaitOne((nextFull < deadline ? nextFull : deadline) - now, console.Clock);
            Check(watcher.Drain(), full: false);
        }

        var timedOut = waiting.Count > 0;
        if (options.Json)
        {
            var all = done.Concat(waiting.Select(id => new Outcome(id, store.Locate(id)?.State ?? "gone", null)))
                .ToDictionary(o => o.Id, StringComparer.Ordinal);
            Output.Json(console.Out, w =>
            {
                w.WriteStartArray();
                foreach (var id in ids)
                {
                    var o = all[id];
                    w.WriteStartObject();
                    w.WriteString("id", o.Id);
                    w.WriteString("state", o.State);
                    if (o.LastError is not null)
                    {
                        w.WriteString("last_error", o.LastError);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
        }
        if (timedOut)
        {
            console.Error.WriteLine($"queuectl: timed out after {SecondsText.Format(timeout!.Value.TotalSeconds)} s; still not finished: {string.Join(", ", waiting.Order(StringComparer.Ordinal))}.");
            return TimedOut;
        }
        return done.All(o => o.State == JobState.Completed) ? 0 : Failure.OperationFailed;
    }

    /// <summary>The job's outcome when it is in completed/ or dead/ now, else null.</summary>
    private static Outcome? Finished(QueueHome home, string id)
    {
        if (File.Exists(home.JobPath(JobState.Completed, id)))
        {
            return new Outcome(id, JobState.Completed, null);
        }
        var dead = JobStore.Read(JobState.Dead, home.JobPath(JobState.Dead, id));
        return dead is null ? null : new Outcome(id, JobState.Dead, dead.Job?.LastError ?? dead.Error);
    }

    /// <summary>Names arriving in completed/ and dead/, as inotify reports them.</summary>
    private sealed class Watch : IDisposable
    {
        private readonly List<FileSystemWatcher> _watchers = [];
        private readonly ConcurrentQueue<string> _names = new();
        private readonly SemaphoreSlim _signal = new(0);
        private volatile bool _overflowed;

        public Watch(QueueHome home)
        {
            foreach (var state in new[] { JobState.Completed, JobState.Dead })
            {
                var watcher = new FileSystemWatcher(home.StateFolder(state))
                {
                    NotifyFilter = NotifyFilters.FileName,
                    IncludeSubdirectories = false,
                };
                watcher.Created += (_, e) => Add(e.Name);
                watcher.Renamed += (_, e) => Add(e.Name);
                watcher.Error += (_, _) =>
                {
                    _overflowed = true;
                    Release();
                };
                watcher.EnableRaisingEvents = true;
                _watchers.Add(watcher);
            }
        }

        public bool Overflowed
        {
            get
            {
                var was = _overflowed;
                _overflowed = false;
                return was;
            }
        }

        /// <summary>Waits for a finished job, an overflow, or <paramref name="within"/> on <paramref name="time"/>.</summary>
        public void WaitOne(TimeSpan within, TimeProvider time) =>
            _signal.WaitAsync(within > TimeSpan.Zero ? within : TimeSpan.Zero, time, CancellationToken.None).GetAwaiter().GetResult();

        public List<string> Drain()
        {
            var names = new List<string>();
            while (_names.TryDequeue(out var name))
            {
                names.Add(name);
            }
            return names;
        }

        private void Add(string? name)
        {
            if (name is not null && QueueHome.IsJobFileName(name))
            {
                _names.Enqueue(Path.GetFileNameWithoutExtension(name));
                Release();
            }
        }

        private void Release()
        {
            if (_signal.CurrentCount == 0)
            {
                _signal.Release();
            }
        }

        public void Dispose()
        {
            _watchers.ForEach(w => w.Dispose());
            _signal.Dispose();
        }
    }
}
