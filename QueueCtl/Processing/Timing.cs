namespace QueueCtl.Processing;

/// <summary>
/// The liveness clock of workers, derived from `worker-lease` (ARCHITECTURE.md, "Liveness and
/// fencing"). A worker renews its registration every <see cref="HeartbeatInterval"/>; when a
/// renewal is older than <see cref="Fence"/>, it (and its guard) kill its running job; other
/// workers judge it dead only after the full lease. The gap, half a lease, absorbs the time a
/// kill takes and any difference in clock rate between hosts.
/// </summary>
internal static class Timing
{
    /// <summary>A quarter of the lease (so two renewals can fail before the fence), between 0.2 s and 5 s.</summary>
    public static TimeSpan HeartbeatInterval(double leaseSeconds) => TimeSpan.FromSeconds(Math.Clamp(leaseSeconds / 4, 0.2, 5));

    /// <summary>Half the lease.</summary>
    public static TimeSpan Fence(double leaseSeconds) => TimeSpan.FromSeconds(leaseSeconds / 2);

    /// <summary>The safety-net poll of a worker's loop; inotify wakes it long before this in normal operation.</summary>
    public static readonly TimeSpan SafetyPoll = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a change of state (busy, idle) waits before workers/&lt;id&gt;.json is rewritten: a
    /// stream of short jobs then costs a few record writes a second instead of two per job.
    /// </summary>
    public static readonly TimeSpan RecordDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a fenced run's late-finish note is tried again, and a fenced worker looks again.</summary>
    public static readonly TimeSpan FencedRetry = TimeSpan.FromSeconds(1);

    /// <summary>How long a fenced run's job must be found nowhere before its note is given up.</summary>
    public static readonly TimeSpan GoneAfter = TimeSpan.FromSeconds(5);

    /// <summary>How long a kill waits for a run's processes to be gone (a timeout, a cancel, a fence).</summary>
    public static readonly TimeSpan KillWait = TimeSpan.FromSeconds(2);

    /// <summary>How long recovery waits for a dead worker's run processes to die; past it, that worker's jobs wait for the next round.</summary>
    public static readonly TimeSpan RecoveryKillWait = TimeSpan.FromSeconds(1);
}
