using QueueCtl.Protocol;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// A worker's finish counters (<see cref="CounterFiles"/>): counted in memory as jobs finish (no
/// I/O per job), written at most once a second when they changed, and at exit. A kill -9 loses
/// at most the last second's counts; nothing ever makes a written total smaller.
/// </summary>
internal sealed class WorkerCounters(QueueHome home, string workerId, Action<string> log, TimeProvider time)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, QueueTotals> _totals = new(StringComparer.Ordinal);
    private Dictionary<string, QueueTotals> _atMinuteStart = new(StringComparer.Ordinal);
    private DateTime _minute = MinuteOf(time.UtcNow());
    private int _changes;
    private int _written;
    private readonly RepeatedFailure _trouble = new();

    /// <summary>
    /// A job of <paramref name="queue"/> moved to <paramref name="state"/> (completed, failed or dead),
    /// after an attempt of <paramref name="durationSeconds"/> when this worker ran one.
    /// </summary>
    public void Add(string queue, string state, double? durationSeconds = null)
    {
        var delta = state switch
        {
            JobState.Completed => new QueueTotals(1, 0, 0),
            JobState.Failed => new QueueTotals(0, 1, 0),
            JobState.Dead => new QueueTotals(0, 0, 1),
            _ => null,
        };
        if (delta is null)
        {
            return;
        }
        if (durationSeconds is { } seconds)
        {
            delta = delta with { Attempts = 1, DurationSeconds = seconds };
        }
        lock (_lock)
        {
            _totals[queue] = (_totals.TryGetValue(queue, out var before) ? before : QueueTotals.Zero).Plus(delta);
            _changes++;
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Timing.CounterFlush, time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Flush(time.UtcNow(), final: false);
        }
    }

    /// <summary>
    /// Writes the totals when they changed, and the last minute's deltas once a minute has passed
    /// (<paramref name="final"/>: the current minute's too, at exit). An I/O error is logged once
    /// per run of errors and tried again at the next flush: the counts stay in memory.
    /// </summary>
    public void Flush(DateTime now, bool final)
    {
        Dictionary<string, QueueTotals>? snapshot = null;
        Dictionary<string, QueueTotals>? deltas = null;
        var minute = _minute;
        var previousStart = _atMinuteStart;
        int changes;
        lock (_lock)
        {
            changes = _changes;
            previousStart = _atMinuteStart;
            if (changes != _written)
            {
                snapshot = new Dictionary<string, QueueTotals>(_totals, StringComparer.Ordinal);
            }
            if (final || MinuteOf(now) != _minute)
            {
                deltas = _totals.ToDictionary(p => p.Key, p => Minus(p.Value, _atMinuteStart.GetValueOrDefault(p.Key) ?? QueueTotals.Zero), StringComparer.Ordinal);
                _atMinuteStart = new Dictionary<string, QueueTotals>(_totals, StringComparer.Ordinal);
                _minute = MinuteOf(now);
            }
        }
        try
        {
            if (snapshot is not null)
            {
                CounterFiles.Write(home, workerId, snapshot, now);
                _written = changes;
            }
            if (deltas is not null)
            {
                CounterFiles.AppendMinute(home, workerId, minute, deltas);
            }
            if (_trouble.Cleared(now) is { } lasted)
            {
                log($"counters written again after {lasted.TotalSeconds:0} s of errors");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (deltas is not null)
            {
                lock (_lock)
                {
                    // Not appended: these deltas go into the next minute's line rather than being lost.
                    _atMinuteStart = previousStart;
                }
            }
            if (_trouble.Occurred(now, out var lasting))
            {
                log($"could not write the counters in stats/ yet{lasting}: {e.Message}");
            }
        }
        if (deltas is not null)
        {
            SampleDepth(minute, now);
        }
    }

    /// <summary>Depth over time for the dashboard's charts: one listing of pending/ a minute (and at exit); a failed sample is only a gap.</summary>
    private void SampleDepth(DateTime minute, DateTime now)
    {
        try
        {
            DepthSamples.Append(home, workerId, minute, DepthSamples.Take(home, now));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (_trouble.Occurred(now, out var lasting))
            {
                log($"could not write the depth sample in stats/ yet{lasting}: {e.Message}");
            }
        }
    }

    private static QueueTotals Minus(QueueTotals a, QueueTotals b) => new(a.Completed - b.Completed, a.Failed - b.Failed, a.Dead - b.Dead)
    {
        Attempts = a.Attempts - b.Attempts,
        DurationSeconds = a.DurationSeconds - b.DurationSeconds,
    };

    private static DateTime MinuteOf(DateTime utc) => new(utc.Ticks - utc.Ticks % TimeSpan.TicksPerMinute, DateTimeKind.Utc);
}
