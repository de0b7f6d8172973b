namespace QueueCtl.Processing;

/// <summary>
/// Renews a worker's registration every quarter lease (at most 5 s) and, <see cref="Timing.RecordDelay"/>
/// after a change of state, in between. Before each renewal it runs <paramref name="checks"/>: the
/// fence (an attempt is killed when the last renewal is older than half the lease: the file system
/// hangs, or this process was frozen and just woke up) and cancel requests. It never dies of an
/// error: a silent heartbeat would let other workers take this worker's jobs while it runs them.
/// </summary>
internal sealed class Heartbeat(Registration registration, SettingsWatcher settings, Action checks, Action<string> log, TimeProvider time)
{
    private readonly RepeatedFailure _trouble = new();

    public async Task RunAsync(CancellationToken stop)
    {
        DateTime beatDue = default;
        while (!stop.IsCancellationRequested)
        {
            var interval = Timing.HeartbeatInterval(settings.Current.WorkerLeaseSeconds);
            if (beatDue == default || beatDue > time.UtcNow() + interval)
            {
                beatDue = time.UtcNow() + interval; // first round, or the lease was shortened
            }
            try
            {
                var wait = beatDue - time.UtcNow();
                if (await registration.Changed.WaitAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, time, stop))
                {
                    await Task.Delay(Timing.RecordDelay, time, stop);
                    checks();
                    if (time.UtcNow() < beatDue)
                    {
                        registration.TryWrite(log);
                        continue;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            checks();
            beatDue = time.UtcNow() + interval;
            try
            {
                registration.Write();
                if (_trouble.Cleared(time.UtcNow()) is { } lasted)
                {
                    log($"heartbeat works again after {lasted.TotalSeconds:0} s of failures");
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var kind = e is IOException or UnauthorizedAccessException ? "" : $" (unexpected {e.GetType().Name})";
                if (_trouble.Occurred(time.UtcNow(), out var lasting))
                {
                    log($"heartbeat failed{kind}{lasting}: {e.Message}");
                }
            }
        }
    }
}
