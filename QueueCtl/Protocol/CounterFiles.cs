using System.Globalization;
using System.Text;
using System.Text.Json;
using QueueCtl.Jobs;

using QueueCtl.Storage;

namespace QueueCtl.Protocol;

/// <summary>
/// Finishes counted per queue: jobs completed, attempts failed with a retry left, jobs dead; and
/// the attempts a worker finished itself with the sum of their durations (the duration summary's
/// _count and _sum, which must not go down either).
/// </summary>
internal sealed record QueueTotals(long Completed, long Failed, long Dead)
{
    public static readonly QueueTotals Zero = new(0, 0, 0);

    public long Attempts { get; init; }
    public double DurationSeconds { get; init; }

    public QueueTotals Plus(QueueTotals other) => new(Completed + other.Completed, Failed + other.Failed, Dead + other.Dead)
    {
        Attempts = Attempts + other.Attempts,
        DurationSeconds = DurationSeconds + other.DurationSeconds,
    };

    public bool IsZero => Completed == 0 && Failed == 0 && Dead == 0 && Attempts == 0;
}

/// <summary>
/// Counters that never go down (ARCHITECTURE.md, "Guarantees"; docs/decisions.md, "Composition
/// and scale", item "Counters are per writer"): each worker owns <c>stats/&lt;worker&gt;.json</c>,
/// the totals it has finished since it started, rewritten by tmp + rename (so a reader sees the
/// old totals or the new ones, never less), and never deleted; a reader sums every file. No file is shared by two writers, so hosts sharing the home need no
/// lock. Beside it, <c>stats/&lt;worker&gt;.minutes</c> gets one line per minute and queue with
/// the minute's non-zero deltas (for charts over time), rotated to <c>.minutes.1</c> past
/// <see cref="MinutesMaxBytes"/>.
/// </summary>
internal static class CounterFiles
{
    /// <summary>About 17,000 lines: 12 days of busy minutes for one queue; with the .1 file, twice that.</summary>
    public const long MinutesMaxBytes = 1024 * 1024;

    public static string Folder(QueueHome home) => Path.Combine(home.Root, "stats");

    public static string TotalsPath(QueueHome home, string workerId) => Path.Combine(Folder(home), workerId + ".json");

    public static string MinutesPath(QueueHome home, string workerId) => Path.Combine(Folder(home), workerId + ".minutes");

    /// <summary>Rewrites a worker's totals atomically (tmp + rename, file and folder fsync'd).</summary>
    public static void Write(QueueHome home, string workerId, IReadOnlyDictionary<string, QueueTotals> totals, DateTime now)
    {
        Directory.CreateDirectory(Folder(home));
        AtomicFile.Write(home, TotalsPath(home, workerId), Serialize(workerId, totals, now), noReplace: false);
    }

