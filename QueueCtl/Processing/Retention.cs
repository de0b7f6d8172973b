using QueueCtl.Protocol;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// Retires finished jobs in the background (docs/decisions.md, "Composition and scale", item
/// "Retention defaults"): completed jobs older
/// than `completed-retention` (default 7 d), dead ones older than `dead-retention` (default 30 d),
/// with their logs/&lt;id&gt;/, and the logs of workers gone for as long as completed jobs are kept.
/// The cost is bounded: one pass every <see cref="Timing.RetentionEvery"/> across all workers of
/// the home (the mtime of stats/retention.pass says when the last one started, whoever ran it),
/// at most <see cref="MaxPerPass"/> jobs per pass, oldest first by mtime (the time of the finish);
/// a pass that hit the limit is followed by another after <see cref="Timing.RetentionBacklog"/>.
/// A job is judged by its file's mtime and, when the file says it, its finished_at (whichever is
/// later).
/// </summary>
internal sealed class Retention(QueueHome home, SettingsWatcher settings, Action<string> log, TimeProvider time)
{
    public const int MaxPerPass = 1000;

    private readonly RepeatedFailure _trouble = new();

    public async Task RunAsync(CancellationToken stop)
    {
        var wait = Timing.RetentionFirstPass;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(wait, time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            wait = Timing.RetentionEvery;
            try
            {
                var now = time.UtcNow();
                if (!TakeTurn(now, out var sinceLast))
                {
                    wait = Timing.RetentionEvery - sinceLast;
                    continue;
                }
                var current = settings.Current;
                var removed = 0;
                var full = false;
                foreach (var (state, seconds) in new[] { (JobState.Completed, current.CompletedRetentionSeconds), (JobState.Dead, current.DeadRetentionSeconds) })
                {
                    if (seconds > 0)
                    {
                        var count = Pass(state, now - TimeSpan.FromSeconds(seconds), stop);
                        removed += count;
                        full |= count >= MaxPerPass;
                    }
                }
                if (current.CompletedRetentionSeconds > 0)
                {
                    RetireWorkerLogs(now - TimeSpan.FromSeconds(current.CompletedRetentionSeconds));
                }
                if (removed > 0)
                {
                    log($"retention: deleted {removed} finished job{(removed == 1 ? "" : "s")} past their retention");
                }
                if (full)
                {
                    wait = Timing.RetentionBacklog;
                    Touch(now - Timing.RetentionEvery + Timing.RetentionBacklog); // let the next pass come soon, whichever worker runs it
                }
                if (_trouble.Cleared(time.UtcNow()) is { } lasted)
                {
                    log($"retention works again after {lasted.TotalSeconds:0} s of errors");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (_trouble.Occurred(time.UtcNow(), out var lasting))
                {
                    log($"retention failed{lasting}: {e.Message}");
                }
            }
        }
    }

    /// <summary>The oldest candidates of one state folder past <paramref name="cutoff"/>, at most <see cref="MaxPerPass"/>, deleted with their logs.</summary>
    public int Pass(string state, DateTime cutoff, CancellationToken stop = default)
    {
        var folder = new DirectoryInfo(home.StateFolder(state));
        if (!folder.Exists)
        {
            return 0;
        }
        var candidates = new List<(DateTime Mtime, string Path)>();
        foreach (var file in folder.EnumerateFiles())
        {
            try
            {
                if (QueueHome.IsJobFileName(file.Name) && file.LastWriteTimeUtc <= cutoff)
                {
                    candidates.Add((file.LastWriteTimeUtc, file.FullName));
                }
            }
            catch (FileNotFoundException)
            {
                // RACE: retried, removed or retired by another worker since it was listed.
            }
        }
        var removed = 0;
        foreach (var (_, path) in candidates.OrderBy(c => c.Mtime).Take(MaxPerPass))
        {
            if (stop.IsCancellationRequested)
            {
                break;
            }
            if (FinishedAt(path) is { } finished && finished > cutoff)
            {
                continue; // an old mtime (copied with cp -p), a recent finish: kept
            }
            if (Retire(path))
            {
                removed++;
            }
        }
        if (removed > 0)
        {
            Native.FsyncDirectory(folder.FullName);
        }
        return removed;
    }

    /// <summary>Renamed into this worker's staging folder first, so a racing retry or remove wins or loses whole; then its logs and the file go.</summary>
    private bool Retire(string path)
    {
        Directory.CreateDirectory(home.Staging);
        var name = Path.GetFileName(path);
        var taken = Path.Combine(home.Staging, $".retired.{name}");
        if (!Retirement.TakeAside(path, taken))
        {
            return false; // RACE: retried, removed or retired by another worker first.
        }
        try
        {
            Directory.Delete(Path.Combine(home.Logs, Path.GetFileNameWithoutExtension(name)), recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // A job that printed nothing has no logs.
        }
        File.Delete(taken);
        return true;
    }

    private static DateTime? FinishedAt(string path)
    {
        try
        {
            var job = JobJson.Deserialize(SharedFile.ReadAllBytes(path));
            return job.FinishedAt ?? job.UpdatedAt;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotRegularFileException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return null; // gone or unreadable: judged by its mtime alone
        }
    }

    /// <summary>workers/&lt;w&gt;.log and .log.1 of workers no longer registered, unchanged since <paramref name="cutoff"/>.</summary>
    private void RetireWorkerLogs(DateTime cutoff)
    {
        var folder = new DirectoryInfo(home.Workers);
        if (!folder.Exists)
        {
            return;
        }
        foreach (var file in folder.EnumerateFiles("*.log*"))
        {
            try
            {
                var worker = file.Name.EndsWith(".log.1", StringComparison.Ordinal) ? file.Name[..^".log.1".Length]
                    : file.Name.EndsWith(".log", StringComparison.Ordinal) ? file.Name[..^".log".Length] : null;
                if (worker is not null && file.LastWriteTimeUtc <= cutoff && !File.Exists(Path.Combine(home.Workers, worker + ".json")))
                {
                    file.Delete();
                }
            }
            catch (Exception e) when (e is FileNotFoundException or UnauthorizedAccessException)
            {
                // RACE: another worker retired it first.
            }
        }
    }

    private string PassFile => Path.Combine(CounterFiles.Folder(home), "retention.pass");

    /// <summary>Whether this worker runs the pass now: none started within <see cref="Timing.RetentionEvery"/> (by any worker of the home).</summary>
    private bool TakeTurn(DateTime now, out TimeSpan sinceLast)
    {
        var last = File.Exists(PassFile) ? File.GetLastWriteTimeUtc(PassFile) : DateTime.MinValue;
        sinceLast = now - last;
        if (sinceLast >= TimeSpan.Zero && sinceLast < Timing.RetentionEvery)
        {
            return false; // two workers may both pass this check at once: a pass twice is harmless
        }
        Touch(now);
        return true;
    }

    private void Touch(DateTime when)
    {
        Directory.CreateDirectory(CounterFiles.Folder(home));
        using (new FileStream(Native.OpenAppend(PassFile), FileAccess.Write, bufferSize: 0))
        {
        }
        File.SetLastWriteTimeUtc(PassFile, when);
    }
}
