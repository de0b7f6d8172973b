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
}
