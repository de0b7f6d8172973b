using System.Diagnostics;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// Starts detached worker processes: each in its own session (setsid), stdin from /dev/null and
/// output appended to the log of its first worker, workers/&lt;id&gt;.log, so it outlives the command
/// and the terminal that started it. A process runs several workers (<see cref="WorkerHost"/>),
/// each writing its own log.
/// </summary>
internal static class WorkerLauncher
{
    public static string LogPath(QueueHome home, string workerId) => Path.Combine(home.Workers, workerId + ".log");

    /// <summary>
    /// Starts the workers in <paramref name="processes"/> detached processes (the ids split as evenly
    /// as can be, in order) and waits until each worker has registered.
    /// </summary>
    public static void Start(QueueHome home, IReadOnlyList<string> workerIds, int processes, TimeSpan wait, TimeProvider time, IReadOnlyList<string>? queues = null)
    {
        // A detached worker on a full or read-only disk could not even write its log: say it here.
        var probe = Path.Combine(home.Tmp, $".start-probe-{Environment.ProcessId}");
        try
        {
            File.WriteAllBytes(probe, new byte[512]); // a data block, not only an inode
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(probe);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // As unwritable as the rest: nothing was made.
            }
            throw Failure.Operation($"Cannot start workers: the queue home cannot be written ({e.Message.TrimEnd('.')}).");
        }

        for (var p = 0; p < processes; p++)
        {
            var ids = workerIds.Take((p + 1) * workerIds.Count / processes).Skip(p * workerIds.Count / processes).ToList();
            var id = ids[0];
            var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("log=$1; shift; exec setsid -f \"$@\" </dev/null >>\"$log\" 2>&1");
            start.ArgumentList.Add("sh");
            start.ArgumentList.Add(LogPath(home, id));
            foreach (var part in SelfCommand())
            {
                start.ArgumentList.Add(part);
            }
            foreach (var arg in new[] { "worker", "start", "--foreground", "--count", ids.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--id", string.Join(",", ids), "--home", home.Root })
            {
                start.ArgumentList.Add(arg);
            }
            if (queues is not null)
            {
                start.ArgumentList.Add("--queue");
                start.ArgumentList.Add(string.Join(",", queues));
            }
            using var launcher = Process.Start(start) ?? throw Failure.Operation("Could not start a worker process.");
            launcher.WaitForExit();
            if (launcher.ExitCode != 0)
            {
                throw Failure.Operation($"Could not start worker {string.Join(", ", ids)} (setsid exited with {launcher.ExitCode}).");
            }
        }

        var registry = new WorkerRegistry(home);
        var deadline = time.UtcNow() + wait;
        foreach (var id in workerIds)
        {
            while (registry.Read(id) is null)
            {
                if (time.UtcNow() > deadline)
                {
                    throw Failure.Operation($"Worker {id} did not start within {wait.TotalSeconds:0} s; see {LogPath(home, id)}.");
                }
                time.Sleep(Timing.WorkerStartPoll);
            }
        }
    }

    /// <summary>How to run this same program again: the apphost, or dotnet plus the dll.</summary>
    private static string[] SelfCommand()
    {
        var process = Environment.ProcessPath ?? throw Failure.Operation("Cannot find the queuectl executable.");
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? [process, Path.Combine(AppContext.BaseDirectory, "queuectl.dll")]
            : [process];
    }
}
