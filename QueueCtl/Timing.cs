namespace QueueCtl;

/// <summary>
/// Every fixed time of queuectl in one place: the intervals, waits, polls and ages that are not a
/// setting, so that they can be read side by side and changed knowingly. A leaf in the root
/// namespace like Failure and Clock: the protocol, the worker, the CLI and the dashboard all use it.
/// <para>
/// The liveness clock of workers derives from `worker-lease` (ARCHITECTURE.md, "Liveness and
/// fencing"). A worker renews its registration every <see cref="HeartbeatInterval"/>; when a
/// renewal is older than <see cref="Fence"/>, it (and its guard) kill its running job; other
/// workers judge it dead only after the full lease. The gap, half a lease, absorbs the time a
/// kill takes and any difference in clock rate between hosts.
/// </para>
/// </summary>
internal static class Timing
{
    // --- Liveness: heartbeat, fence, the worker's loop.

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

    /// <summary>How often a fenced attempt's late-finish note is tried again, and a fenced worker looks again.</summary>
    public static readonly TimeSpan FencedRetry = TimeSpan.FromSeconds(1);

    /// <summary>How long a fenced attempt's job must be found nowhere before its note is given up.</summary>
    public static readonly TimeSpan GoneAfter = TimeSpan.FromSeconds(5);

    /// <summary>How often a worker looks whether config.json changed (a `config set` takes effect within it).</summary>
    public static readonly TimeSpan SettingsLook = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a paused worker looks at the pause switches again (a resume is noticed within it).</summary>
    public static readonly TimeSpan PausePoll = TimeSpan.FromMilliseconds(250);

    // --- Processes: kills, exits, output pipes.

    /// <summary>
    /// How long a kill waits for an attempt's processes to be gone (a timeout, a cancel, a fence),
    /// and a worker's guard to exit once its pipe is closed (killing them unless the stop was graceful).
    /// </summary>
    public static readonly TimeSpan KillWait = TimeSpan.FromSeconds(2);

    /// <summary>How long recovery waits for a dead worker's attempt processes to die; past it, that worker's jobs wait for the next round.</summary>
    public static readonly TimeSpan RecoveryKillWait = TimeSpan.FromSeconds(1);

    /// <summary>The pause between two looks of a loop waiting for processes to be gone: SIGKILL takes effect when a process next runs in the kernel, a few ms.</summary>
    public static readonly TimeSpan ExitPoll = TimeSpan.FromMilliseconds(5);

    /// <summary>How often a command's exit is polled with waitpid on a kernel without pidfd_open (before 5.3); with a pidfd, poll(2) wakes at the exit.</summary>
    public static readonly TimeSpan NoPidfdPoll = TimeSpan.FromMilliseconds(10);

    /// <summary>How long a command's output pipes are still read after it exited, when a background child keeps one open.</summary>
    public static readonly TimeSpan PipeGrace = TimeSpan.FromMilliseconds(500);

    // --- A worker's background chores.

    /// <summary>The first wait of the retry of a finish that hit an I/O error (exponential, with jitter).</summary>
    public static readonly TimeSpan FinishRetryFirst = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait of that retry: a finish is tried at least this often until the disk takes it.</summary>
    public static readonly TimeSpan FinishRetryMax = TimeSpan.FromSeconds(5);

    /// <summary>How often a worker's finish counters are written when they changed (a kill -9 loses at most this much counting).</summary>
    public static readonly TimeSpan CounterFlush = TimeSpan.FromSeconds(1);

    /// <summary>How often a worker's log reads its size cap (worker-log-max-size) from config.json again.</summary>
    public static readonly TimeSpan LogCapReadEvery = TimeSpan.FromMinutes(1);

    /// <summary>How often a failure that keeps repeating is logged again while it lasts.</summary>
    public static readonly TimeSpan RepeatedFailureQuiet = TimeSpan.FromMinutes(1);

    /// <summary>How often a worker looks whether the finished index needs a fold or a rebuild.</summary>
    public static readonly TimeSpan IndexUpkeepEvery = TimeSpan.FromSeconds(5);

    /// <summary>How soon after a worker starts its first retention pass is due.</summary>
    public static readonly TimeSpan RetentionFirstPass = TimeSpan.FromSeconds(1);

    /// <summary>How often retention runs, across all workers of a home.</summary>
    public static readonly TimeSpan RetentionEvery = TimeSpan.FromMinutes(10);

    /// <summary>How soon a retention pass that hit its limit is followed by another.</summary>
    public static readonly TimeSpan RetentionBacklog = TimeSpan.FromSeconds(10);

    // --- The protocol's waits and ages.

    /// <summary>How long a job that cannot go back to pending/ (its name is taken there) waits for the name before it is rejected.</summary>
    public static readonly TimeSpan NameTakenPatience = TimeSpan.FromMinutes(1);

    /// <summary>How old a change of a finished folder must be before a missing ledger line means doubt (the line may be on its way).</summary>
    public static readonly TimeSpan IndexSettle = TimeSpan.FromSeconds(2);