    /// <summary>Appends one line per queue with non-zero deltas for the minute starting at <paramref name="minute"/>; rotates past the cap.</summary>
    public static void AppendMinute(QueueHome home, string workerId, DateTime minute, IReadOnlyDictionary<string, QueueTotals> deltas)
    {
        var text = new StringBuilder();
        foreach (var (queue, d) in deltas.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!d.IsZero)
            {
                text.Append(CultureInfo.InvariantCulture, $"{minute:yyyy-MM-ddTHH:mmZ} queue={queue} completed={d.Completed} failed={d.Failed} dead={d.Dead}\n");
            }
        }
        if (text.Length == 0)
        {
            return;
        }
        Directory.CreateDirectory(Folder(home));
        var path = MinutesPath(home, workerId);
        if (new FileInfo(path) is { Exists: true, Length: > MinutesMaxBytes })
        {
            Retirement.Rotate(path);
        }
        using var stream = new FileStream(Native.OpenAppend(path), FileAccess.Write, bufferSize: 0);
        stream.Write(Encoding.UTF8.GetBytes(text.ToString())); // one write: a line is whole or absent
    }

    /// <summary>The sum of every worker's totals, per queue; an unreadable file is skipped (it only ever appears whole).</summary>
    public static SortedDictionary<string, QueueTotals> Sum(QueueHome home)
    {
        var sum = new SortedDictionary<string, QueueTotals>(StringComparer.Ordinal);
        string[] files;
        try
        {
            files = Directory.GetFiles(Folder(home), "*.json");
        }
        catch (DirectoryNotFoundException)
        {
            return sum; // no worker has finished a job yet
        }
        foreach (var file in files)
        {
            if (Path.GetFileName(file).StartsWith('.'))
            {
                continue;
            }
            foreach (var (queue, totals) in Read(file))
            {
                sum[queue] = (sum.TryGetValue(queue, out var before) ? before : QueueTotals.Zero).Plus(totals);
            }
        }
        return sum;
    }

    /// <summary>Finishes in the minutes from <paramref name="since"/> on, summed over every worker's .minutes lines (and .minutes.1).</summary>
    public static QueueTotals SumMinutes(QueueHome home, DateTime since)
    {
        var first = new DateTime(since.Ticks - since.Ticks % TimeSpan.TicksPerMinute, DateTimeKind.Utc);
        return ReadMinutes(home, first).Aggregate(QueueTotals.Zero, (sum, m) => sum.Plus(m.Deltas));
    }

    /// <summary>
    /// The minute lines of every worker (stats/*.minutes and their .1) at or after
    /// <paramref name="since"/>, per queue; a line that does not parse is skipped.
    /// </summary>
    public static List<(DateTime Minute, string Queue, QueueTotals Deltas)> ReadMinutes(QueueHome home, DateTime since)
    {
        var found = new List<(DateTime, string, QueueTotals)>();
        foreach (var line in Lines(home, ".minutes"))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 5 || !TryMinute(parts[0], out var minute) || minute < since || !parts[1].StartsWith("queue=", StringComparison.Ordinal))
            {
                continue;
            }
            var queue = parts[1]["queue=".Length..];
            if (Field(parts, "completed") is { } c && Field(parts, "failed") is { } f && Field(parts, "dead") is { } d)
            {
                found.Add((minute, queue, new QueueTotals((long)c, (long)f, (long)d)));
            }
        }
        return found;
    }

    /// <summary>The lines of stats/*&lt;extension&gt; and stats/*&lt;extension&gt;.1; a file that vanished meanwhile is skipped.</summary>
    public static IEnumerable<string> Lines(QueueHome home, string extension)
    {
        string[] files;
        try
        {
            files = Directory.GetFiles(Folder(home));
        }
        catch (DirectoryNotFoundException)
        {
            yield break;
        }
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            if (name.StartsWith('.') || !(name.EndsWith(extension, StringComparison.Ordinal) || name.EndsWith(extension + ".1", StringComparison.Ordinal)))
            {
                continue;
            }
            string[] lines;
            try
            {
                lines = File.ReadAllLines(file);
            }
            catch (Exception e) when (e is FileNotFoundException or UnauthorizedAccessException)
            {
                continue; // RACE: rotated away between the listing and the read; its lines are in the .1 file.
            }
            foreach (var line in lines)
            {
                yield return line;
            }
        }
    }

    /// <summary>Parses the minute stamp of a line, <c>2026-11-30T18:22Z</c>.</summary>
    public static bool TryMinute(string text, out DateTime minute) =>
        DateTime.TryParseExact(text, "yyyy-MM-ddTHH:mmZ", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out minute);

    /// <summary>The value of <c>name=number</c> among a line's parts, or null.</summary>
    public static double? Field(string[] parts, string name)
    {
        foreach (var part in parts)
        {
            if (part.Length > name.Length + 1 && part.StartsWith(name, StringComparison.Ordinal) && part[name.Length] == '='
                && double.TryParse(part.AsSpan(name.Length + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0)
            {
                return value;
            }
        }
        return null;
    }

    public static QueueTotals Total(IEnumerable<QueueTotals> totals) => totals.Aggregate(QueueTotals.Zero, (a, b) => a.Plus(b));

    private static Dictionary<string, QueueTotals> Read(string path)
    {
        var found = new Dictionary<string, QueueTotals>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(RegularFile.ReadAllBytes(path));
            if (document.RootElement.TryGetProperty("queues", out var queues) && queues.ValueKind == JsonValueKind.Object)
            {
                foreach (var queue in queues.EnumerateObject())
                {
                    found[queue.Name] = new QueueTotals(Number(queue.Value, "completed"), Number(queue.Value, "failed"), Number(queue.Value, "dead"))
                    {
                        Attempts = Number(queue.Value, "attempts"),
                        DurationSeconds = queue.Value.TryGetProperty("duration_seconds", out var d) && d.TryGetDouble(out var s) && s > 0 ? s : 0,
                    };
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotRegularFileException or JsonException)
        {
            // Not one of ours (or hand-edited): it counts for nothing rather than failing every reader.
        }
        return found;
    }

    private static long Number(JsonElement queue, string name) =>
        queue.ValueKind == JsonValueKind.Object && queue.TryGetProperty(name, out var value) && value.TryGetInt64(out var n) && n > 0 ? n : 0;

    private static byte[] Serialize(string workerId, IReadOnlyDictionary<string, QueueTotals> totals, DateTime now)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = PlainJsonEncoder.Instance }))
        {
            w.WriteStartObject();
            w.WriteString("worker", workerId);
            w.WriteString("updated_at", UtcTimestamp.ToText(now));
            w.WriteStartObject("queues");
            foreach (var (queue, t) in totals.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject(queue);
                w.WriteNumber("completed", t.Completed);
                w.WriteNumber("failed", t.Failed);
                w.WriteNumber("dead", t.Dead);
                w.WriteNumber("attempts", t.Attempts);
                w.WriteNumber("duration_seconds", Math.Round(t.DurationSeconds, 6));
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
