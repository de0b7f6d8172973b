namespace QueueCtl;

/// <summary>
/// The few shapes in which the code reads "now" or waits, all on an injected
/// <see cref="TimeProvider"/>: the console Program passes carries <see cref="TimeProvider.System"/>
/// (CliConsole.Clock), tests pass a fake one and move it by hand. Nothing else in QueueCtl reads
/// the clock or sleeps on its own, but for one protocol detail left on the system clock: the ~2 s
/// ESTALE retry of SharedFile (a static Polly pipeline on Polly's default time; its readers are
/// reached from a path alone in dozens of places, none of which holds a TimeProvider). The fixed
/// times themselves are in Timing.
/// </summary>
internal static class Clock
{
    /// <summary>Now, as the UTC DateTime the job files and records are written with.</summary>
    public static DateTime UtcNow(this TimeProvider time) => time.GetUtcNow().UtcDateTime;

    /// <summary>Blocks the calling thread for <paramref name="span"/> (the synchronous loops of the CLI and of process kills).</summary>
    public static void Sleep(this TimeProvider time, TimeSpan span)
    {
        if (span > TimeSpan.Zero)
        {
            Task.Delay(span, time).Wait();
        }
    }

    /// <summary>
    /// <see cref="SemaphoreSlim.WaitAsync(TimeSpan, CancellationToken)"/> with the timeout on
    /// <paramref name="time"/>: true when the semaphore was entered, false when the timeout passed
    /// first; throws OperationCanceledException when <paramref name="cancel"/> fires.
    /// </summary>
    public static async Task<bool> WaitAsync(this SemaphoreSlim semaphore, TimeSpan timeout, TimeProvider time, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        if (semaphore.Wait(0))
        {
            return true;
        }
        if (timeout <= TimeSpan.Zero)
        {
            return false;
        }
        using var timer = new CancellationTokenSource(timeout, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancel, timer.Token);
        try
        {
            await semaphore.WaitAsync(either.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return false;
        }
    }
}