    /// <summary>How old a finished index's unfolded ledger lines may get before a worker folds them into the snapshot.</summary>
    public static readonly TimeSpan IndexFoldAfter = TimeSpan.FromMinutes(1);

    /// <summary>A worker rebuilds the finished index this often anyway (what no mtime shows: an rm by hand on a busy queue, a CLI killed mid-move).</summary>
    public static readonly TimeSpan IndexRebuildEvery = TimeSpan.FromMinutes(10);

    /// <summary>A reader rebuilds a finished index snapshot older than this itself (a home with no worker running).</summary>
    public static readonly TimeSpan IndexReaderRebuildAfter = TimeSpan.FromHours(1);

    /// <summary>How old index/lock must be to be removed as stale when its process cannot be checked (another host).</summary>
    public static readonly TimeSpan IndexStaleLock = TimeSpan.FromMinutes(10);

    /// <summary>How long a ledger must have been untouched to count as closed (nobody appends to it any more).</summary>
    public static readonly TimeSpan IndexQuietLedger = TimeSpan.FromMinutes(10);

    // --- Storage: tmp/ cleaning, network file system retries.

    /// <summary>How old a file directly in tmp/ must be to be removed (no write takes that long; Maildir's 36-hour rule).</summary>
    public static readonly TimeSpan StaleTmpFileAge = TimeSpan.FromHours(36);

    /// <summary>How old an unregistered worker's tmp/&lt;worker&gt;/ must be to be removed.</summary>
    public static readonly TimeSpan StaleTmpFolderAge = TimeSpan.FromHours(1);

    /// <summary>How often a process cleans tmp/ from its heartbeat.</summary>
    public static readonly TimeSpan StaleTmpCleanEvery = TimeSpan.FromHours(1);

    /// <summary>The first wait of the ESTALE retry of a shared file's read (exponential; 8 tries make about 2 s).</summary>
    public static readonly TimeSpan StaleRetryFirst = TimeSpan.FromMilliseconds(20);

    /// <summary>The longest wait of that retry.</summary>
    public static readonly TimeSpan StaleRetryMax = TimeSpan.FromMilliseconds(500);

    // --- The CLI and the dashboard.

    /// <summary>How long `worker start` waits for each new worker's registration.</summary>
    public static readonly TimeSpan WorkerStartWait = TimeSpan.FromSeconds(15);

    /// <summary>How often `worker start` looks for the new workers' registrations.</summary>
    public static readonly TimeSpan WorkerStartPoll = TimeSpan.FromMilliseconds(20);

    /// <summary>How often `worker stop` looks whether the stopped workers' processes are gone.</summary>
    public static readonly TimeSpan WorkerStopPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>How often `logs --follow` reads the log again.</summary>
    public static readonly TimeSpan LogsFollowPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>The safety re-check of every job `wait` awaits; inotify events normally come long before.</summary>
    public static readonly TimeSpan WaitSafetyCheck = TimeSpan.FromSeconds(2);

    /// <summary>What `cancel` waits for a running job's worker beyond one heartbeat before it leaves the job to it.</summary>
    public static readonly TimeSpan CancelSettleMargin = TimeSpan.FromSeconds(5);

    /// <summary>How long `cancel` waits, each time, for a running job's processes on this host to be gone.</summary>
    public static readonly TimeSpan CancelKillWait = TimeSpan.FromSeconds(1);

    /// <summary>How often `cancel` kills a running job's processes again while its worker finishes it.</summary>
    public static readonly TimeSpan CancelKillAgain = TimeSpan.FromMilliseconds(100);

    /// <summary>How long the dashboard's cancel waits for a running job's processes on this host to be gone.</summary>
    public static readonly TimeSpan DashboardKillWait = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a client of the dashboard has to send its request, and again to take the response, before the connection is closed.</summary>
    public static readonly TimeSpan HttpRequestRead = TimeSpan.FromSeconds(10);

    /// <summary>How long the dashboard's web server waits for requests in flight when it stops.</summary>
    public static readonly TimeSpan DashboardShutdown = TimeSpan.FromSeconds(2);

    /// <summary>One step of the growing wait before a job that moved away as it was taken is looked for again (cancel, remove, retry; CLI and dashboard): n steps before look n.</summary>
    public static readonly TimeSpan LookAgainStep = TimeSpan.FromMilliseconds(10);

    /// <summary>A file that does not parse and changed this recently may still be being written (cp): the index looks again after it.</summary>
    public static readonly TimeSpan DroppedFileSettle = TimeSpan.FromSeconds(2);

    /// <summary>How often a stopping worker (or `recover`, `cancel`) looks whether its finish hooks have ended.</summary>
    public static readonly TimeSpan HookPoll = TimeSpan.FromMilliseconds(20);

    /// <summary>What `recover` and `cancel` wait for their hooks beyond on-finish-timeout: time for a timed-out hook's kill.</summary>
    public static readonly TimeSpan HookKillMargin = TimeSpan.FromSeconds(1);

    /// <summary>How long a finish hook's output pipes may stay open after its shell exited (a background child holding them).</summary>
    public static readonly TimeSpan HookPipeGrace = TimeSpan.FromSeconds(1);
}
