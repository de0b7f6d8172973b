using System.Text;
using QueueCtl.Storage;

namespace QueueCtl.Processing;

/// <summary>
/// Finds and kills the processes of a worker's jobs on this host, wherever they went: every job
/// starts with QUEUECTL_WORKER_ID (and QUEUECTL_JOB_ID) in its environment, set after the job's
/// own variables so a job cannot change them, and every process it starts inherits them, also
/// one that left the job's process group or session (`setsid`, a double fork). A process that
/// clears its environment (`env -i`) is not found this way; it is still killed with the group
/// when it stayed in it. Reading /proc/&lt;pid&gt;/environ needs the same user, which the worker,
/// its jobs and recovery share. Pid reuse cannot mislead the search: the mark is read from the
/// process itself at the moment it is killed.
/// </summary>
internal static class JobProcesses
{
    private const int SigKill = 9;

    /// <summary>The pids on this host whose environment names the worker (and the job, when given).</summary>
    public static List<int> Find(string workerId, string? jobId = null)
    {
        var worker = Encoding.UTF8.GetBytes($"QUEUECTL_WORKER_ID={workerId}");
        var job = jobId is null ? null : Encoding.UTF8.GetBytes($"QUEUECTL_JOB_ID={jobId}");
        var self = Environment.ProcessId;
        var found = new List<int>();
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateDirectories("/proc");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return found; // no /proc: nothing can be found this way
        }
        foreach (var entry in entries)
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid) || pid == self)
            {
                continue;
            }
            byte[] environment;
            try
            {
                environment = File.ReadAllBytes(Path.Combine(entry, "environ"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // RACE: the process ended, or it belongs to another user (not a job of ours).
            }
            if (HasVariable(environment, worker) && (job is null || HasVariable(environment, job)))
            {
                found.Add(pid);
            }
        }
        return found;
    }

    /// <summary>
    /// SIGKILLs every process of the worker's jobs (or of one job) until none is left or
    /// <paramref name="within"/> has passed; true when none is left.
    /// </summary>
    public static bool KillAll(string workerId, string? jobId, TimeSpan within, TimeProvider time)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            var pids = Find(workerId, jobId);
            if (pids.Count == 0)
            {
                return true;
            }
            foreach (var pid in pids)
            {
                Native.Signal(pid, SigKill);
            }
            if (time.GetElapsedTime(started) > within)
            {
                return false;
            }
            time.Sleep(Timing.ExitPoll);
        }
    }

    /// <summary>True when the NUL-separated block holds exactly this NAME=value entry.</summary>
    internal static bool HasVariable(ReadOnlySpan<byte> environment, ReadOnlySpan<byte> entry)
    {
        while (!environment.IsEmpty)
        {
            var end = environment.IndexOf((byte)0);
            var current = end < 0 ? environment : environment[..end];
            if (current.SequenceEqual(entry))
            {
                return true;
            }
            environment = end < 0 ? [] : environment[(end + 1)..];
        }
        return false;
    }
}
