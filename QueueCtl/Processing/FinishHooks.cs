using System.Globalization;
using System.Text;
using QueueCtl.Jobs;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// `config set on-finish CMD` / `enqueue --on-finish CMD`: after a job's finish has committed
/// (completed or dead), `/bin/sh -c CMD` runs in the home with QUEUECTL_JOB_ID, QUEUECTL_STATE,
/// QUEUECTL_EXIT_CODE (empty when the job never exited) and QUEUECTL_HOME. It runs on a thread of
/// its own: the worker claims its next job at once. Its failure or timeout (on-finish-timeout,
/// then the hook's process group is killed) is written to the worker's log and changes nothing
/// else. A hook is run once per finish by whoever committed it: the worker that finished the job,
/// the worker (or `queuectl recover`) that recovered it from a dead worker, the `cancel` (CLI or
/// dashboard) that sent a waiting job dead. Each hook has a thread of its own (a burst of hooks
/// does not wait for the thread pool). A hook still running when its worker stops is killed
/// (<see cref="KillRemaining"/>) and one whose worker dies is killed by the worker's guard: nothing
/// is left without its timeout. At most once: a hook killed so is not run again.
/// </summary>
internal sealed class FinishHooks(QueueHome home, SettingsWatcher settings, Action<string> log, TimeProvider time)
{
    private const int SigKill = 9;
    private const int TailBytes = 300;
    private int _running;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> _groups = new();
    private volatile bool _stopped;

    /// <summary>The worker's guard, told of each hook's process group like a job's (kills them if the worker dies).</summary>
    public RunGuard? Guard { get; set; }

    /// <summary>How many hooks run now (a graceful stop waits for them a little).</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Starts the job's hook (its own, else the configured one) for a finished job; never throws.</summary>
    public void Start(Job final)
    {
        if (final.State is not (JobState.Completed or JobState.Dead))
        {
            return;
        }
        var current = settings.Current;
        if ((final.OnFinish ?? current.OnFinish) is not { } command)
        {
            return;
        }
        var timeout = TimeSpan.FromSeconds(current.OnFinishTimeoutSeconds);
        Interlocked.Increment(ref _running);
        new Thread(() =>
        {
            try
            {
                Run(command, final, timeout);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        })
        { IsBackground = true, Name = "on-finish" }.Start();
    }

    /// <summary>For a command that ends at once (`recover`, `cancel`): runs the finished jobs' hooks and waits for them.</summary>
    public static void RunAndWait(QueueHome home, IReadOnlyCollection<Job> finals, Action<string> log, TimeProvider time)
    {
        if (finals.Count == 0)
        {
            return;
        }
        var settings = new SettingsWatcher(home);
        var hooks = new FinishHooks(home, settings, log, time);
        foreach (var final in finals)
        {
            hooks.Start(final);
        }
        hooks.WaitForRunning(TimeSpan.FromSeconds(settings.Current.OnFinishTimeoutSeconds) + Timing.HookKillMargin);
    }

    /// <summary>Waits up to <paramref name="within"/> for running hooks (at a graceful stop).</summary>
    public void WaitForRunning(TimeSpan within)
    {
        var deadline = time.UtcNow() + within;
        while (Running > 0 && time.UtcNow() < deadline)
        {
            time.Sleep(Timing.HookPoll);
        }
    }

    /// <summary>At a worker's stop, after <see cref="WaitForRunning"/>: kills the hooks still running and says which.</summary>
    public void KillRemaining()
    {
        _stopped = true;
        foreach (var group in _groups.Keys)
        {
            if (!_groups.TryRemove(group, out var jobId))
            {
                continue; // RACE: it ended meanwhile
            }
            try
            {
                Native.Signal(-group, SigKill);
                log($"on-finish hook for {jobId} was still running at the worker's stop and was killed (the job is unchanged)");
            }
            catch (IOException)
            {
                // Ended meanwhile.
            }
        }
    }

    private void Run(string command, Job final, TimeSpan timeout)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            environment[(string)variable.Key] = (string?)variable.Value ?? "";
        }
        environment["QUEUECTL_JOB_ID"] = final.Id;
        environment["QUEUECTL_STATE"] = final.State;
        environment["QUEUECTL_EXIT_CODE"] = final.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "";
        environment["QUEUECTL_HOME"] = home.Root;
        var tail = new List<byte>();
        try
        {
            using var spawn = Spawn.Start(command, home.Root, environment);
            _groups[spawn.Pid] = final.Id;
            Guard?.Started(spawn.Pid);
            if (_stopped)
            {
                KillRemaining(); // RACE: started while the worker stopped
            }
            var timedOut = false;
            using var timer = time.CreateTimer(_ =>
            {
                timedOut = true;
                try
                {
                    Native.Signal(-spawn.Pid, SigKill); // its own session: the whole group
                }
                catch (IOException)
                {
                    // Gone meanwhile.
                }
            }, null, timeout, Timeout.InfiniteTimeSpan);
            var exit = spawn.Drain((bytes, _) =>
            {
                tail.AddRange(bytes.ToArray());
                if (tail.Count > TailBytes)
                {
                    tail.RemoveRange(0, tail.Count - TailBytes);
                }
            }, Timing.HookPipeGrace, time);
            timer.Dispose();
            Guard?.Ended(spawn.Pid);
            if (!_groups.TryRemove(spawn.Pid, out _))
            {
                return; // killed at the worker's stop, and said so there
            }
            if (timedOut)
            {
                log($"on-finish hook for {final.Id} timed out after {SecondsText.Format(timeout.TotalSeconds)} s and was killed (the job stays {final.State})");
            }
            else if (exit != 0)
            {
                var output = Encoding.UTF8.GetString(tail.ToArray()).Trim();
                log($"on-finish hook for {final.Id} failed with exit code {exit}{(output.Length > 0 ? $": {output}" : "")} (the job stays {final.State})");
            }
        }
        catch (Exception e)
        {
            log($"on-finish hook for {final.Id} could not run: {e.Message} (the job stays {final.State})");
        }
    }
}
