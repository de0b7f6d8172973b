using System.Text.Json;
using QueueCtl.Jobs;
using QueueCtl.Protocol;
using QueueCtl.Storage;

namespace QueueCtl.Views;

/// <summary>One bucket of a chart: finishes counted in it, and the highest depth sampled in it (null: no sample).</summary>
internal sealed record HistoryBucket(DateTime Start, long Completed, long Failed, long Dead, int? Ready, double? OldestReadySeconds);

/// <summary>
/// The queue over time, from the workers' minute lines (stats/*.minutes: finishes per queue) and
/// depth samples (stats/*.depth): a window cut into equal buckets, per minute over the last hour,
/// per hour over the last day or week. Finishes survive restarts (the files are append-only);
/// minutes no worker was running show as zero finishes and no depth sample.
/// </summary>
internal sealed record History(string Window, TimeSpan BucketSize, string? Queue, IReadOnlyList<HistoryBucket> Buckets)
{
    /// <summary>The windows a caller may ask for, with their bucket size and bucket count.</summary>
    public static readonly IReadOnlyDictionary<string, (TimeSpan Bucket, int Count)> Windows = new Dictionary<string, (TimeSpan, int)>
    {
        ["1h"] = (TimeSpan.FromMinutes(1), 60),
        ["24h"] = (TimeSpan.FromHours(1), 24),
        ["7d"] = (TimeSpan.FromHours(1), 168),
    };

    /// <summary>Null for an unknown window. <paramref name="queue"/>: finishes of that queue only (depth is always the whole of pending/).</summary>
    public static History? Take(QueueHome home, string window, string? queue, DateTime now)
    {
        if (!Windows.TryGetValue(window, out var shape))
        {
            return null;
        }
        var last = Floor(now, shape.Bucket);
        var first = last - shape.Bucket * (shape.Count - 1);
        var completed = new long[shape.Count];
        var failed = new long[shape.Count];
        var dead = new long[shape.Count];
        var ready = new int?[shape.Count];
        var oldest = new double?[shape.Count];
        int? Index(DateTime minute)
        {
            var i = (int)((minute - first).Ticks / shape.Bucket.Ticks);
            return minute >= first && i < shape.Count ? i : null;
        }
        foreach (var (minute, q, d) in CounterFiles.ReadMinutes(home, first))
        {
            if ((queue is null || q == queue) && Index(minute) is { } i)
            {
                completed[i] += d.Completed;
                failed[i] += d.Failed;
                dead[i] += d.Dead;
            }
        }
        foreach (var sample in DepthSamples.Read(home, first))
        {
            if (Index(sample.Minute) is { } i)
            {
                ready[i] = Math.Max(ready[i] ?? 0, sample.Ready);
                oldest[i] = Math.Max(oldest[i] ?? 0, sample.OldestReadySeconds);
            }
        }
        var buckets = Enumerable.Range(0, shape.Count)
            .Select(i => new HistoryBucket(first + shape.Bucket * i, completed[i], failed[i], dead[i], ready[i], oldest[i]))
            .ToList();
        return new History(window, shape.Bucket, queue, buckets);
    }

    /// <summary>Finishes per queue since <paramref name="since"/> (the per-queue view's throughput).</summary>
    public static SortedDictionary<string, QueueTotals> FinishesSince(QueueHome home, DateTime since)
    {
        var sum = new SortedDictionary<string, QueueTotals>(StringComparer.Ordinal);
        foreach (var (_, queue, d) in CounterFiles.ReadMinutes(home, since))
        {
            sum[queue] = (sum.TryGetValue(queue, out var before) ? before : QueueTotals.Zero).Plus(d);
        }
        return sum;
    }

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("window", Window);
        w.WriteNumber("bucket_seconds", BucketSize.TotalSeconds);
        if (Queue is null)
        {
            w.WriteNull("queue");
        }
        else
        {
            w.WriteString("queue", Queue);
        }
        w.WriteStartArray("buckets");
        foreach (var b in Buckets)
        {
            w.WriteStartObject();
            w.WriteString("start", UtcTimestamp.ToText(b.Start));
            w.WriteNumber("completed", b.Completed);
            w.WriteNumber("failed", b.Failed);
            w.WriteNumber("dead", b.Dead);
            if (b.Ready is { } r)
            {
                w.WriteNumber("ready", r);
            }
            else
            {
                w.WriteNull("ready");
            }
            if (b.OldestReadySeconds is { } o)
            {
                w.WriteNumber("oldest_ready_seconds", o);
            }
            else
            {
                w.WriteNull("oldest_ready_seconds");
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static DateTime Floor(DateTime utc, TimeSpan size) => new(utc.Ticks - utc.Ticks % size.Ticks, DateTimeKind.Utc);
}
