using System.Globalization;
using System.Text;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>One look at pending/: how many jobs are ready to run, and the mtime of the oldest of them.</summary>
internal sealed record DepthSample(DateTime Minute, int Ready, double OldestReadySeconds);

/// <summary>
/// The depth of the queue over time (docs/decisions.md, "Process model, history reads, depth
/// samples"): once a minute each worker appends to <c>stats/&lt;worker&gt;.depth</c> one line, <c>2026-11-30T18:22Z ready=12 oldest_ready_s=34</c>,
/// what one listing of pending/ showed (a stat per file, no read). A line is one write, whole or
/// absent; past <see cref="MaxBytes"/> the file rotates to <c>.depth.1</c>, so a worker keeps at
/// most twice that (about 7 days at one line a minute). Readers take the highest sample per
/// minute when several workers sampled it.
/// </summary>
internal static class DepthSamples
{
    /// <summary>About 5,800 lines of ~45 bytes: 4 days a file, 8 with the .1 file.</summary>
    public const long MaxBytes = 256 * 1024;

    public static string PathOf(QueueHome home, string workerId) => Path.Combine(CounterFiles.Folder(home), workerId + ".depth");

    /// <summary>Lists pending/ once: ready files (mtime at or before now) and the oldest of them.</summary>
    public static DepthSample Take(QueueHome home, DateTime now)
    {
        var folder = new DirectoryInfo(home.StateFolder(JobState.Pending));
        var ready = 0;
        DateTime? oldest = null;
        if (folder.Exists)
        {
            foreach (var file in folder.EnumerateFiles())
            {
                var mtime = file.LastWriteTimeUtc;
                if (QueueHome.IsJobFileName(file.Name) && mtime <= now)
                {
                    ready++;
                    oldest = oldest is null || mtime < oldest ? mtime : oldest;
                }
            }
        }
        return new DepthSample(now, ready, oldest is { } t ? Math.Round((now - t).TotalSeconds, 1) : 0);
    }

    public static void Append(QueueHome home, string workerId, DateTime minute, DepthSample sample)
    {
        Directory.CreateDirectory(CounterFiles.Folder(home));
        var path = PathOf(home, workerId);
        if (new FileInfo(path) is { Exists: true, Length: > MaxBytes })
        {
            Retirement.Rotate(path);
        }
        var line = string.Create(CultureInfo.InvariantCulture, $"{minute:yyyy-MM-ddTHH:mmZ} ready={sample.Ready} oldest_ready_s={sample.OldestReadySeconds}\n");
        using var stream = new FileStream(Native.OpenAppend(path), FileAccess.Write, bufferSize: 0);
        stream.Write(Encoding.UTF8.GetBytes(line)); // one write: a line is whole or absent
    }

    /// <summary>Every sample in stats/*.depth and *.depth.1 at or after <paramref name="since"/>; a line that does not parse is skipped.</summary>
    public static List<DepthSample> Read(QueueHome home, DateTime since)
    {
        var samples = new List<DepthSample>();
        foreach (var line in CounterFiles.Lines(home, ".depth"))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 3 || !CounterFiles.TryMinute(parts[0], out var minute) || minute < since)
            {
                continue;
            }
            var ready = CounterFiles.Field(parts, "ready");
            var oldest = CounterFiles.Field(parts, "oldest_ready_s");
            if (ready is null || oldest is null)
            {
                continue;
            }
            samples.Add(new DepthSample(minute, (int)ready.Value, oldest.Value));
        }
        return samples;
    }
}
