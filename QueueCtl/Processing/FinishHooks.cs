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
/// dashboard) that sent a waiting job dead. A process that dies meanwhile loses the hooks it was
/// running (at most once).
/// </summary>
internal sealed class FinishHooks(QueueHome home, SettingsWatcher settings, Action<string> log, TimeProvider time)
{
    private const int SigKill = 9;
    private const int TailBytes = 300;
    private int _running;

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
        _ = Task.Run(() =>
        {
            try
            {
                Run(command, final, timeout);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        });
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
        hooks.WaitForRunning(TimeSpan.FromSeconds(settings.Current.OnFinishTimeoutSeconds + 1));
    }

    /// <summary>Waits up to <paramref name="within"/> for running hooks (at a graceful stop).</summary>
    public void WaitForRunning(TimeSpan within)
    {
        var deadline = time.UtcNow() + within;
        while (Running > 0 && time.UtcNow() < deadline)
        {
            time.Sleep(TimeSpan.FromMilliseconds(20));
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
            }, TimeSpan.FromSeconds(1), time);
            timer.Dispose();
            if (timedOut)
            {
                log($"on-finish hook for {final.Id} timed out after {Config.Duration.Seconds(timeout.TotalSeconds)} s and was killed (the job stays {final.State})");
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
